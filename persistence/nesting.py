"""How deep an update nests shared types, read before pycrdt sees it; and the repair of
documents that already nest too deep.

yrs walks nested types recursively in native code (deleting them, encoding them as JSON), so
a `Y.Map` nested tens of thousands deep crashes the process. An update is therefore read here
first, without recursion, and refused when it would put a shared type deeper than `MAX_DEPTH`
(a root type is level 1), embed a value nested deeper than `MAX_VALUE_DEPTH`, or hang content
on items the document does not have (yrs would keep that content aside and integrate it later,
unchecked).

The index also knows which items sit in a *number field*: one of the map keys a `Nesting` is
given (the schema's `x` and `y`), in a map below a root. An update that only sets such fields to
finite numbers and deletes such items is one a room may apply without its schema guard looking
at the result (`Placed.only_number_fields`): a drag, the most common edit by far.

Where a new item sits follows from what it names: a root, its parent type, or its neighbours
(`origin`, `rightOrigin`), whose parent it shares. Neighbours may be anywhere in the document,
so a `Nesting` index keeps, for every item of the document, the level of its parent: per
client, contiguous clock ranges, a few bytes each.

The format is Yjs' update v1 (yjs `UpdateDecoder` and `Item`, lib0 `readAny`).
"""

from __future__ import annotations

import bisect
import logging
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, final

from pycrdt import Doc, write_var_uint

from mapper.core import native

MAX_DEPTH: Final = 16
MAX_VALUE_DEPTH: Final = 32
# Deleting a nested type recurses in yrs: a repair deletes at most this many levels at once.
REPAIR_LEVELS: Final = 128

_GC: Final = 0
_CONTENT_DELETED: Final = 1
_CONTENT_TYPE: Final = 7
_CONTENT_DOC: Final = 9
# Not content: a gap in the update; yrs' own 11 (move) is not part of the format.
_SKIP: Final = 10
_TYPE_REFS: Final = 6  # YArray .. YXmlText
_NAMED_TYPE_REFS: Final = (3, 5)  # YXmlElement and YXmlHook carry a name
_MAX_VAR_UINT_BYTES: Final = 8
# A GC struct's level: whatever is placed against it is discarded.
_NO_PARENT: Final = 0
_LEVEL_CAP: Final = 255  # levels are kept in bytes
# The level of an item that names an item of its update not placed yet.
_UNPLACED: Final = -1
_ANY: Final = 8  # content: lib0 `any` values
# The tags JavaScript numbers are written with.
_VAR_INT: Final = 125
_FLOAT32: Final = 124
_FLOAT64: Final = 123
_BIGINT: Final = 122
# A deletion is checked against at most this many ranges of the index, so that a hostile one
# costs no more than a drag; past it the update is simply not taken for number fields only.
_DELETE_WALK: Final = 8

Id = tuple[int, int]  # (client, clock)

log = logging.getLogger(__name__)


class NestingError(ValueError):
    """An update that does not decode, nests too deep, or depends on missing content."""


# Struct and Placed are plain classes with their `__init__` written out: the native build
# compiles such an `__init__`, where a dataclass's generated one stays interpreted (450 ns a
# struct, set attribute by attribute).


