from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: Any) -> Path:
    """A folder holding one migrated SQLite database, made once for the run."""
    return tmp_path_factory.mktemp("ops-template")


from tests.enrollment.conftest import period_world  # noqa: E402,F401
from tests.payouts.conftest import pay_world  # noqa: E402,F401
from tests.payouts.test_claim_state import paid_and_failed  # noqa: E402,F401
