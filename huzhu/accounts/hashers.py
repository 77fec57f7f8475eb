"""The hasher of first passwords (docs/adr/0021).

A first password the platform makes (an agent's account opened in bulk, a reset by the security
administrator) is random, 14 characters of a 56-letter alphabet without look-alikes (about 78 bits): no dictionary
or brute force reaches it, so a salted SHA-256 is enough, as for API tokens and recovery codes,
and ten thousand accounts are opened in seconds rather than the hours PBKDF2 would take.
It is never the preferred hasher: Django re-hashes the password with the preferred one the
first time it is used, and the login makes the holder choose his own at once.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth.hashers import BasePasswordHasher, mask_hash

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
LENGTH = 14


def first_password() -> str:
    """A random first password with at least one upper, one lower letter and one digit."""
    while True:
        # 56 letters: a byte below 224 (= 4 × 56) maps to one without bias.
        raw = [b % 56 for b in secrets.token_bytes(LENGTH * 2) if b < 224][:LENGTH - 1]
        if len(raw) < LENGTH - 1:
            continue
        pw = "".join(ALPHABET[i] for i in raw) + secrets.choice("23456789")
        if any(c.isupper() for c in pw) and any(c.islower() for c in pw):
            return pw


class FirstPasswordHasher(BasePasswordHasher):
    algorithm = "huzhu_first"

    def encode(self, password: str, salt: str) -> str:
        if password is None or not salt or "$" in salt:
            raise ValueError("a password and a salt without '$' are required")
        digest = hashlib.sha256(f"{salt}${password}".encode()).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded: str) -> dict[str, Any]:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        decoded = self.decode(encoded)
        return secrets.compare_digest(encoded, self.encode(password, decoded["salt"]))

    def safe_summary(self, encoded: str) -> dict[Any, Any]:
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "salt": mask_hash(decoded["salt"]),
                "hash": mask_hash(decoded["hash"])}

    def harden_runtime(self, password: str, encoded: str) -> None:
        return None


def is_first_password(encoded: str) -> bool:
    return (encoded or "").startswith(FirstPasswordHasher.algorithm + "$")


def first_password_hash(password: str) -> str:
    return FirstPasswordHasher().encode(password, FirstPasswordHasher().salt())
