"""Operators: roles and PIN hashes (what each role may do is app.domain.permissions)."""
from __future__ import annotations

import hashlib
import hmac
import os
from enum import StrEnum


class Role(StrEnum):
    PICKER = "picker"
    PACKER = "packer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(8)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, 20_000)
    return f"{salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str) -> bool:
    salt_hex, _, digest_hex = stored.partition("$")
    candidate = hash_pin(pin, bytes.fromhex(salt_hex)).partition("$")[2]
    return hmac.compare_digest(candidate, digest_hex)
