from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: Any) -> Path:
    """A folder holding one migrated SQLite database, made once for the run."""
    return tmp_path_factory.mktemp("ops-template")
