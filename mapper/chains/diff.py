"""What changes between two contents of a chain (section 5 JSON): the entries one has that
the other lacks, and the fields that differ. Restore previews and `mapper verify` use it."""

from __future__ import annotations

from typing import Any

from mapper.chains.schema import ROOTS

ENTRY_ROOTS = ROOTS[1:]  # systems, connections, signatures


def content_diff(current: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """What turning `current` into `target` adds, removes and changes, per root.

    `{"meta": {field: {"current", "target"}}, "systems": {"added": [{key, value}],
    "removed": [{key, value}], "changed": [{key, fields: {field: {"current", "target"}}}]},
    ...}`; keys sorted, so the answer is stable.
    """
    diff: dict[str, Any] = {"meta": _field_changes(current.get("meta"), target.get("meta"))}
    for root in ENTRY_ROOTS:
        now: dict[str, Any] = current.get(root) or {}
        then: dict[str, Any] = target.get(root) or {}
        diff[root] = {
            "added": [{"key": key, "value": then[key]} for key in sorted(then.keys() - now)],
            "removed": [{"key": key, "value": now[key]} for key in sorted(now.keys() - then)],
            "changed": [
                {"key": key, "fields": fields}
                for key in sorted(now.keys() & then.keys())
                if (fields := _field_changes(now[key], then[key]))
            ],
        }
    return diff


def is_empty(diff: dict[str, Any]) -> bool:
    return not diff["meta"] and not any(
        diff[root][part] for root in ENTRY_ROOTS for part in ("added", "removed", "changed")
    )


def _field_changes(current: Any, target: Any) -> dict[str, Any]:
    if not isinstance(current, dict) or not isinstance(target, dict):
        return {} if current == target else {"": {"current": current, "target": target}}
    return {
        field: {"current": current.get(field), "target": target.get(field)}
        for field in sorted(current.keys() | target.keys())
        if current.get(field) != target.get(field)
    }
