"""Encryption of personal data at rest, behind one interface.

A stored value is ``b"\\x01" + key_version (2 bytes) + nonce (12) + ciphertext+tag``. The field
name is bound as associated data, so a ciphertext copied into another column fails to decrypt.
The cipher is chosen here only; an SM4 cipher can replace AES-256-GCM by implementing
``FieldCipher`` (see docs/adr/0002-personal-data-encryption.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import struct
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_AES_GCM = 1


class DecryptionError(Exception):
    """A stored personal-data value could not be authenticated or decrypted."""


class FieldCipher(Protocol):
    def encrypt(self, plaintext: str, *, field: str) -> bytes: ...

    def decrypt(self, token: bytes, *, field: str) -> str: ...


def _decode_key(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(raw) != 32:
        raise ValueError("personal-data keys must be 32 bytes (AES-256)")
    return raw


def parse_keyring(spec: str) -> dict[int, bytes]:
    """Parse ``"1:<b64>,2:<b64>"`` into {version: key}."""
    keys: dict[int, bytes] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        version, _, key = part.partition(":")
        keys[int(version)] = _decode_key(key)
    if not keys:
        raise ValueError("no personal-data key configured")
    return keys


class AesGcmCipher:
    """AES-256-GCM with versioned keys; the highest version encrypts."""

    def __init__(self, keys: dict[int, bytes]):
        self._keys = {v: AESGCM(k) for v, k in keys.items()}
        self.current_version = max(keys)

    def encrypt(self, plaintext: str, *, field: str) -> bytes:
        return self.encrypt_bytes(plaintext.encode(), field=field)

    def encrypt_bytes(self, data: bytes, *, field: str) -> bytes:
        """The same format for binary content (claim documents)."""
        nonce = os.urandom(12)
        sealed = self._keys[self.current_version].encrypt(nonce, data, field.encode())
        return struct.pack(">BH", FORMAT_AES_GCM, self.current_version) + nonce + sealed

    def decrypt(self, token: bytes, *, field: str) -> str:
        return self.decrypt_bytes(token, field=field).decode()

    def decrypt_bytes(self, token: bytes, *, field: str) -> bytes:
        token = bytes(token)
        if len(token) < 3 + 12 + 16 or token[0] != FORMAT_AES_GCM:
            raise DecryptionError(f"{field}: unknown ciphertext format")
        (version,) = struct.unpack(">H", token[1:3])
        aead = self._keys.get(version)
        if aead is None:
            raise DecryptionError(f"{field}: key version {version} is not configured")
        try:
            return aead.decrypt(token[3:15], token[15:], field.encode())
        except InvalidTag as exc:
            raise DecryptionError(f"{field}: ciphertext failed authentication") from exc

    def key_version_of(self, token: bytes) -> int:
        return struct.unpack(">H", bytes(token)[1:3])[0]


@lru_cache(maxsize=4)
def _cipher_for(spec: str) -> AesGcmCipher:
    return AesGcmCipher(parse_keyring(spec))


def cipher() -> AesGcmCipher:
    from django.conf import settings

    return _cipher_for(settings.PII_KEYS)


# Blind indexes (TRUST S-14, docs/adr/0014): the index key is a keyring too. ``HUZHU_PII_INDEX_KEY``
# is either one key (version 1, as before keyrings) or ``"1:<key>,2:<key>"``. The highest version
# indexes every new value; a lookup asks for the value's index under every configured version,
# so a value indexed under an older key is still found while ``huzhu keys rotate --index``
# recomputes the columns. A version-1 index is 64 hex digits (the format before keyrings, so
# nothing stored changes); a later version's is ``v<version>:`` and the first hex digits of the
# HMAC, 64 characters in all: the columns keep their width and each value names its key.

INDEX_LENGTH = 64


@lru_cache(maxsize=4)
def _index_key(spec: str) -> bytes:
    return hashlib.sha256(b"huzhu-blind-index:" + spec.encode()).digest()


@lru_cache(maxsize=4)
def parse_index_keyring(spec: str) -> dict[int, str]:
    """``"<key>"`` → {1: key}; ``"1:<key>,2:<key>"`` → {version: key text}."""
    spec = spec.strip()
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise ValueError("no blind-index key configured")
    if not all(re.fullmatch(r"\d+:[^:]+", p) for p in parts):
        return {1: spec}  # one key, as before keyrings (whatever characters it holds)
    keys: dict[int, str] = {}
    for part in parts:
        version, _, key = part.partition(":")
        if int(version) < 1:
            raise ValueError("blind-index key versions start at 1")
        keys[int(version)] = key
    return keys


def index_keyring() -> dict[int, str]:
    from django.conf import settings

    return parse_index_keyring(settings.PII_INDEX_KEY)


def index_key_bytes(key: str) -> bytes:
    """The HMAC key a blind-index key text stands for (for fingerprints; never shown)."""
    return _index_key(key)


def index_prefix(version: int) -> str:
    return "" if version == 1 else f"v{version}:"


def index_version(stored: str) -> int:
    """The key version a stored blind index was computed under (0 for an unknown format)."""
    if stored.startswith("v"):
        head, sep, _ = stored.partition(":")
        return int(head[1:]) if sep and head[1:].isdigit() else 0
    return 1


def _index_under(key: str, version: int, value: str, field: str) -> str:
    mac = hmac.new(_index_key(key), f"{field}\x00{value}".encode(), hashlib.sha256)
    prefix = index_prefix(version)
    return prefix + mac.hexdigest()[:INDEX_LENGTH - len(prefix)]


def blind_index(value: str, *, field: str, key: str | None = None,
                version: int | None = None) -> str:
    """The blind index of a normalised value under the current index key (or ``version``), for
    storing. Look values up with :func:`blind_indexes` or :func:`index_aliases`."""
    keys = parse_index_keyring(key) if key is not None else index_keyring()
    v = max(keys) if version is None else version
    return _index_under(keys[v], v, value, field)


def blind_indexes(value: str, *, field: str) -> list[str]:
    """The value's index under every configured version, the current first: what a lookup
    filters on (``bidx__in=``), so rows not yet recomputed by a rotation are found too."""
    keys = index_keyring()
    return [_index_under(keys[v], v, value, field) for v in sorted(keys, reverse=True)]


def index_aliases(values: Iterable[str], *, field: str) -> dict[str, str]:
    """{index under any configured version: index under the current one} for ``values``: query
    with its keys, and map what the rows hold back to the current index with it."""
    out: dict[str, str] = {}
    for value in values:
        found = blind_indexes(value, field=field)
        for index in found:
            out[index] = found[0]
    return out


def index_matches(value: str, stored: str, *, field: str) -> bool:
    """Whether ``stored`` is the blind index of ``value`` under the key it names."""
    keys = index_keyring()
    version = index_version(stored)
    if version not in keys:
        return False
    return hmac.compare_digest(_index_under(keys[version], version, value, field), stored)


def blind_index_function(field: str) -> Callable[[str], str]:
    """``blind_index(value, field=field)`` under the current key, the HMAC key schedule done
    once (for bulk generators)."""
    keys = index_keyring()
    version = max(keys)
    base = hmac.new(_index_key(keys[version]), f"{field}\x00".encode(), hashlib.sha256)
    prefix = index_prefix(version)
    width = INDEX_LENGTH - len(prefix)

    def index(value: str) -> str:
        h = base.copy()
        h.update(value.encode())
        return prefix + h.hexdigest()[:width]

    return index
