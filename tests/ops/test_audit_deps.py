"""The dependency gate (TRUST S-25) fails on a known vulnerability that is not accepted with a
reason, and passes one that is."""

from __future__ import annotations

from tools.audit_deps import unaccepted

REPORT = {"dependencies": [
    {"name": "django", "version": "5.2.0",
     "vulns": [{"id": "PYSEC-2025-1", "aliases": ["CVE-2025-0001"], "fix_versions": ["5.2.1"]}]},
    {"name": "xlsxwriter", "version": "3.2.0", "vulns": []},
    {"name": "huzhu", "skip_reason": "editable"},
]}


def test_a_known_vulnerability_fails_the_gate():
    assert unaccepted(REPORT, {}) == ["已知漏洞：django 5.2.0 PYSEC-2025-1（修复版本：5.2.1）"]


def test_an_accepted_vulnerability_passes_by_id_or_alias():
    assert unaccepted(REPORT, {"PYSEC-2025-1": "not used"}) == []
    assert unaccepted(REPORT, {"CVE-2025-0001": "not used"}) == []
