"""Secrets handed out once (API tokens, Open311 keys) are stored only as their hash."""

import hashlib


def hash_secret(secret: str) -> str:
    """The stored form of a secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()
