"""The key that encrypts EVE refresh tokens at rest (Fernet: AES-128-CBC with HMAC-SHA256).

The key is `MAPPER_SECRET_KEY` (any string of 32 or more characters, stretched by SHA-256) or
else `<data_dir>/secret.key`, made on first start with mode 0600. It never goes in the database,
so a copy of the database alone reveals no token.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from mapper.core.secret_files import read_or_create
from mapper.settings import SettingsError

KEY_FILE = "secret.key"
MIN_SECRET_CHARS = 32


class Vault:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def open(cls, secret: str, data_dir: Path) -> Vault:
        if secret:
            if len(secret) < MIN_SECRET_CHARS:
                raise SettingsError(
                    f"MAPPER_SECRET_KEY must be at least {MIN_SECRET_CHARS} characters"
                )
            digest = hashlib.sha256(secret.encode()).digest()
            return cls(base64.urlsafe_b64encode(digest))
        return cls(_load_or_create(Path(data_dir) / KEY_FILE))

    def seal(self, token: str) -> bytes:
        return self._fernet.encrypt(token.encode())

    def open_sealed(self, sealed: bytes) -> str | None:
        """The token, or None when it was sealed with another key (the key was changed)."""
        try:
            return self._fernet.decrypt(sealed).decode()
        except (InvalidToken, UnicodeDecodeError):
            return None


def _load_or_create(path: Path) -> bytes:
    key = read_or_create(path, Fernet.generate_key, "the key for EVE refresh tokens").strip()
    try:
        Fernet(key)
    except ValueError:
        raise SettingsError(
            f"{path} is not a key for EVE refresh tokens; restore it, or move it away to have "
            "a new one made (every character then needs a new login)"
        ) from None
    return key
