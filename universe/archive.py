"""An export as CCP ships it: a zip, or the folder it unpacks to.

Members are read one at a time as text streams, never whole, and every way a damaged or
truncated archive can fail (a missing central directory, a bad CRC, a short deflate stream,
bytes that are not UTF-8) becomes one `SdeError` that says what is wrong.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

DAMAGED = "the export is truncated or damaged; download it again"


class SdeError(Exception):
    """The export cannot be read; the message says what is wrong and what to give instead."""


class Archive:
    """Member names are POSIX paths relative to the archive's root, as a zip lists them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        if path.is_dir():
            self.names = sorted(
                item.relative_to(path).as_posix() for item in path.rglob("*") if item.is_file()
            )
            return
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            raise SdeError(
                f"{path} is not a readable zip ({error}): give CCP's export as the zip it is "
                "downloaded as, or the folder it unpacks to"
            ) from None
        self.names = sorted(name for name in self._zip.namelist() if not name.endswith("/"))

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def find(self, file_name: str) -> str | None:
        """The member called `file_name` in any folder (exports differ in their top folder)."""
        matches = [name for name in self.names if PurePosixPath(name).name == file_name]
        return min(matches, key=len) if matches else None

    def lines(self, name: str) -> Iterator[tuple[int, str]]:
        """(line number, line) of a member, streamed; damage anywhere raises SdeError."""
        try:
            raw = self._zip.open(name) if self._zip is not None else (self.path / name).open("rb")
            with raw, io.TextIOWrapper(raw, encoding="utf-8") as text:
                yield from enumerate(text, 1)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error, UnicodeDecodeError) as error:
            raise SdeError(f"{name} cannot be read ({error}): {DAMAGED}") from None
