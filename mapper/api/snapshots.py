"""Snapshots, restore, diff, the audit log (contract section 7) and `verify`: the HTTP form of
`mapper.chains.snapshots`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mapper.api.chains import chain_id_of, service_of
from mapper.api.edge import EdgeRoute, json_body
from mapper.api.identity import caller
from mapper.persistence.records import SnapshotInfo


def snapshot_json(snapshot: SnapshotInfo) -> dict[str, Any]:
    return {
        "id": snapshot.id,
        "createdAt": snapshot.created_at,
        "reason": snapshot.reason,
        "label": snapshot.label,
        "createdBy": snapshot.created_by,
        "bytes": snapshot.bytes,
        "counts": snapshot.counts,
    }


def _snapshot_id(request: Request) -> int:
    snapshot_id: int = request.path_params["snapshot_id"]  # the edge made it an int
    return snapshot_id


async def list_snapshots(request: Request) -> Response:
    identity = await caller(request)
    snapshots = await service_of(request).snapshots.of_chain(identity, chain_id_of(request))
    return JSONResponse({"items": [snapshot_json(snapshot) for snapshot in snapshots]})


async def create_snapshot(request: Request) -> Response:
    identity = await caller(request)
    snapshot = await service_of(request).snapshots.create(
        identity, chain_id_of(request), json_body(request).get("label")
    )
    return JSONResponse(snapshot_json(snapshot), status_code=201)


async def get_snapshot(request: Request) -> Response:
    identity = await caller(request)
    content = await service_of(request).snapshots.content(
        identity, chain_id_of(request), _snapshot_id(request)
    )
    return JSONResponse(content)


async def diff_snapshot(request: Request) -> Response:
    """What restoring the snapshot would add, remove and change in the chain as it is now."""
    identity = await caller(request)
    snapshot_id = _snapshot_id(request)
    diff = await service_of(request).snapshots.diff(identity, chain_id_of(request), snapshot_id)
    return JSONResponse({"snapshotId": snapshot_id, **diff})


async def delete_snapshot(request: Request) -> Response:
    identity = await caller(request)
    await service_of(request).snapshots.delete(
        identity, chain_id_of(request), _snapshot_id(request)
    )
    return Response(status_code=204)


async def restore_snapshot(request: Request) -> Response:
    identity = await caller(request)
    before = await service_of(request).snapshots.restore(
        identity, chain_id_of(request), _snapshot_id(request)
    )
    return JSONResponse({"preRestoreSnapshotId": before.id})


async def audit(request: Request) -> Response:
    identity = await caller(request)
    entries = await service_of(request).chains.audit(identity, chain_id_of(request))
    items = [
        {"at": entry.at, "actor": entry.actor, "action": entry.action, "detail": entry.detail}
        for entry in entries
    ]
    return JSONResponse({"items": items})


async def verify(request: Request) -> Response:
    """Rebuild the chain from the database alone and compare it with its live room."""
    identity = await caller(request)
    return JSONResponse(await service_of(request).snapshots.verify(identity, chain_id_of(request)))


_SNAPSHOT = "/api/chains/{chain_id}/snapshots/{snapshot_id}"

routes = [
    EdgeRoute("/api/chains/{chain_id}/snapshots", list_snapshots, "GET"),
    EdgeRoute("/api/chains/{chain_id}/snapshots", create_snapshot, "POST"),
    EdgeRoute(_SNAPSHOT, get_snapshot, "GET"),
    EdgeRoute(_SNAPSHOT, delete_snapshot, "DELETE"),
    EdgeRoute(f"{_SNAPSHOT}/diff", diff_snapshot, "GET"),
    EdgeRoute(f"{_SNAPSHOT}/restore", restore_snapshot, "POST"),
    EdgeRoute("/api/chains/{chain_id}/audit", audit, "GET"),
    EdgeRoute("/api/chains/{chain_id}/verify", verify, "GET"),
]
