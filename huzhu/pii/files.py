"""Files holding personal data, sealed at rest with the personal-data cipher (TRUST S-13).

One mechanism for every such file: claim documents, uploaded rosters (accepted or rejected)
and the bank files of payout batches. The bytes on disk are the cipher's format
(``huzhu.pii.crypto``: format byte, key version, nonce, AES-256-GCM ciphertext and tag) with the
file's own label bound as associated data, so a sealed file renamed or copied over another does
not open. A file is written whole or not at all (a temporary name of the writer's own, then an
atomic rename); reading one back authenticates it, and anything else fails loudly.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .crypto import FORMAT_AES_GCM, cipher


def write_atomic(path: Path, data: bytes) -> None:
    """Write the file whole or not at all, under a temporary name of this writer's own.

    Two processes storing the same content at once (so the same name) must not rename each
    other's part file: each writes its own and the last rename wins with equivalent bytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.stem[:16], suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def seal(data: bytes, *, label: str) -> bytes:
    return cipher().encrypt_bytes(data, field=label)


def unseal(token: bytes, *, label: str) -> bytes:
    """The plaintext of a sealed file; ``DecryptionError`` when it is not one, or was altered."""
    return cipher().decrypt_bytes(token, field=label)


def sealed_write(path: Path, data: bytes, *, label: str) -> None:
    write_atomic(path, seal(data, label=label))


def sealed_read(path: Path, *, label: str) -> bytes:
    return unseal(path.read_bytes(), label=label)


def is_sealed(path: Path) -> bool:
    """Whether the file starts like the cipher's format (a plaintext xlsx starts ``PK``, a
    CSV with text): used to find files written before sealing existed."""
    with path.open("rb") as fh:
        head = fh.read(1)
    return head == bytes([FORMAT_AES_GCM])