@final
class Struct:
    __slots__ = (
        *("client", "clock", "length", "kind", "root", "parent", "origin", "right"),
        *("value_depth", "number", "number_field"),
    )

    def __init__(
        self,
        client: int,
        clock: int,
        length: int,
        kind: int,
        root: bool,
        parent: Id | None,
        origin: Id | None,
        right: Id | None,
        value_depth: int,
        number: bool,
        number_field: bool,
    ) -> None:
        self.client: Final = client
        self.clock: Final = clock
        self.length: Final = length
        self.kind: Final = kind  # content ref, or _GC / _SKIP
        self.root: Final = root  # the parent is a root type, named in the update
        self.parent: Final = parent  # the parent type, named by id
        self.origin: Final = origin
        self.right: Final = right
        self.value_depth: Final = value_depth  # how deep embedded values nest
        self.number: Final = number  # the content is one finite number
        # It names a parent below the roots, and one of the number fields as its key.
        self.number_field: Final = number_field


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        pos = self.pos
        if pos >= len(self.data):
            raise NestingError("update ends early")
        self.pos = pos + 1
        return self.data[pos]

    def var_uint(self) -> int:
        data, pos = self.data, self.pos
        try:
            byte = data[pos]
            if byte < 0x80:  # most numbers take one byte; client ids take five
                self.pos = pos + 1
                return byte
            value, shift = byte & 0x7F, 7
            while shift < 7 * _MAX_VAR_UINT_BYTES:
                pos += 1
                byte = data[pos]
                value |= (byte & 0x7F) << shift
                if byte < 0x80:
                    self.pos = pos + 1
                    return value
                shift += 7
        except IndexError:
            raise NestingError("update ends early") from None
        raise NestingError("number too long")

    def skip(self, length: int) -> None:
        end = self.pos + length
        if end > len(self.data):
            raise NestingError("update ends early")
        self.pos = end

    def skip_bytes(self) -> None:
        self.skip(self.var_uint())

    def take_bytes(self) -> bytes:
        size = self.var_uint()
        start = self.pos
        self.skip(size)
        return self.data[start : self.pos]

    def id(self) -> Id:
        return self.var_uint(), self.var_uint()

    def value(self) -> int:
        """Skip one lib0 `any` value, without recursion; returns how deep it nests."""
        tag = self.byte()
        if 120 <= tag <= 127 and tag != 125:  # undefined, null, floats, bigint, booleans
            self.skip(_FIXED_VALUE_BYTES[tag - 120])
            return 1
        # Per open level: [values still to read, whether each follows a key (objects)].
        pending: list[list[int]] = []
        deepest = 1
        while True:
            if tag == 125:
                self.var_uint()  # a varInt: same byte layout
            elif tag in (119, 116):  # string, bytes
                self.skip_bytes()
            elif tag in (118, 117):  # object, array
                pending.append([self.var_uint(), int(tag == 118)])
                deepest = max(deepest, len(pending) + 1)
            elif 120 <= tag <= 127:
                self.skip(_FIXED_VALUE_BYTES[tag - 120])
            else:
                raise NestingError(f"unknown value tag {tag}")
            while pending and pending[-1][0] == 0:
                pending.pop()
            if not pending:
                return deepest
            level = pending[-1]
            level[0] -= 1
            if level[1]:
                self.skip_bytes()
            tag = self.byte()


# Bytes after the tag of fixed-size values, by tag - 120: true, false, bigint, float64,
# float32, (varInt), null, undefined.
_FIXED_VALUE_BYTES: Final = (0, 0, 8, 8, 4, 0, 0, 0)


def _one_number(data: bytes, pos: int) -> bool:
    """Whether the `any` content at `pos` is one finite number, as JavaScript writes numbers
    (a varInt, a bigint, or a big-endian float whose exponent bits are not all set, as they are
    in NaN and the infinities). Only looks: the content is read, and checked, as any other."""
    if pos + 2 > len(data) or data[pos] != 1:
        return False
    tag = data[pos + 1]
    if tag == _VAR_INT or (tag == _BIGINT and pos + 10 <= len(data)):
        return True
    if tag == _FLOAT64 and pos + 10 <= len(data):
        return not (data[pos + 2] & 0x7F == 0x7F and data[pos + 3] & 0xF0 == 0xF0)
    if tag == _FLOAT32 and pos + 6 <= len(data):
        return not (data[pos + 2] & 0x7F == 0x7F and data[pos + 3] & 0x80 == 0x80)
    return False


def _read_content(reader: _Reader, kind: int) -> tuple[int, int]:
    """Skip an item's content; (its length in clock ticks, how deep its values nest)."""
    if kind == _ANY:
        count = reader.var_uint()
        deepest = 0
        for _ in range(count):
            deepest = max(deepest, reader.value())
        return count, deepest
    if kind == 4:  # a string: its length counts UTF-16 code units, as JavaScript does
        size = reader.var_uint()
        start = reader.pos
        reader.skip(size)
        raw = reader.data[start : reader.pos]
        if raw.isascii():
            return size, 0
        try:
            return len(raw.decode("utf-8").encode("utf-16-le")) // 2, 0
        except UnicodeDecodeError:
            raise NestingError("string is not UTF-8") from None
    if kind == _CONTENT_TYPE:
        ref = reader.var_uint()
        if ref > _TYPE_REFS:
            raise NestingError(f"unknown shared type {ref}")
        if ref in _NAMED_TYPE_REFS:
            reader.skip_bytes()
        return 1, 0
    if kind == _CONTENT_DELETED:
        return reader.var_uint(), 0
    if kind == 2:  # JSON strings
        count = reader.var_uint()
        for _ in range(count):
            reader.skip_bytes()
        return count, 0
    if kind in (3, 5):  # binary, embed (a JSON string)
        reader.skip_bytes()
        return 1, 0
    if kind == 6:  # format: key and JSON value
        reader.skip_bytes()
        reader.skip_bytes()
        return 1, 0
    if kind == _CONTENT_DOC:  # guid and options
        reader.skip_bytes()
        return 1, reader.value()
    raise NestingError(f"unknown content type {kind}")


