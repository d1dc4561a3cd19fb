"""A realistic, schema-valid chain document built the way scouts build one: many small edits.

Used by the snapshot benchmark; importable on its own to measure document costs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from pycrdt import Doc, Map, Text

FIRST_SYSTEM = 31_000_001
SIGNATURE_GROUPS = ("wormhole", "combat", "data", "relic", "gas", "ore", "unknown")


def system_entry(system_id: int, rng: random.Random, now: int) -> Map:
    return Map(
        {
            "id": system_id,
            "x": rng.uniform(0, 4000),
            "y": rng.uniform(0, 3000),
            "alias": f"A{system_id % 1000}",
            "status": "unknown",
            "locked": False,
            "notes": Text(""),
            "addedAt": now,
            "addedBy": "scout-1",
        }
    )


def connection_entry(a: int, b: int, now: int) -> Map:
    return Map(
        {
            "a": a,
            "b": b,
            "kind": "wormhole",
            "whType": "B274",
            "mass": "fresh",
            "eol": False,
            "eolAt": None,
            "size": "large",
            "createdAt": now,
            "updatedAt": now,
        }
    )


def signature_entry(system_id: int, sig: str, rng: random.Random, now: int) -> Map:
    return Map(
        {
            "system": system_id,
            "sig": sig,
            "group": rng.choice(SIGNATURE_GROUPS),
            "type": "",
            "name": "",
            "connection": "",
            "createdAt": now,
            "updatedAt": now,
            "by": "scout-1",
        }
    )


def build_chain(
    doc: Doc,
    *,
    systems: int = 500,
    connections: int = 600,
    signatures: int = 5000,
    edits: int = 200_000,
    seed: int = 1,
) -> Iterator[bytes]:
    """Fill `doc` with one update per scout action, yielding each update as it is made.

    First the content is created (one transaction a system, connection or signature), then
    `edits` minus that many small changes follow: moves, mass and end-of-life changes,
    signature scans and note typing, the mix of a long-lived chain.
    """
    rng = random.Random(seed)
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    now = 1_760_000_000_000
    meta = doc.get("meta", type=Map)
    system_map = doc.get("systems", type=Map)
    connection_map = doc.get("connections", type=Map)
    signature_map = doc.get("signatures", type=Map)

    def drain() -> Iterator[bytes]:
        yield from updates
        updates.clear()

    with doc.transaction():
        meta["schema"] = 1
        meta["name"] = "Benchmark chain"
    yield from drain()
    ids = [FIRST_SYSTEM + index for index in range(systems)]
    for system_id in ids:
        with doc.transaction():
            system_map[str(system_id)] = system_entry(system_id, rng, now)
        yield from drain()
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < connections:
        a, b = sorted(rng.sample(ids, 2))
        pairs.add((a, b))
    connection_keys = []
    for a, b in sorted(pairs):
        key = f"{a}-{b}"
        connection_keys.append(key)
        with doc.transaction():
            connection_map[key] = connection_entry(a, b, now)
        yield from drain()
    signature_keys = []
    for index in range(signatures):
        system_id = ids[index % systems]
        sig = f"{chr(65 + index % 26)}{chr(65 + index // 26 % 26)}{chr(65 + index // 676 % 26)}-"
        sig += f"{index % 1000:03d}"
        key = f"{system_id}:{sig}"
        signature_keys.append(key)
        with doc.transaction():
            signature_map[key] = signature_entry(system_id, sig, rng, now)
        yield from drain()
    created = 1 + systems + connections + signatures
    for step in range(max(0, edits - created)):
        now += 1000
        roll = rng.random()
        with doc.transaction():
            if roll < 0.4:
                entry = system_map[str(rng.choice(ids))]
                entry["x"] = rng.uniform(0, 4000)
                entry["y"] = rng.uniform(0, 3000)
            elif roll < 0.6:
                entry = connection_map[rng.choice(connection_keys)]
                entry["mass"] = rng.choice(("fresh", "reduced", "critical"))
                entry["eol"] = rng.random() < 0.3
                entry["updatedAt"] = now
            elif roll < 0.9:
                entry = signature_map[rng.choice(signature_keys)]
                entry["name"] = rng.choice(("", "Unstable Wormhole", "Ruined Guristas Site"))
                entry["updatedAt"] = now
            else:
                notes = system_map[str(rng.choice(ids))]["notes"]
                if len(notes) > 200:
                    del notes[0:50]
                notes += f"note {step} "
        yield from drain()
    doc.unobserve(subscription)
