"""Guangxi's cities and county-level divisions with their real 6-digit division codes.

Read from python-stdnum's ``cn/loc`` data (the same table ``check_resident_id`` consults), keeping
only the divisions that still exist (entries like ``[2002-2021]横县`` are history) and leaving out
the statistical ``市辖区`` codes. Ordered by code, so the demo tree is the same on every run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

PROVINCE_CODE = "450000"
PROVINCE_NAME = "广西壮族自治区"

_DATED = re.compile(r"^\[(\d*)-(\d*)\](.*)$")


@dataclass(frozen=True)
class County:
    code: str
    name: str


@dataclass(frozen=True)
class City:
    code: str
    name: str
    counties: tuple[County, ...]


def current_name(entry: str) -> str | None:
    """Return the present name of a ``cn/loc`` entry, or None if the division was abolished."""
    last = entry.split(",")[-1]
    match = _DATED.match(last)
    if match is None:
        return last
    if match.group(2):
        return None
    return match.group(3)


def _county_entry(db: object, code: str) -> str | None:
    parts = db.info(code)  # type: ignore[attr-defined]
    if len(parts) < 2 or "county" not in parts[-1][1]:
        return None
    return current_name(parts[-1][1]["county"])


@lru_cache(maxsize=1)
def guangxi() -> tuple[City, ...]:
    from stdnum import numdb

    db = numdb.get("cn/loc")
    cities = []
    for c in range(1, 100):
        city_code = f"45{c:02d}00"
        city_name = _county_entry(db, city_code)
        if not city_name:
            continue
        counties = []
        for k in range(1, 100):
            code = f"45{c:02d}{k:02d}"
            name = _county_entry(db, code)
            if name and name != "市辖区":
                counties.append(County(code, name))
        if counties:
            cities.append(City(city_code, city_name, tuple(counties)))
    return tuple(cities)
