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

from mapper.chains.schema import ROOTS, document_json

RESTORE_ORIGIN = "restore"


def make_equal(doc: Doc, target: Doc) -> None:
    """Edit `doc` so that its content (the four roots) equals `target`'s, in one transaction."""
    # Compared as JSON first: only the entries that differ are read and written as CRDT types.
    current, wanted = document_json(doc), document_json(target)
    with doc.transaction(origin=RESTORE_ORIGIN):
        for name in ROOTS:
            _sync_map(doc.get(name, type=Map), current[name], wanted[name])


def _sync_map(live: Map, current: dict[str, Any], wanted: dict[str, Any]) -> None:
    for key in current.keys() - wanted.keys():
        del live[key]
    for key, value in wanted.items():
        if key in current and current[key] == value:
            continue
        existing = live.get(key) if key in current else None
        if isinstance(value, dict) and isinstance(existing, Map):
            _sync_map(existing, current[key], value)
        elif isinstance(existing, Text) and isinstance(value, str):
            existing.clear()
            existing += value
        else:
            live[key] = _build(key, value)


def _build(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        return Map({field: _build(field, item) for field, item in value.items()})
    if key == "notes" and isinstance(value, str):
        return Text(value)  # the only Y.Text of the schema
    return value
