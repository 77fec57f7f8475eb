"""The one clock: every business "today" is Beijing's, whatever the server's and the
database's zone (UTC here), and only huzhu.clock knows which zone that is."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import time_machine

import huzhu
from huzhu import clock
from huzhu.enrollment.billing import payment_record
from huzhu.enrollment.models import InvoiceStatus
from tests.enrollment.conftest import add_period, person
from tests.enrollment.test_billing import enrolled
from tests.enrollment.test_roster import new_id

# 01:30 in Beijing on 7 December 2026 is still 6 December in UTC (and in settings.TIME_ZONE).
EARLY_MORNING = datetime.datetime(2026, 12, 6, 17, 30, tzinfo=datetime.UTC)
DEC7 = datetime.date(2026, 12, 7)


def test_today_is_beijings_date_before_eight_in_the_morning() -> None:
    with time_machine.travel(EARLY_MORNING, tick=False):
        assert clock.today() == DEC7
        assert clock.now() == EARLY_MORNING
        here = clock.local(clock.now())
        assert (here.date(), here.hour, here.minute) == (DEC7, 1, 30)
        assert here.utcoffset() == datetime.timedelta(hours=8)
    assert clock.today(EARLY_MORNING) == DEC7
    assert clock.day_start(DEC7) == datetime.datetime(2026, 12, 6, 16, 0, tzinfo=datetime.UTC)
    assert clock.day_start(DEC7) <= EARLY_MORNING < clock.day_start(DEC7 + datetime.timedelta(1))


def test_a_payment_dated_beijings_today_is_accepted_before_eight(world: Any) -> None:
    """timezone.localdate() would say 6 December here and refuse it (到账日期不能晚于今天)."""
    w = add_period(world)
    name = w.medical.product_version.name
    invoice = enrolled(w, [person("刘一", new_id(1), name)])
    with time_machine.travel(EARLY_MORNING, tick=False):
        payment = payment_record(invoice=invoice, bank_ref="B20261207", amount_fen=invoice.due_fen,
                                 paid_on=DEC7, payer_name="南宁示范机械厂", actor=w.qianjiu)
    assert payment.paid_on == DEC7
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


ALLOWED = {"clock.py", "settings.py"}
FORBIDDEN = re.compile(r"DISPLAY_TIME_ZONE|\blocal(?:date|time)\(|\bZoneInfo\b")


def test_only_the_clock_knows_the_local_zone() -> None:
    """No module but huzhu/clock.py (and the settings that name the zone) reads
    DISPLAY_TIME_ZONE, builds a ZoneInfo or asks Django for a local date or time
    (``timezone.localdate()``/``localtime()`` use settings.TIME_ZONE, which is UTC)."""
    root = Path(huzhu.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if str(rel) in ALLOWED:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line):
                found.append(f"huzhu/{rel}:{n}: {line.strip()}")
    assert not found, "use huzhu.clock instead:\n" + "\n".join(found)
