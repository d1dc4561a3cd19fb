"""Shortest paths over stargates and a chain's connections (breadth first: every jump counts
the same)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping


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
    connections: Mapping[str, object], *, avoid_eol: bool, avoid_critical: bool
) -> dict[int, set[int]]:
    """Adjacency from a chain document's `connections` (section 5 JSON)."""
    links: dict[int, set[int]] = {}
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
        links.setdefault(int(a), set()).add(int(b))
        links.setdefault(int(b), set()).add(int(a))
    return links


def add_links(links: dict[int, set[int]], pairs: Iterable[tuple[int, int]]) -> None:
    """Join more systems both ways, such as EVE-Scout's Thera and Turnur connections."""
    for a, b in pairs:
        links.setdefault(a, set()).add(b)
        links.setdefault(b, set()).add(a)
