"""Schema 1 of a chain document, and the guard that keeps every replica on it.

A chain is a Yjs document with four root `Y.Map`s: `meta`, `systems`, `connections` and
`signatures` (see the service contract). Clients may send anything, so after each client update
the room calls `SchemaGuard.enforce()`, which corrects the entries that update touched in one
transaction with origin `SCHEMA_ORIGIN`. The correction is an ordinary update: it reaches every
client and the store, so all replicas converge on a valid document.

Numbers are JS numbers: an "integer" is any finite number with an integral value (an int, or a
float such as `Date.now()` arrives as). `bool` never counts as a number, and a number never as a
`bool`. NaN and ±inf are not numbers. Lengths are counted in characters (code points).

Corrections (each write or deletion counts as one):

| What breaks the schema                                       | Correction                     |
|--------------------------------------------------------------|--------------------------------|
| `meta.schema` missing or not 1                               | set to 1                       |
| `meta.name` not a string / longer than 100                   | `""` / truncated to 100        |
| `meta.home` not a positive integer                           | delete `home`                  |
| systems key not a positive decimal (no leading zero, ≤15 dig)| delete the entry               |
| connections key not `"{a}-{b}"` (system ids, a < b)          | delete the entry               |
| signatures key not `"{systemId}:{AAA-999}"` (upper case)     | delete the entry               |
| entry value not a `Y.Map` (a plain value, Y.Text, Y.Array)   | delete the entry               |
| `id`, `a`, `b`, `system`, `sig` missing or not the key's     | set from the key               |
| connection whose system `a` or `b` is not in `systems`       | delete the connection          |
|   (checked for touched connections, and for all connections  |                                |
|   when a system was removed in the same pass)                |                                |
| signature `connection` not `""` and not an existing key      | set to `""` (also when that    |
|                                                              | connection is removed)         |
| `x`, `y` not a number                                        | 0                              |
| `addedAt`, `createdAt`, `updatedAt` not a number             | 0                              |
| ... a fractional number                                      | truncated to an integer        |
| `eolAt` not null and not a number (fractional: truncated)    | null                           |
| `locked`, `eol` not a bool                                   | false                          |
| `status` not unknown/friendly/hostile/occupied/empty         | `"unknown"`                    |
| `kind` not wormhole/stargate/bridge                          | `"wormhole"`                   |
| `whSide` not a/b/""                                          | `""`                           |
| `sigA`, `sigB` not a signature id (`AAA-999`) or `""`        | upper-cased if that makes one, |
|                                                              | else `""`                      |
| `jumps` not a `Y.Array`                                      | delete `jumps`                 |
| `jumps` item not a map or `Y.Map` whose `at`, `characterId`, | delete the item                |
|   `shipTypeId`, `mass` are numbers (`mass` at least 0)       |                                |
| `jumps` longer than 200                                      | delete the oldest (first) ones |
| `mass` not fresh/reduced/critical                            | `"fresh"`                      |
| `size` not small/medium/large/xlarge/capital/""              | `""`                           |
| `group` not unknown/wormhole/combat/data/relic/gas/ore       | `"unknown"`                    |
| `alias` not a string / longer than 64                        | `""` / truncated to 64         |
| `whType` (connections and signatures), `type`, `name`,       | `""`                           |
|   `addedBy`, `by` not a string                               |                                |
| ... longer than 100                                          | truncated to 100               |
| `notes` not a `Y.Text`                                       | a `Y.Text` holding the value   |
|                                                              | if it was a string, else empty |
| `notes` longer than 10,000                                   | truncated in place             |

Deliberately left alone:
- Missing fields other than the identity ones above: filling defaults would write after nearly
  every create, waking every client; readers treat a missing field as its default.
- Unknown extra fields, in entries and in `meta`: forward compatibility with newer clients.
- Signatures of a system that is not on the map: a system can come back, and its signatures with
  it; nothing in the schema ties a signature to the map.
- Non-map content under a root name (a client treating `systems` as a Y.Array): Y.Map readers
  never see it, and it cannot be removed through the map.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Container, Iterator
from functools import partial
from typing import Any, ClassVar

from pycrdt import Array, Doc, Map, Subscription, Text

# The guard watches the roots through pycrdt's native observers: their events are read lazily,
# where pycrdt's own wrappers convert every attribute of every event first, at twice the cost
# of the whole check. Only `path` and `keys` are read, and only MapEvents are told apart.
from pycrdt._pycrdt import ArrayEvent as NativeArrayEvent
from pycrdt._pycrdt import MapEvent as NativeMapEvent

SCHEMA_VERSION = 1
SCHEMA_ORIGIN = "schema"  # transaction origin of corrections

ROOTS = ("meta", "systems", "connections", "signatures")
MAX_ALIAS = 64
MAX_TEXT = 100
MAX_NOTES = 10_000
MAX_JUMPS = 200  # a connection's `jumps`: ships seen passing, newest last
JUMP_FIELDS = ("at", "characterId", "shipTypeId", "mass")
FULL_CHECK_SLICE = 256  # entries checked between two yields of enforce_all_in_slices

# Up to 15 digits keeps every id a safe JS integer.
_ID = "[1-9][0-9]{0,14}"
_SYSTEM_KEY = re.compile(_ID)
_CONNECTION_KEY = re.compile(f"({_ID})-({_ID})")
_SIG = "[A-Z]{3}-[0-9]{3}"
_SIGNATURE_KEY = re.compile(f"({_ID}):({_SIG})")
_SIGNATURE_ID = re.compile(_SIG)

OK = object()  # what a rule returns for a valid value

# A rule takes a field's value and returns OK or the value to write instead.
Rule = Callable[[Any], Any]


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _same(value: Any, expected: int | str) -> bool:
    # True == 1 in Python, but a bool is never an id.
    return not isinstance(value, bool) and value == expected


def number(value: Any) -> Any:
    # _is_number for the values a document holds (no int or float subclasses besides bool),
    # without its calls: every drag checks two of these.
    kind = type(value)
    return OK if kind is int or (kind is float and math.isfinite(value)) else 0


def integer(default: int | None) -> Rule:
    def rule(value: Any) -> Any:
        if value is None and default is None:
            return OK
        if not _is_number(value):
            return default
        return OK if value == int(value) else int(value)

    return rule


def boolean(value: Any) -> Any:
    return OK if isinstance(value, bool) else False


def one_of(default: str, *others: str) -> Rule:
    allowed = {default, *others}

    def rule(value: Any) -> Any:
        return OK if isinstance(value, str) and value in allowed else default

    return rule


def text(limit: int) -> Rule:
    def rule(value: Any) -> Any:
        if not isinstance(value, str):
            return ""
        return OK if len(value) <= limit else value[:limit]

    return rule


def signature_id(value: Any) -> Any:
    """A signature id such as `ABC-123`, or `""` for none."""
    if not isinstance(value, str):
        return ""
    if value == "" or _SIGNATURE_ID.fullmatch(value):
        return OK
    upper = value.upper()
    return upper if _SIGNATURE_ID.fullmatch(upper) else ""


MS = integer(0)
SHORT_TEXT = text(MAX_TEXT)

SYSTEM_RULES: dict[str, Rule] = {
    "x": number,
    "y": number,
    "alias": text(MAX_ALIAS),
    "status": one_of("unknown", "friendly", "hostile", "occupied", "empty"),
    "locked": boolean,
    "addedAt": MS,
    "addedBy": SHORT_TEXT,
}
CONNECTION_RULES: dict[str, Rule] = {
    "kind": one_of("wormhole", "stargate", "bridge"),
    "whType": SHORT_TEXT,
    "whSide": one_of("", "a", "b"),
    "sigA": signature_id,
    "sigB": signature_id,
    "mass": one_of("fresh", "reduced", "critical"),
    "eol": boolean,
    "eolAt": integer(None),
    "size": one_of("", "small", "medium", "large", "xlarge", "capital"),
    "createdAt": MS,
    "updatedAt": MS,
}
SIGNATURE_RULES: dict[str, Rule] = {
    "group": one_of("unknown", "wormhole", "combat", "data", "relic", "gas", "ore"),
    "type": SHORT_TEXT,
    "whType": SHORT_TEXT,
    "name": SHORT_TEXT,
    "createdAt": MS,
    "updatedAt": MS,
    "by": SHORT_TEXT,
}


_RULES = {"systems": SYSTEM_RULES, "connections": CONNECTION_RULES, "signatures": SIGNATURE_RULES}
# Fields whose changes need the whole entry checked: identity fields, and the shared types
# inside an entry (`notes`, a Y.Text; `jumps`, a Y.Array).
_ENTRY_FIELDS = {
    "systems": frozenset({"id", "notes"}),
    "connections": frozenset({"a", "b", "jumps"}),
    "signatures": frozenset({"system", "sig", "connection"}),
}


def _changes_valid(root: str, changes: dict[str, dict[str, Any]]) -> bool:
    """Whether field changes inside one entry are valid, judged from the event alone.

    Most edits (a drag, a status change) only set plain fields: checking the new values here
    spares reading the entry back and opening a transaction.
    """
    rules = _RULES[root]
    entry_fields = _ENTRY_FIELDS[root]
    for field, change in changes.items():
        if field in entry_fields:
            return False
        rule = rules.get(field)
        if rule is not None and change["action"] != "delete" and rule(change["newValue"]) is not OK:
            return False
    return True


def system_identity(key: str) -> dict[str, int | str] | None:
    """The fields a systems entry must hold for its key, or None for a malformed key."""
    if not _SYSTEM_KEY.fullmatch(key):
        return None
    return {"id": int(key)}


def connection_identity(key: str) -> dict[str, int | str] | None:
    match = _CONNECTION_KEY.fullmatch(key)
    if match is None:
        return None
    a, b = int(match[1]), int(match[2])
    return {"a": a, "b": b} if a < b else None


def signature_identity(key: str) -> dict[str, int | str] | None:
    match = _SIGNATURE_KEY.fullmatch(key)
    if match is None:
        return None
    return {"system": int(match[1]), "sig": match[2]}


class SchemaGuard:
    """Watches one chain Doc and corrects what breaks schema 1."""

    # Fields where every finite number is valid, in whatever map below the roots they are set:
    # a system's coordinates, and no rule of any other entry or of `jumps` (meta is a root).
    # The room applies an update that only sets these (a drag) as `checked`.
    number_fields: ClassVar[frozenset[str]] = frozenset({"x", "y"})

    def __init__(self, doc: Doc) -> None:
        self._doc = doc
        self._roots: dict[str, Map] = {name: doc.get(name, type=Map) for name in ROOTS}
        # (root, key) of every entry changed since the last pass; for meta the key is the field.
        self._touched: set[tuple[str, str]] = set()
        # Connections whose `jumps` only gained valid items (or lost some): only its length
        # needs a look, not every item again.
        self._grown: set[str] = set()
        # The changes being made are valid by construction: the guard's own corrections, or an
        # update the room checked (`number_fields`). Its observers skip them.
        self.checked = False
        self._subscriptions: list[Subscription] = [
            root.integrated.observe_deep(partial(self._on_events, name))
            for name, root in self._roots.items()
        ]

    def enforce(self) -> int:
        """Correct every entry touched since the last call; returns the number of corrections."""
        if not self._touched and not self._grown:
            return 0
        touched: dict[str, set[str]] = {name: set() for name in ROOTS}
        for root, key in self._touched:
            touched[root].add(key)
        grown = self._grown - touched["connections"]
        self._touched = set()
        self._grown = set()
        return self._correct(touched, grown)

    def enforce_all(self) -> int:
        """Correct the whole document (after loading it from the database)."""
        return sum(self.enforce_all_in_slices())

    def enforce_all_in_slices(self, size: int = FULL_CHECK_SLICE) -> Iterator[int]:
        """`enforce_all` a slice of entries at a time, yielding each slice's corrections, so a
        caller can let other work run in between. Systems come first: connections are then
        checked against the corrected systems, signatures against the corrected connections."""
        self._touched = set()
        self._grown = set()
        # meta.schema is required, so meta is checked even when empty.
        yield self._correct(
            {"meta": {"schema"}, "systems": set(), "connections": set(), "signatures": set()}
        )
        for name in ROOTS[1:]:
            keys = list(self._roots[name].keys())
            for start in range(0, len(keys), size):
                touched: dict[str, set[str]] = {root: set() for root in ROOTS}
                touched[name] = set(keys[start : start + size])
                yield self._correct(touched)

    def close(self) -> None:
        for subscription in self._subscriptions:
            subscription.drop()
        self._subscriptions = []

    def _on_events(self, root: str, events: list[Any]) -> None:
        if self.checked:
            return
        try:
            self._note_touched(root, events)
        except Exception as error:
            # What pycrdt's own observer wrapper does: the error is raised when the transaction
            # ends, after every other observer (the room's broadcast) has run. Raised here, it
            # would stop the native observers that follow.
            self._doc._exceptions.append(error)

    def _note_touched(self, root: str, events: list[Any]) -> None:
        for event in events:
            # A change inside an entry has the entry's key first in its path; a change of the
            # root map itself lists the keys. Roots are maps, so their own events are MapEvents.
            path = event.path
            if not path:
                if isinstance(event, NativeMapEvent):
                    self._touched.update((root, key) for key in event.keys)
                continue
            plain_fields = len(path) == 1 and isinstance(event, NativeMapEvent) and root != "meta"
            if plain_fields and _changes_valid(root, event.keys):
                continue
            if _jumps_added_valid(root, path, event):
                self._grown.add(str(path[0]))
                continue
            self._touched.add((root, str(path[0])))

    def _correct(self, touched: dict[str, set[str]], grown: set[str] | None = None) -> int:
        systems = self._roots["systems"]
        connections = self._roots["connections"]
        signatures = self._roots["signatures"]
        # Reads happen in this transaction too; if nothing is written, its commit emits nothing.
        # Observers run as it commits, at the end of the `with`.
        self.checked = True
        try:
            with self._doc.transaction(origin=SCHEMA_ORIGIN):
                fixes = self._check_meta() if touched["meta"] else 0
                for key in touched["systems"]:
                    fixes += self._check_entry(systems, key, system_identity(key), SYSTEM_RULES)
                    fixes += self._check_notes(key)
                for key in touched["connections"]:
                    fixes += self._check_entry(
                        connections, key, connection_identity(key), CONNECTION_RULES
                    )
                    fixes += self._check_jumps(key)
                    fixes += self._drop_if_dangling(key, systems)
                for key in grown or ():
                    fixes += self._trim_jumps(key)
                removed_connections = any(key not in connections for key in touched["connections"])
                if any(key not in systems for key in touched["systems"]):
                    # One read of the system ids instead of two lookups per connection.
                    present = set(systems.keys())
                    dropped = sum(self._drop_if_dangling(key, present) for key in list(connections))
                    fixes += dropped
                    removed_connections = removed_connections or dropped > 0
                for key in touched["signatures"]:
                    fixes += self._check_entry(
                        signatures, key, signature_identity(key), SIGNATURE_RULES
                    )
                    fixes += self._check_signature_link(key)
                if removed_connections:
                    fixes += sum(self._check_signature_link(key) for key in list(signatures.keys()))
        finally:
            self.checked = False
        return fixes

    def _check_meta(self) -> int:
        meta = self._roots["meta"]
        values = dict(meta)
        fixes = 0
        if not _same(values.get("schema"), SCHEMA_VERSION):
            meta["schema"] = SCHEMA_VERSION
            fixes += 1
        if "name" in values:
            fixes += _apply(meta, "name", SHORT_TEXT(values["name"]))
        home = values.get("home")
        if "home" in values and not (_is_number(home) and home == int(home) and home > 0):
            del meta["home"]
            fixes += 1
        return fixes

    def _check_entry(
        self,
        root: Map,
        key: str,
        identity: dict[str, int | str] | None,
        rules: dict[str, Rule],
    ) -> int:
        if key not in root:
            return 0
        entry = root[key]
        if identity is None or not isinstance(entry, Map):
            del root[key]
            return 1
        values = dict(entry)
        fixes = 0
        for field, expected in identity.items():
            if not _same(values.get(field), expected):
                entry[field] = expected
                fixes += 1
        for field, value in values.items():
            rule = rules.get(field)
            if rule is not None:
                fixes += _apply(entry, field, rule(value))
        return fixes

    def _check_notes(self, key: str) -> int:
        """Make system `key`'s `notes`, if any, a Y.Text of at most MAX_NOTES characters."""
        system = self._roots["systems"].get(key)
        if not isinstance(system, Map) or "notes" not in system:
            return 0
        notes = system["notes"]
        if not isinstance(notes, Text):
            system["notes"] = Text(notes[:MAX_NOTES] if isinstance(notes, str) else "")
            return 1
        # len() of a Text counts UTF-8 bytes, never fewer than characters: a cheap first test.
        if len(notes) <= MAX_NOTES:
            return 0
        content = str(notes)
        if len(content) <= MAX_NOTES:
            return 0
        # Truncate in place rather than replace, so editors bound to this Y.Text stay bound.
        del notes[len(content[:MAX_NOTES].encode()) :]
        return 1

    def _check_jumps(self, key: str) -> int:
        """Keep connection `key`'s `jumps`, if any, a Y.Array of at most MAX_JUMPS valid items."""
        connection = self._roots["connections"].get(key)
        if not isinstance(connection, Map) or "jumps" not in connection:
            return 0
        jumps = connection["jumps"]
        if not isinstance(jumps, Array):
            del connection["jumps"]
            return 1
        # The CRDT library's own JSON encoding: reading the Array item by item costs ten times
        # as much, on every append.
        with self._doc.transaction() as txn:
            items = json.loads(jumps.integrated.to_json(txn._txn))
        keep = [index for index, item in enumerate(items) if _valid_jump(item)]
        # Past the limit the oldest go: they come first.
        keep_from = set(keep[-MAX_JUMPS:])
        drop = [index for index in range(len(items)) if index not in keep_from]
        # From the end, so the indices still to delete stay where they were; runs in one go.
        for start, stop in reversed(_runs(drop)):
            del jumps[start:stop]
        return len(drop)

    def _trim_jumps(self, key: str) -> int:
        """Drop the oldest of connection `key`'s `jumps` beyond MAX_JUMPS."""
        connection = self._roots["connections"].get(key)
        jumps = connection.get("jumps") if isinstance(connection, Map) else None
        if not isinstance(jumps, Array) or len(jumps) <= MAX_JUMPS:
            return 0
        excess = len(jumps) - MAX_JUMPS
        del jumps[:excess]
        return excess

    def _drop_if_dangling(self, key: str, systems: Container[str]) -> int:
        """Delete connection `key` if either of its systems is not among `systems`' keys."""
        connections = self._roots["connections"]
        identity = connection_identity(key)
        if identity is None or key not in connections:
            return 0
        if str(identity["a"]) in systems and str(identity["b"]) in systems:
            return 0
        del connections[key]
        return 1

    def _check_signature_link(self, key: str) -> int:
        """Clear signature `key`'s `connection` if it names no existing connection."""
        signature = self._roots["signatures"].get(key)
        if not isinstance(signature, Map) or "connection" not in signature:
            return 0
        link = signature["connection"]
        if isinstance(link, str) and (link == "" or link in self._roots["connections"]):
            return 0
        signature["connection"] = ""
        return 1