# A client's deleted clocks: (client, first clock, the clock after the last).
Deleted = tuple[int, int, int]


def read_structs(update: bytes, number_fields: frozenset[bytes] = frozenset()) -> list[Struct]:
    """Every struct of a v1 update, after checking that the whole update decodes."""
    return read_update(update, number_fields)[0]


def read_update(
    update: bytes, number_fields: frozenset[bytes] = frozenset()
) -> tuple[list[Struct], list[Deleted]]:
    """Every struct of a v1 update, and its delete set. `number_fields`: the map keys (UTF-8)
    whose items are told apart (`Struct.number_field`)."""
    reader = _Reader(update)
    structs: list[Struct] = []
    append = structs.append
    for _ in range(reader.var_uint()):
        count = reader.var_uint()
        client = reader.var_uint()
        clock = reader.var_uint()
        for _ in range(count):
            info = reader.byte()
            kind = info & 0x1F
            if kind in (_GC, _SKIP):
                length = reader.var_uint()
                append(
                    Struct(client, clock, length, kind, False, None, None, None, 0, False, False)
                )
                clock += length
                continue
            if kind > _CONTENT_DOC:
                raise NestingError(f"unknown content type {kind}")
            origin = reader.id() if info & 0x80 else None
            right = reader.id() if info & 0x40 else None
            root = False
            parent = None
            number_field = False
            if not info & 0xC0:
                if reader.var_uint() == 1:
                    reader.skip_bytes()  # the root's name
                    root = True
                else:
                    parent = reader.id()
                if info & 0x20:  # the map key
                    if parent is not None and number_fields:
                        number_field = reader.take_bytes() in number_fields
                    else:
                        reader.skip_bytes()
            number = kind == _ANY and _one_number(reader.data, reader.pos)
            # Length 0 happens (yrs writes a split surrogate pair as ""); it takes no clock.
            length, value_depth = _read_content(reader, kind)
            append(
                Struct(
                    client,
                    clock,
                    length,
                    kind,
                    root,
                    parent,
                    origin,
                    right,
                    value_depth,
                    number,
                    number_field,
                )
            )
            clock += length
    deleted: list[Deleted] = []
    for _ in range(reader.var_uint()):  # the delete set
        client = reader.var_uint()
        for _ in range(reader.var_uint()):
            clock = reader.var_uint()
            deleted.append((client, clock, clock + reader.var_uint()))
    if reader.pos != len(update):
        raise NestingError("trailing bytes after the update")
    return structs, deleted


@dataclass(slots=True)
class _Ranges:
    """One client's items: contiguous clock ranges from 0, each with its parent level and
    whether its items sit in number fields."""

    starts: array[int] = field(default_factory=lambda: array("Q"))
    levels: bytearray = field(default_factory=bytearray)
    numbers: bytearray = field(default_factory=bytearray)  # 1: the items sit in number fields
    end: int = 0  # the next clock: what the document's state vector says for this client

    def at(self, clock: int) -> int:
        """The range holding `clock`: most often a client's latest (a drag names its last)."""
        last = len(self.starts) - 1
        return last if clock >= self.starts[last] else bisect.bisect_right(self.starts, clock) - 1

    def find(self, clock: int) -> int:
        return self.levels[self.at(clock)]

    def number_field(self, clock: int) -> bool:
        return self.numbers[self.at(clock)] == 1

    def only_number_fields(self, start: int, end: int) -> bool:
        """Whether every item from `start` to `end` (all indexed) sits in a number field; False
        past _DELETE_WALK ranges."""
        at = self.at(start)
        for _ in range(_DELETE_WALK):
            if at < 0 or self.numbers[at] != 1:
                return False
            at += 1
            if at == len(self.starts) or self.starts[at] >= end:
                return True
        return False

    def extend(self, end: int, level: int, number_field: bool) -> None:
        level = min(level, _LEVEL_CAP)
        number = 1 if number_field else 0
        if not self.levels or self.levels[-1] != level or self.numbers[-1] != number:
            self.starts.append(self.end)
            self.levels.append(level)
            self.numbers.append(number)
        self.end = end


