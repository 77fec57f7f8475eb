"""How a batch file reaches the bank, behind one interface.

``submit`` hands the bank a batch; it raises :class:`BankUnknown` when the answer is lost (a
timeout), and then the batch must be queried, never sent again blindly (TRUST R-10).
``query`` asks what the bank knows of a batch: not received, accepted (processing), or done
with its result file.

The first channel is the file drop an association uses with online banking (网银批量代付):
the file is written under ``var/bank/outgoing/`` sealed (``huzhu.pii.files``: it holds full
card numbers), staff download it from the batch page (an audited reveal) to upload, and the
bank's result file is imported on the batch page. ``huzhu files purge`` removes the file once
the batch is closed and the retention period has passed. A 银企直连 adapter implements the same
two calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings

from huzhu.pii.files import sealed_read, sealed_write

NOT_RECEIVED, ACCEPTED, DONE = "not_received", "accepted", "done"
BANK_FILE_AAD = "payouts.batch.file"


class BankUnknown(Exception):
    """The bank's answer was lost: query before doing anything else."""


class BankRefused(Exception):
    """The bank refused the batch outright (nothing was paid)."""


@dataclass(frozen=True)
class QueryAnswer:
    state: str  # NOT_RECEIVED | ACCEPTED | DONE
    result: bytes | None = None


class BankChannel(Protocol):
    def submit(self, batch_no: str, content: bytes) -> None: ...

    def query(self, batch_no: str) -> QueryAnswer: ...


class FileDropChannel:
    """Write the batch file for upload through online banking; results come back by hand."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root or outgoing_dir())

    def path(self, batch_no: str) -> Path:
        return self.root / f"{batch_no}.csv"

    def submit(self, batch_no: str, content: bytes) -> None:
        sealed_write(self.path(batch_no), content, label=f"{BANK_FILE_AAD}:{batch_no}")

    def read(self, batch_no: str) -> bytes:
        """The file as the bank gets it, unsealed."""
        return sealed_read(self.path(batch_no), label=f"{BANK_FILE_AAD}:{batch_no}")

    def query(self, batch_no: str) -> QueryAnswer:
        # Staff see the batch in online banking; we can only say the file is out.
        return QueryAnswer(ACCEPTED if self.path(batch_no).exists() else NOT_RECEIVED)


def outgoing_dir() -> Path:
    return Path(settings.VAR_DIR) / "bank" / "outgoing"


def default_channel() -> BankChannel:
    return FileDropChannel()
