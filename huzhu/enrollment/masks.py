"""Roster files a person downloads (the template, the error workbook) show each personal value
the way that person may see it (TRUST S-11, S-12): full ID, phone and card numbers only to roles
with ``Perm.REVEAL_PII`` (every such download an audited reveal, naming the file and how many
values of each kind), names in full to those who manage members; everyone else gets the one
masking pattern of ``huzhu.pii.masking``. A re-upload of a masked row keeps the stored values
(``roster.py``, docs/adr/0012)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from huzhu.accounts.roles import Perm
from huzhu.actors import Actor
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.members.selectors import full_names_for
from huzhu.pii.masking import mask_bank_card, mask_id_number, mask_name, mask_phone

MASKS: dict[str, Callable[[str], str]] = {
    "name": mask_name, "id_number": mask_id_number, "phone": mask_phone,
    "bank_card": mask_bank_card,
}
NUMBERS = ("id_number", "phone", "bank_card")


def is_masked(value: str) -> bool:
    return "*" in value


def same_mask(cell: str, key: str, stored: str) -> bool:
    """Whether a masked cell is the mask of the stored value (spaces ignored: a card's mask is
    grouped by four, and a spreadsheet may lose them)."""
    return cell.replace(" ", "") == MASKS[key](stored or "").replace(" ", "")


@dataclass
class Sight:
    """What one downloader sees in full, and how many full numbers a file gave them."""

    numbers: bool
    names: bool
    shown: Counter[str] = field(default_factory=Counter)
    rows: int = 0  # rows of people the file held

    @classmethod
    def of(cls, user: Any) -> Sight:
        return cls(numbers=bool(user.can(Perm.REVEAL_PII)), names=bool(full_names_for(user)))

    def show(self, key: str, value: str) -> str:
        if not value or key not in MASKS:
            return value
        if key == "name":
            return value if self.names else mask_name(value)
        if self.numbers:
            self.shown[key] += 1
            return value
        return MASKS[key](value)

    def record(self, *, actor: Actor, obj: Any, file: str, **extra: Any) -> None:
        """One reveal event for a download that held full numbers (none when it held none)."""
        if not self.numbers or not any(self.shown.values()):
            return
        event_record(action=Action.PII_REVEALED, actor=actor, obj=obj,
                     after={"file": file, "rows": self.rows,
                            **{k: self.shown[k] for k in NUMBERS}, **extra})