@final
class Placed:
    """An update's new items with the level of each one's parent."""

    __slots__ = ("all_new", "basis", "levels", "number_fields", "only_number_fields", "structs")

    def __init__(
        self,
        structs: list[Struct],
        levels: list[int],
        number_fields: list[bool],
        basis: dict[int, int],
        all_new: bool,
        only_number_fields: bool,
    ) -> None:
        self.structs: Final = structs
        self.levels: Final = levels
        self.number_fields: Final = number_fields  # whether each item sits in a number field
        self.basis: Final = basis  # each client's next clock in the index when placed
        # No struct of the update was in the document already: it integrates whole, so the
        # update itself is what the document took.
        self.all_new: Final = all_new
        # Every new item sets a number field to a finite number; `Nesting.check` adds: and
        # every deleted one sat in one.
        self.only_number_fields = only_number_fields

    def too_deep(self) -> list[tuple[int, Struct]]:
        """(level, item) of the items that break a limit: content of types at MAX_DEPTH or
        deeper that is a type itself or sits deeper still, and too deeply nested values."""
        return [
            (level, struct)
            for struct, level in zip(self.structs, self.levels, strict=True)
            if struct.kind not in (_GC, _CONTENT_DELETED)
            and (
                level > MAX_DEPTH
                or (level == MAX_DEPTH and struct.kind == _CONTENT_TYPE)
                or struct.value_depth > MAX_VALUE_DEPTH
            )
        ]


