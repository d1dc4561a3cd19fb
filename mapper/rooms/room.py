"""A room: one live Yjs document, the connections watching it, and their awareness.

Everything here runs on the event loop's thread (a pycrdt Doc belongs to the thread that made
it) and without awaiting, so a message is handled whole before the next one starts: nothing
can slip between applying an update and broadcasting it.

Every change of the document, whoever made it (a client, a schema correction, the service),
goes out through one observer: to every connection, the sender included, and to the store.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pycrdt import Doc, Subscription, Transaction, TransactionEvent

from mapper.core import protocol
from mapper.core.clock import Clock
from mapper.core.metrics import Metrics
from mapper.core.protocol import (
    SYNC_STEP1,
    AwarenessEntry,
    AwarenessMessage,
    ProtocolError,
    QueryAwarenessMessage,
    SyncMessage,
)
from mapper.persistence import nesting
from mapper.persistence.folding import apply_stored
from mapper.persistence.nesting import Nesting, NestingError, Placed
from mapper.presence.awareness import RoomAwareness
from mapper.rooms import fanout
from mapper.rooms.connection import Connection

if TYPE_CHECKING:
    from mapper.rooms.manager import RoomKind

log = logging.getLogger("mapper.rooms")
T = TypeVar("T")

EMPTY_UPDATE = b"\x00\x00"
READ_ONLY_REASON = "read-only: your role on this chain does not allow edits"

# Called with (room key, update) for every change worth keeping.
StoreUpdate = Callable[[str, bytes], None]
# Called with (room key, kind, payload) for what other processes of the service must see.
Publish = Callable[[str, bytes, bytes], None]
# Called with (room, connection) when a connection's awareness changed or it left the room.
WatchPresence = Callable[["Room", Connection], None]
# An extension's hook, as Hocuspocus' onChange: called with (room, local) after every change
# of the document, once its observers have run; `local` is False for a change applied from
# another process of the service. It runs on every change: it must be cheap.
Changed = Callable[["Room", bool], None]


class Guard(Protocol):
    """Holds a document to its rules (the chain schema, which lives above this layer)."""

    # Set while the document takes changes known to keep the rules: the guard need not look.
    checked: bool

    def enforce(self) -> int:
        """Correct what the last changes broke; the number of corrections."""
        ...

    def enforce_all_in_slices(self) -> Iterator[int]:
        """Correct the whole document, a slice at a time; corrections per slice."""
        ...

    def close(self) -> None: ...


class MakeGuard(Protocol):
    """Makes the guard of a room's document, once it is loaded."""

    # Map keys whose every finite number is valid in any map below the roots: an update that
    # only sets and deletes those (a drag) keeps the rules, as the nesting check can tell.
    number_fields: frozenset[str]

    def __call__(self, doc: Doc) -> Guard: ...


SERVICE = "service"  # the owner of the service's own awareness state


def crdt_call(operation: Callable[..., T], *args: object) -> T:
    """Run a pycrdt call on untrusted bytes; a decode error or a Rust panic becomes ProtocolError.

    pycrdt raises PanicException, a BaseException, on some malformed input.
    """
    try:
        return operation(*args)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:
        raise ProtocolError(f"CRDT data does not decode: {error}") from error


def apply_update(doc: Doc, update: bytes) -> None:
    """`doc.apply_update(update)` in one frame: the native calls pycrdt's `Doc.apply_update`
    makes, in its order, without its six Python frames (4 % of a drag's instructions). pycrdt
    is pinned below 0.15 for these internals, and `tests/test_room_apply.py` holds this to
    pycrdt's own behaviour: observers see the transaction as theirs, and their errors are raised
    after it."""
    if doc._txn is not None or doc._allow_multithreading:
        doc.apply_update(update)  # pycrdt's own path nests and locks
        return
    native = doc._doc.create_transaction()
    txn = Transaction(doc, native)
    txn._leases = 1  # an observer's `with doc.transaction()` must not end it
    doc._txn = txn
    try:
        doc._doc.apply_update(native, update)
    finally:
        try:
            native.commit()
        finally:
            native.drop()
            txn._txn = None
            doc._txn = None
    if doc._exceptions:
        errors = tuple(doc._exceptions)
        doc._exceptions.clear()
        raise ExceptionGroup("Observer callback error", errors)


