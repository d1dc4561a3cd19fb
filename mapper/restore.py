"""Restore as a forward edit: change a live chain document until its content equals a target's.

Replacing the stored document with an old one would not work: connected clients and browser
caches would push the newer state straight back. Instead the difference is written as one
ordinary transaction, which reaches every client and the store like any other edit. Entries
that exist on both sides are changed field by field, not replaced, so an offline client's
later edit to another field of the same entry still merges on top.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Map, Text

from mapper.schema import ROOTS

RESTORE_ORIGIN = "restore"


def make_equal(doc: Doc, target: Doc) -> None:
    """Edit `doc` so that its content (the four roots) equals `target`'s, in one transaction."""
    with doc.transaction(origin=RESTORE_ORIGIN):
        for name in ROOTS:
            _sync_map(doc.get(name, type=Map), target.get(name, type=Map).to_py() or {})


def _sync_map(live: Map, wanted: dict[str, Any]) -> None:
    for key in [key for key in live.keys() if key not in wanted]:
        del live[key]
    for key, value in wanted.items():
        current = live.get(key)
        if isinstance(value, dict) and isinstance(current, Map):
            _sync_map(current, value)
        elif isinstance(current, Text) and isinstance(value, str):
            if str(current) != value:
                current.clear()
                current += value
        elif key not in live or _plain(current) != value:
            live[key] = _build(key, value)


def _build(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        return Map({field: _build(field, item) for field, item in value.items()})
    if key == "notes" and isinstance(value, str):
        return Text(value)  # the only Y.Text of the schema
    return value


def _plain(value: Any) -> Any:
    return value.to_py() if isinstance(value, Map | Text) else value
