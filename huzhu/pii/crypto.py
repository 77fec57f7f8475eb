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
import struct
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


@lru_cache(maxsize=4)
def _index_key(spec: str) -> bytes:
    return hashlib.sha256(b"huzhu-blind-index:" + spec.encode()).digest()


def blind_index(value: str, *, field: str, key: str | None = None) -> str:
    """Return the HMAC-SHA256 blind index of a normalised value, for exact lookup."""
    if key is None:
        from django.conf import settings

        key = settings.PII_INDEX_KEY
    mac = hmac.new(_index_key(key), f"{field}\x00{value}".encode(), hashlib.sha256)
    return mac.hexdigest()