class Room:
    def __init__(
        self,
        key: str,
        *,
        kind: RoomKind | None = None,
        clock: Clock,
        metrics: Metrics,
        store_update: StoreUpdate | None,
        make_guard: MakeGuard | None = None,
        publish: Publish | None = None,
        presence: WatchPresence | None = None,
        changed: Changed | None = None,
    ) -> None:
        self.key = key
        self.kind = kind  # the manager's RoomKind: what family of rooms this is
        self.doc: Doc = Doc()
        self.awareness = RoomAwareness(clock.monotonic)
        self.connections: dict[Connection, None] = {}  # insertion-ordered set
        self.joining = 0  # clients waiting for the load
        self._metrics = metrics
        self._store_update = store_update
        self._publish = publish
        self._presence = presence
        self._changed = changed
        self._make_guard = make_guard
        self._service_client = random.getrandbits(32)
        self._service_clock = 0
        self._service_state: dict[str, Any] | None = None
        self._service_renewed_at = 0.0
        self._remote = False  # applying another process's change: neither store nor publish it
        self._subscription: Subscription | None = None
        self.guard: Guard | None = None
        self._number_fields = frozenset() if make_guard is None else make_guard.number_fields
        self.nesting = Nesting(self._number_fields)
        self.version = 0  # counts document changes
        # The checked client update being applied, and its bytes.
        self._applying: tuple[Placed, bytes] | None = None
        # Who started each client id seen new here (ids in the stored document are nobody's).
        self._writers: dict[int, str] = {}
        self.awareness_version = 0  # counts awareness changes

    def load(self, updates: Iterable[bytes]) -> None:
        """Fill the document from the database. Nobody can write before this returns (joiners
        wait for it), so the observers come after the stored state: loading is no change, and
        watching it would cost more than applying it."""
        apply_stored(self.doc, updates)
        # pycrdt's native observer, without the Python wrapper `Doc.observe` puts around it (a
        # frame and a partial on every change): `_on_change` keeps its errors as the wrapper
        # does.
        self._subscription = self.doc._doc.observe(self._on_change)

    async def survey(self) -> None:
        """Index where every item sits (read in a thread: a large chain takes a while), and
        delete what an older version stored nested too deep, before anyone joins. The schema
        guard comes after: it walks the document."""
        found = await asyncio.to_thread(nesting.survey, self.doc.get_update(), self._number_fields)
        self.nesting = found.nesting
        if found.too_deep:
            deleted = nesting.repair(self.doc, found.too_deep)
            log.warning("room %s: deleted %d items nested over the limits", self.key, deleted)
        if self._make_guard is not None:
            self.guard = self._make_guard(self.doc)

    def check_stored(self) -> Iterator[None]:
        """Correct whatever the stored document breaks (the rules may be newer than it), one
        slice of entries per step, so that a large chain does not hold up other rooms."""
        if self.guard is not None:
            for fixes in self.guard.enforce_all_in_slices():
                self._count_corrections(fixes)
                yield

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.drop()
        if self.guard is not None:
            self.guard.close()

    def add(self, connection: Connection) -> None:
        """Join a client: it gets sync step 1 and everyone's awareness, then every update."""
        self.connections[connection] = None
        self._send(connection, protocol.create_sync_step1_message(self.doc.get_state()))
        self._send_states(connection)

    def remove(self, connection: Connection) -> None:
        self.connections.pop(connection, None)
        self._send_awareness(self.awareness.remove_owner(connection), publish=True)
        if self._presence is not None:
            self._presence(self, connection)

    def receive(
        self, connection: Connection, message: protocol.Message, placed: Placed | None = None
    ) -> None:
        """Handle one message from a client. Raises ProtocolError on content that does not
        decode or breaks a limit. `placed`: the update's nesting, checked in advance."""
        # Tests of type rather than a match on class patterns, which look up every attribute
        # they name: 2 % of a drag's instructions (bench/profile.md).
        if isinstance(message, SyncMessage):
            if message.kind == SYNC_STEP1:
                self._answer_step1(connection, message.payload)
            else:
                self._receive_update(connection, message.payload, placed)
        elif isinstance(message, AwarenessMessage):
            count, entries = protocol.read_awareness(message.payload)
            self.awareness.check_count(count)
            forward = self.awareness.apply(connection, entries, connection.user)
            if forward:
                self._send_awareness(forward, exclude=connection, publish=True)
                if self._presence is not None:
                    self._presence(self, connection)
            else:
                connection.relayed()
        elif isinstance(message, QueryAwarenessMessage):
            if connection.last_awareness_answer != self.awareness_version:
                connection.last_awareness_answer = self.awareness_version
                self._send_states(connection)
        # An AuthMessage: clients have nothing to tell the server here.

    def _answer_step1(self, connection: Connection, state: bytes) -> None:
        # One answer per state vector and document version: a repeated step 1 would only queue
        # the same bytes again.
        asked = (hash(state), self.version)
        if connection.last_step1 == asked:
            return
        connection.last_step1 = asked
        update = crdt_call(self.doc.get_update, state)
        self._send(connection, protocol.create_sync_step2_message(update))

    def _receive_update(self, connection: Connection, update: bytes, placed: Placed | None) -> None:
        if update == EMPTY_UPDATE:
            return
        if not connection.can_edit:
            self._metrics.refused_updates.inc()
            self._send(connection, protocol.permission_denied_message(READ_ONLY_REASON))
            return
        if placed is None or not self.nesting.still_holds(placed):
            placed = self.check_update(update)
        user = connection.identity.user_id
        writers = self._writers
        for struct in placed.structs:
            if writers.get(struct.client, user) != user:
                # Items under a scout's client id would make that scout's own next items look
                # known already: yrs would drop them silently.
                self._metrics.refused_updates.inc()
                raise ProtocolError("update writes under another user's client id")
        self._applying = (placed, update)
        guard = self.guard
        if guard is not None:
            guard.checked = placed.only_number_fields
        try:
            crdt_call(apply_update, self.doc, update)
        finally:
            self._applying = None
            if guard is not None:
                guard.checked = False
        basis = placed.basis
        for struct in placed.structs:
            if basis[struct.client] == 0:  # the client's first items here
                writers.setdefault(struct.client, user)
        if self.guard is not None:
            self._count_corrections(self.guard.enforce())

    def check_update(self, update: bytes) -> Placed:
        """Where a client's update would put its items; ProtocolError if it breaks a limit.
        Reads only: may run in another thread."""
        try:
            return self.nesting.check(update)
        except NestingError as error:
            self._metrics.refused_updates.inc()
            raise ProtocolError(str(error)) from None

    def edit(self, change: Callable[[Doc], None]) -> None:
        """A change made by the service itself: stored, broadcast, and held to the schema."""
        change(self.doc)
        if self.guard is not None:
            self._count_corrections(self.guard.enforce())

    def apply_remote(self, sender: bytes, kind: bytes, payload: bytes) -> None:
        """Apply what another process of the service published for this room."""
        if kind == fanout.UPDATE:
            self._remote = True
            try:
                crdt_call(apply_update, self.doc, payload)
            finally:
                self._remote = False
            if self.guard is not None:
                # Two valid edits made at once in two processes can break the schema together;
                # each process then corrects the same way, and the corrections converge.
                self._count_corrections(self.guard.enforce())
        elif kind == fanout.AWARENESS:
            for message in protocol.read_frame(payload):
                if isinstance(message, protocol.AwarenessMessage):
                    forward = self.awareness.apply(("node", sender), message.entries, None)
                    self._send_awareness(forward)
        elif kind == fanout.SYNC and self._publish is not None:
            # A peer (re)loaded this room: send it what it lacks, and our clients' presence.
            missing = crdt_call(self.doc.get_update, payload)
            if missing != EMPTY_UPDATE:
                self._publish(self.key, fanout.UPDATE, missing)
            local = self.awareness.current(owned_by=lambda owner: isinstance(owner, Connection))
            if local:
                self._publish(self.key, fanout.AWARENESS, protocol.encode_awareness(local))

    def request_sync(self) -> None:
        """Ask the other processes for whatever this room's document lacks."""
        if self._publish is not None:
            self._publish(self.key, fanout.SYNC, self.doc.get_state())

    def expire_awareness(self, timeout_s: float) -> None:
        self._send_awareness(self.awareness.expire(timeout_s), publish=True)
        # Clients drop a peer's state that is not renewed within their timeout.
        renew_after = timeout_s / 2
        if (
            self._service_state is not None
            and self.awareness.clock() - self._service_renewed_at >= renew_after
        ):
            self.set_service_state(self._service_state)

    def set_service_state(self, state: dict[str, Any] | None) -> None:
        """Publish the service's own awareness state in this room (None withdraws it)."""
        if state is None and self._service_state is None:
            return
        self._service_clock += 1
        self._service_state = state
        self._service_renewed_at = self.awareness.clock()
        entry = AwarenessEntry(self._service_client, self._service_clock, state)
        self._send_awareness(self.awareness.apply(SERVICE, [entry], None), publish=True)

    def broadcast(
        self, message: bytes, exclude: Connection | None = None, awareness: bool = False
    ) -> None:
        sent = 0
        frame = protocol.binary_frame(message)  # once for every receiver
        for connection in self.connections:
            if connection is exclude:
                continue
            # Connection.send's common case, inline: a call less per receiver.
            transport = connection.direct
            if transport is not None and not transport.is_closing():
                transport.write(frame)
            elif not connection.send(message, frame):
                continue
            sent += 1
            if awareness:
                connection.expect_relay()
        self._metrics.count_out(sent, len(message))

    def _send_states(self, connection: Connection) -> None:
        """Everyone's awareness, to one client."""
        states = self.awareness.current()
        if states and connection.send(message := protocol.encode_awareness(states)):
            connection.expect_relay()
            self._metrics.count_out(1, len(message))

    def _send(self, connection: Connection, message: bytes) -> None:
        if connection.send(message):
            self._metrics.count_out(1, len(message))

    def close_all(self, code: int, reason: str) -> None:
        for connection in list(self.connections):
            connection.close(code, reason)

    def _send_awareness(
        self,
        entries: list[AwarenessEntry],
        exclude: Connection | None = None,
        publish: bool = False,
    ) -> None:
        if not entries:
            return
        self.awareness_version += 1
        message = protocol.encode_awareness(entries)
        self.broadcast(message, exclude, awareness=True)
        if publish and self._publish is not None:
            self._publish(self.key, fanout.AWARENESS, message)

    def _on_change(self, event: TransactionEvent) -> None:
        try:
            self.version += 1
            if self._applying is not None:
                placed, update = self._applying
                self.nesting.add(placed)  # read once already, when it was checked
                # Taken whole, the client's update is what changed: yrs need not encode it
                # again (a third of an apply). Else only what the document did not have goes on.
                if not placed.all_new:
                    update = event.update
            else:
                update = event.update
                try:
                    self.nesting.record(update)
                except NestingError:
                    log.exception("room %s: could not index an update the document took", self.key)
            if not self._remote:
                if self._store_update is not None:
                    self._store_update(self.key, update)
                if self._publish is not None:
                    self._publish(self.key, fanout.UPDATE, update)
            self.broadcast(protocol.create_update_message(update))
            if self._changed is not None:
                self._changed(self, not self._remote)
        except Exception as error:
            # Raised when the transaction ends, after the other observers, as pycrdt does.
            self.doc._exceptions.append(error)

    def _count_corrections(self, count: int) -> None:
        if count:
            self._metrics.schema_corrections.inc(count)
            log.info("room %s: corrected %d schema violation(s)", self.key, count)