def _jumps_added_valid(root: str, path: list[Any], event: Any) -> bool:
    """Whether the event only added valid items to (or removed some from) a connection's
    `jumps`: the rest was valid already, so the length is all that is left to check."""
    if root != "connections" or len(path) != 2 or path[1] != "jumps":
        return False
    if not isinstance(event, NativeArrayEvent):
        return False
    return all(_valid_jump(item) for change in event.delta for item in change.get("insert", ()))


def _valid_jump(item: Any) -> bool:
    if type(item) is not dict:  # a Y.Map item reads as a dict too
        return False
    values = [item.get(field) for field in JUMP_FIELDS]
    return all(map(_is_number, values)) and values[-1] >= 0


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted indices as (start, stop) ranges of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and runs[-1][1] == index:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    return runs


def _apply(entry: Map, field: str, fixed: Any) -> int:
    if fixed is OK:
        return 0
    entry[field] = fixed
    return 1


def document_json(doc: Doc) -> dict[str, Any]:
    """The document as JSON: Y.Text as str, nested Y.Map as dict, integral numbers as int."""
    roots = {name: doc.get(name, type=Map) for name in ROOTS}
    # The CRDT library's own JSON encoding: five times faster than reading entry by entry.
    with doc.transaction() as txn:
        return {name: json.loads(root.integrated.to_json(txn._txn)) for name, root in roots.items()}


def new_chain_update(name: str) -> bytes:
    """The update that creates a new chain's meta: the first entry of its log."""
    doc: Doc = Doc()
    meta = doc.get("meta", type=Map)
    with doc.transaction():
        meta["schema"] = SCHEMA_VERSION
        meta["name"] = name[:MAX_TEXT]
    return doc.get_update()


def counts(doc: Doc) -> dict[str, int]:
    return {name: len(doc.get(name, type=Map)) for name in ROOTS[1:]}
