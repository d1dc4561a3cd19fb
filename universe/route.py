"""Shortest paths over stargates and other connections (breadth first: every jump counts
the same). Connections other than stargates come in as `Link`s: a chain's connections
(`chain_links`), and any other source of wormholes a route may use, joined by `adjacency`."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

# Ship sizes, smallest first (contract section 5 `size`, section 8 `minSize`).
SIZES = ("small", "medium", "large", "xlarge", "capital")


class Link(NamedTuple):
    a: int
    b: int
    size: str | None  # the biggest ship it lets through, when known


def shortest_path(
    start: int,
    goal: int,
    neighbours: Callable[[int], Iterable[int]],
    allowed: Callable[[int], bool] = lambda system: True,
) -> list[int] | None:
    """The systems from `start` to `goal`, both included, or None. `allowed` filters the
    systems passed through (never the two ends)."""
    if start == goal:
        return [start]
    came_from: dict[int, int] = {start: start}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for step in neighbours(current):
            if step in came_from or (step != goal and not allowed(step)):
                continue
            came_from[step] = current
            if step == goal:
                path = [goal]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return path[::-1]
            queue.append(step)
    return None


def chain_links(
    connections: Mapping[str, object],
    *,
    avoid_eol: bool,
    avoid_critical: bool,
    sizes: Mapping[str, str],
) -> list[Link]:
    """The usable connections of a chain document's `connections` (section 5 JSON). A
    connection's size is its own `size`, else its wormhole type's (`sizes`: code to size)."""
    links = []
    for connection in connections.values():
        if not isinstance(connection, dict):
            continue
        a, b = connection.get("a"), connection.get("b")
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            continue
        if avoid_eol and connection.get("eol") is True:
            continue
        if avoid_critical and connection.get("mass") == "critical":
            continue
        size = connection.get("size")
        if size not in SIZES:
            wh_type = connection.get("whType")
            size = sizes.get(wh_type) if isinstance(wh_type, str) else None
        links.append(Link(int(a), int(b), size))
    return links


def adjacency(links: Iterable[Link], *, min_size: str | None = None) -> dict[int, set[int]]:
    """Both directions of each link; with `min_size`, links known to be smaller are left
    out (a link of unknown size stays: the pilot can look)."""
    floor = SIZES.index(min_size) if min_size in SIZES else 0
    joined: dict[int, set[int]] = {}
    for link in links:
        if link.size in SIZES and SIZES.index(link.size) < floor:
            continue
        joined.setdefault(link.a, set()).add(link.b)
        joined.setdefault(link.b, set()).add(link.a)
    return joined