class Nesting:
    """The parent level of every item of one document, to place the items of new updates.

    `number_fields`: the map keys whose items, in maps below the roots, are told apart (see the
    module's docstring)."""

    def __init__(self, number_fields: frozenset[str] = frozenset()) -> None:
        self._clients: dict[int, _Ranges] = {}
        self._number_fields = frozenset(name.encode() for name in number_fields)

    def __len__(self) -> int:
        """How many ranges it holds."""
        return sum(len(ranges.levels) for ranges in self._clients.values())

    def check(self, update: bytes) -> Placed:
        """Place a client's update, or raise NestingError: it does not decode, nests too deep,
        or depends on content the document lacks. Only reads the index, so it may run in
        another thread; `still_holds` then tells whether the index moved under it."""
        structs, deleted = read_update(update, self._number_fields)
        placed = self._place(structs, strict=True)
        levels = placed.levels
        ends: dict[int, int] = {}  # each client's next clock after the update
        value_depth = depth = 0
        for index, struct in enumerate(placed.structs):
            ends[struct.client] = struct.clock + struct.length
            value_depth = max(value_depth, struct.value_depth)
            if struct.kind == _CONTENT_TYPE:
                depth = max(depth, levels[index] + 1)
        # yrs keeps a deletion of what it does not have yet, and applies it to whatever comes
        # at those clocks later: a scout's next edits, deleted before they are made.
        for client, _, end in deleted:
            if end > max(self._next_clock(client), ends.get(client, 0)):
                raise NestingError("update deletes content the service does not have")
        if value_depth > MAX_VALUE_DEPTH:
            raise NestingError(f"a value nests deeper than {MAX_VALUE_DEPTH} levels")
        if depth > MAX_DEPTH:
            raise NestingError(f"shared types nested {depth} levels deep; at most {MAX_DEPTH}")
        if placed.only_number_fields:
            placed.only_number_fields = self._deletes_number_fields(deleted)
        return placed

    def _deletes_number_fields(self, deleted: list[Deleted]) -> bool:
        """Whether every deleted item is in the index and sits in a number field."""
        for client, start, end in deleted:
            ranges = self._clients.get(client)
            if ranges is None or end > ranges.end or not ranges.only_number_fields(start, end):
                return False
        return True

    def still_holds(self, placed: Placed) -> bool:
        """Whether the clients of a checked update are where they were when it was checked."""
        return all(self._next_clock(client) == clock for client, clock in placed.basis.items())

    def add(self, placed: Placed) -> None:
        """Index the items of an update the document has integrated."""
        levels = placed.levels
        number_fields = placed.number_fields
        for index, struct in enumerate(placed.structs):
            ranges = self._clients.get(struct.client)
            if ranges is None:
                ranges = self._clients[struct.client] = _Ranges()
            ranges.extend(struct.clock + struct.length, levels[index], number_fields[index])

    def record(self, update: bytes) -> Placed:
        """Index an update the document has integrated, whoever made it; refuses nothing."""
        placed = self._place(read_structs(update, self._number_fields), strict=False)
        self.add(placed)
        return placed

    def _next_clock(self, client: int) -> int:
        ranges = self._clients.get(client)
        return 0 if ranges is None else ranges.end

    def _place(self, structs: list[Struct], *, strict: bool) -> Placed:
        new: list[Struct] = []
        expected: dict[int, int] = {}
        basis: dict[int, int] = {}
        all_new = True
        for struct in structs:
            known = expected.get(struct.client)
            if known is None:
                known = basis[struct.client] = self._next_clock(struct.client)
            end = struct.clock + struct.length
            if end <= known:
                all_new = False
                continue  # the document has it already; yrs skips it
            if struct.clock != known:
                if strict or struct.clock < known:
                    what = "overlaps" if struct.clock < known else "depends on"
                    raise NestingError(f"update {what} content the service does not have")
            if struct.kind == _SKIP:
                if strict:
                    raise NestingError("update depends on content the service does not have")
                all_new = False
                continue
            expected[struct.client] = end
            new.append(struct)
        local = _LocalIndex(new)
        levels = [_UNPLACED] * len(new)
        for index, struct in enumerate(new):
            if levels[index] == _UNPLACED:
                # Most items name only items the document has: placed at once, no stack.
                levels[index] = self._level(struct, levels, local, strict)
                if levels[index] == _UNPLACED:
                    self._resolve(index, new, levels, local, strict)
        number_fields: list[bool] = []
        only_number_fields = bool(self._number_fields)
        if not only_number_fields:  # a document without number fields: no lookups to make
            return Placed(new, levels, [False] * len(new), basis, all_new, False)
        for struct in new:
            in_number_field = self._in_number_field(struct, number_fields, local)
            number_fields.append(in_number_field)
            only_number_fields = only_number_fields and in_number_field and struct.number
        return Placed(new, levels, number_fields, basis, all_new, only_number_fields)

    def _in_number_field(self, struct: Struct, before: list[bool], local: _LocalIndex) -> bool:
        """Whether a new item sits in a number field, whatever its content. One that names no
        parent sits beside its neighbours, under their parent and key (Yjs' `Item.getMissing`):
        it does when they do. `before`: the answers for the update's items before this one (a
        later one counts as no)."""
        if struct.kind == _GC or struct.root:
            return False
        if struct.parent is not None:
            return struct.number_field
        for ref in (struct.origin, struct.right):
            if ref is None:
                continue
            ranges = self._clients.get(ref[0])
            if ranges is not None and ref[1] < ranges.end:
                if not ranges.number_field(ref[1]):
                    return False
            else:
                other = local.find(ref)
                if other is None or other >= len(before) or not before[other]:
                    return False
        return True

    def _resolve(
        self,
        index: int,
        structs: list[Struct],
        levels: list[int],
        local: _LocalIndex,
        strict: bool,
    ) -> None:
        """Set `levels[index]` and the levels it depends on, with an explicit stack: a chain
        of neighbours can be as long as the update."""
        stack = [index]
        on_stack = {index}
        while stack:
            current = stack[-1]
            struct = structs[current]
            level = self._level(struct, levels, local, strict)
            if level != _UNPLACED:
                levels[current] = level
                on_stack.discard(stack.pop())
                continue
            waiting: list[int] = []
            for ref in _refs(struct):
                other = local.find(ref)
                if other is not None and levels[other] == _UNPLACED:
                    waiting.append(other)
            if any(other in on_stack for other in waiting):
                if strict:
                    raise NestingError("items that place each other in a circle")
                # Integrated already (yrs can write inconsistent clocks for a split
                # surrogate pair): whatever was placed this way has no parent to find.
                levels[current] = _NO_PARENT
                on_stack.discard(stack.pop())
                continue
            stack.extend(waiting)
            on_stack.update(waiting)

    def _level(self, struct: Struct, levels: list[int], local: _LocalIndex, strict: bool) -> int:
        """The level of the item's parent; _UNPLACED while an item of the same update that it
        names has no level yet."""
        if struct.kind == _GC:
            return _NO_PARENT
        if struct.root:
            return 1
        refs = _refs(struct)
        if not refs:
            raise NestingError("an item with no parent")
        deepest = _NO_PARENT
        for ref in refs:
            ranges = self._clients.get(ref[0])
            if ranges is not None and ref[1] < ranges.end:
                # In the document already; the update's own new items all come later.
                level = ranges.find(ref[1])
            else:
                other = local.find(ref)
                if other is not None:
                    level = levels[other]
                    if level == _UNPLACED:
                        return _UNPLACED
                elif strict:
                    raise NestingError("update depends on content the service does not have")
                else:
                    level = _NO_PARENT
            # Yjs takes the parent from the left neighbour, else the right one: either may be
            # what yrs picks, so the deeper one counts.
            deepest = max(deepest, level)
        if struct.parent is not None:
            # The parent type's own parent is one level up; a parent that is not a type
            # gets its children discarded, so counting it as one is merely cautious.
            return deepest + 1
        return deepest


