"""The key that encrypts EVE refresh tokens at rest (Fernet: AES-128-CBC with HMAC-SHA256).

The key is `MAPPER_SECRET_KEY` (any string of 32 or more characters, stretched by SHA-256) or
else `<data_dir>/secret.key`, made on first start with mode 0600. It never goes in the database,
so a copy of the database alone reveals no token.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from mapper.settings import SettingsError

log = logging.getLogger("mapper.eve.vault")

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
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        key = Fernet.generate_key()
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(key)
                file.flush()
                os.fsync(file.fileno())
            try:
                # link, not rename: a key another process made meanwhile is kept, and used.
                os.link(temporary, path)
            except FileExistsError:
                key = path.read_bytes().strip()
            else:
                log.info("created a new key for EVE refresh tokens in %s", path)
        except OSError as error:
            raise SettingsError(f"cannot create the key file {path}: {error.strerror}") from None
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as error:
        raise SettingsError(f"cannot read the key file {path}: {error.strerror}") from None
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users; chmod 600 it", path)
    try:
        Fernet(key)
    except ValueError:
        raise SettingsError(
            f"{path} is not a key for EVE refresh tokens; restore it, or move it away to have "
            "a new one made (every character then needs a new login)"
        ) from None
    return key
