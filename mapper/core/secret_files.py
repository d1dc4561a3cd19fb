"""Secrets kept in the data folder (the token signing key, the key for EVE refresh tokens):
read, or made once and readable by the owner alone."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from mapper.core.errors import SettingsError

log = logging.getLogger("mapper.secrets")


def read_or_create(path: Path, make: Callable[[], bytes], what: str) -> bytes:
    """The file's bytes; when there is no file, `make()`'s, stored first. `what` names the
    secret in messages ("the signing key"). SettingsError when it can be neither read nor made."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return _create(path, make(), what)
    except OSError as error:
        raise SettingsError(f"cannot read {what} {path}: {error.strerror}") from None
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users; chmod 600 it", path)
    return content


def _create(path: Path, content: bytes, what: str) -> bytes:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, then linked into place: readers never see a
        # partial file, and link (unlike rename) never replaces one another process just made.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return path.read_bytes()  # the other process's, which it uses too
    except OSError as error:
        raise SettingsError(f"cannot create {what} {path}: {error.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)
    log.info("created %s in %s", what, path)
    return content
