"""The schema guard's cost per client update, on the room's hot path: apply the update to
the server document, then `SchemaGuard.enforce()`. Prints microseconds per update (the median
over chunks of 100) for the
common edits (a drag, a connection field) and the rarer ones (a new connection, a jump
appended to a connection's `jumps`, and a jump once `jumps` holds its 200).

    python -m bench.schema_guard [--updates 2000] [--systems 100]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from pycrdt import Array, Doc, Map, Text

from bench.chain_content import connection_entry
from mapper.chains.schema import SchemaGuard, new_chain_update

CHUNK = 100
CREATED_AT = 1_700_000_000_000
JUMP = {"at": 1.7e12, "characterId": 90000001, "shipTypeId": 587, "mass": 1067000.0}


def measure(systems: int, updates: int) -> dict[str, float]:
    server: Doc = Doc()
    server.apply_update(new_chain_update("bench"))
    guard = SchemaGuard(server)
    client: Doc = Doc()
    client.apply_update(server.get_update())
    nodes = client.get("systems", type=Map)
    links = client.get("connections", type=Map)
    with client.transaction():
        for n in range(1, systems + 1):
            nodes[str(n)] = Map({"id": n, "x": 1, "y": 2, "status": "unknown", "notes": Text()})
        for n in range(1, systems):
            links[f"{n}-{n + 1}"] = connection_entry(n, n + 1, CREATED_AT)
        links["1-2"]["jumps"] = Array([])
        links["2-3"]["jumps"] = Array([JUMP] * 200)
    server.apply_update(client.get_update())
    guard.enforce()

    edits: dict[str, Callable[[int], None]] = {
        "drag a system": lambda n: nodes["5"].__setitem__("x", n),
        "set a connection field": lambda n: links["5-6"].__setitem__(
            "mass", ("fresh", "reduced")[n % 2]
        ),
        "set whSide": lambda n: links["5-6"].__setitem__("whSide", ("a", "b")[n % 2]),
        # Replaces the connections from system 10 on, leaving the ones with jumps alone.
        "new connection": lambda n: links.__setitem__(
            f"{n % (systems - 10) + 10}-{n % (systems - 10) + 11}",
            connection_entry(1, 2, CREATED_AT),
        ),
        "append a jump": lambda n: links["1-2"]["jumps"].append({**JUMP, "at": n}),
        "append a jump to 200": lambda n: links["2-3"]["jumps"].append({**JUMP, "at": n}),
    }
    results = {}
    for name, edit in edits.items():
        made = []
        for n in range(updates):
            before = client.get_state()
            with client.transaction():
                edit(n)
            made.append(client.get_update(before))
            # The client hears the guard's corrections, as a real one would.
            client.apply_update(server.get_update(client.get_state()))
        # The median of chunks of 100 updates: the machine's other load shows as outliers.
        chunks = []
        for start in range(0, updates, CHUNK):
            started = time.perf_counter()
            for update in made[start : start + CHUNK]:
                server.apply_update(update)
                guard.enforce()
            chunks.append((time.perf_counter() - started) / len(made[start : start + CHUNK]))
        results[name] = statistics.median(chunks) * 1e6
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--systems", type=int, default=100)
    args = parser.parse_args()
    for name, micros in measure(args.systems, args.updates).items():
        print(f"{name:24} {micros:8.1f} us per update (apply + check)")


if __name__ == "__main__":
    main()