def _refs(struct: Struct) -> list[Id]:
    if struct.parent is not None:
        return [struct.parent]
    refs: list[Id] = []
    if struct.origin is not None:
        refs.append(struct.origin)
    if struct.right is not None:
        refs.append(struct.right)
    return refs


class _LocalIndex:
    """Which of an update's own new items holds an id; built on first use (most updates name
    only items the document has)."""

    def __init__(self, structs: list[Struct]) -> None:
        self._structs = structs
        self._starts: dict[int, list[int]] | None = None
        self._indices: dict[int, list[int]] = {}

    def find(self, ref: Id) -> int | None:
        starts = self._starts
        if starts is None:
            starts = self._starts = self._build()
        client_starts = starts.get(ref[0])
        if client_starts is None:
            return None
        at = bisect.bisect_right(client_starts, ref[1]) - 1
        if at < 0:
            return None
        index = self._indices[ref[0]][at]
        struct = self._structs[index]
        return index if ref[1] < struct.clock + struct.length else None

    def _build(self) -> dict[int, list[int]]:
        # `_place` keeps each client's new items in rising clock order: no sort needed.
        starts: dict[int, list[int]] = {}
        for index, struct in enumerate(self._structs):
            starts.setdefault(struct.client, []).append(struct.clock)
            self._indices.setdefault(struct.client, []).append(index)
        return starts


@dataclass(slots=True)
class Survey:
    """A whole document read once: its index, and what it holds too deep."""

    nesting: Nesting
    too_deep: list[tuple[int, Struct]]


def survey(state: bytes, number_fields: frozenset[str] = frozenset()) -> Survey:
    """Read a document's full state (`Doc.get_update()`). Pure: may run in another thread."""
    nesting = Nesting(number_fields)
    placed = nesting.record(state)
    return Survey(nesting, placed.too_deep())


def repair(doc: Doc, too_deep: list[tuple[int, Struct]]) -> int:
    """Delete what a survey found too deep, bottom up, a bounded number of levels per
    transaction so that yrs' recursive delete stays shallow; returns the items deleted."""
    for batch in _bottom_up(too_deep):
        doc.apply_update(delete_update(batch))
    return len(too_deep)


def _bottom_up(items: list[tuple[int, Struct]]) -> Iterator[list[Struct]]:
    ordered = sorted(items, key=lambda pair: pair[0], reverse=True)
    batch: list[Struct] = []
    top = 0
    for level, struct in ordered:
        if batch and top - level >= REPAIR_LEVELS:
            yield batch
            batch = []
        if not batch:
            top = level
        batch.append(struct)
    if batch:
        yield batch


def delete_update(structs: Sequence[Struct]) -> bytes:
    """An update that only deletes `structs`."""
    by_client: dict[int, list[tuple[int, int]]] = {}
    for struct in structs:
        by_client.setdefault(struct.client, []).append((struct.clock, struct.length))
    parts = [write_var_uint(0), write_var_uint(len(by_client))]
    for client, ranges in by_client.items():
        ranges.sort()
        parts += [write_var_uint(client), write_var_uint(len(ranges))]
        for clock, length in ranges:
            parts += [write_var_uint(clock), write_var_uint(length)]
    return b"".join(parts)


# While the install compiled this very text, its build answers instead (mapper.core.native).
NATIVE = native.adopt(globals())
