from tests.enrollment.conftest import period_world  # noqa: F401
from tests.enrollment.test_masked_roster import renewal_world  # noqa: F401
from tests.payouts.conftest import pay_world  # noqa: F401
from tests.payouts.test_claim_state import paid_and_failed  # noqa: F401
