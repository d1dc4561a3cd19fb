"""What webhook notifications cost a room's hot path: microseconds per change (the median over
chunks of 100, the best of 5 rounds) of a drag and of a connection field set, made in a chain
room with its schema guard, in three set-ups: no notifier hook, the notifier's hook for a chain
without a webhook (one dict lookup), and a chain with a webhook (its observers note the touched
keys).

    python -m bench.notifier [--updates 2000] [--systems 100]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable

from pycrdt import Doc, Map

from mapper.chains.notifier import Notifier
from mapper.chains.schema import SchemaGuard, new_chain_update
from mapper.chains.webhooks import Webhook
from mapper.core.clock import SystemClock
from mapper.core.metrics import Metrics
from mapper.core.tasks import Tasks
from mapper.persistence.database import create_engine
from mapper.persistence.store import Store
from mapper.rooms.room import Changed, Room
from mapper.universe.index import Universe

CHUNK = 100
ROUNDS = 5
WEBHOOK = Webhook("https://discord.com/api/webhooks/1/x", "discord", frozenset({5}), frozenset())


def chain_room(systems: int, changed: Changed | None) -> Room:
    seed: Doc = Doc()
    seed.apply_update(new_chain_update("bench"))
    nodes = seed.get("systems", type=Map)
    links = seed.get("connections", type=Map)
    with seed.transaction():
        for n in range(1, systems + 1):
            nodes[str(n)] = Map({"id": n, "x": 1, "y": 2, "status": "unknown"})
        for n in range(1, systems):
            links[f"{n}-{n + 1}"] = Map({"a": n, "b": n + 1, "mass": "fresh", "eol": False})
    room = Room(
        "bench",
        clock=SystemClock(),
        metrics=Metrics(),
        store_update=None,
        make_guard=SchemaGuard,
        changed=changed,
    )
    room.load([seed.get_update()])
    room.guard = SchemaGuard(room.doc)
    return room


def measure(room: Room, updates: int) -> dict[str, float]:
    edits: dict[str, Callable[[Doc, int], None]] = {
        "drag": lambda doc, n: doc.get("systems", type=Map)["1"].__setitem__("x", n),
        "connection field": lambda doc, n: doc.get("connections", type=Map)["1-2"].__setitem__(
            "eol", n % 2 == 0
        ),
    }
    figures = {}
    for name, edit in edits.items():
        chunks = []
        for start in range(0, updates, CHUNK):
            began = time.perf_counter()
            for n in range(start, start + CHUNK):
                room.edit(lambda doc, n=n, edit=edit: edit(doc, n))
            chunks.append((time.perf_counter() - began) / CHUNK * 1e6)
        figures[name] = statistics.median(chunks)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--systems", type=int, default=100)
    args = parser.parse_args()
    # Never connected: the hooks measured here touch neither the store nor static data.
    engine = create_engine(f"sqlite+aiosqlite:///{tempfile.gettempdir()}/bench-notifier.db")
    notifier = Notifier(
        Store(engine),
        Universe(engine, SystemClock()),
        lambda key: None,
        clock=SystemClock(),
        tasks=Tasks(),
    )
    bare = chain_room(args.systems, None)
    without = chain_room(args.systems, notifier.changed)
    watched = chain_room(args.systems, notifier.changed)
    notifier._watch(watched, WEBHOOK)
    rooms = {"no hook": bare, "hook, no webhook": without, "hook, webhook": watched}
    # Rounds in turn, the best of each: a shared machine's noise is larger than the difference.
    best: dict[str, dict[str, float]] = {}
    for _ in range(ROUNDS):
        for label, room in rooms.items():
            kept = best.setdefault(label, {})
            for name, value in measure(room, args.updates).items():
                kept[name] = min(value, kept.get(name, value))
    for label, figures in best.items():
        shown = ", ".join(f"{name} {value:.1f} us" for name, value in figures.items())
        print(f"{label:18} {shown}")


if __name__ == "__main__":
    main()
