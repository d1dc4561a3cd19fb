"""Snapshots, restore, diff, the audit log (contract section 7) and `verify`.

Service admins reach a deleted chain's snapshots and audit log, and restoring one of them
undeletes the chain.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mapper.api.chains import authorize, service_of
from mapper.api.edge import NO_SNAPSHOT, EdgeRoute, json_body
from mapper.api.errors import ApiError
from mapper.api.identity import caller
from mapper.chains.diff import content_diff
from mapper.chains.schema import document_json
from mapper.core import roles
from mapper.persistence.folding import load_document
from mapper.persistence.records import SnapshotInfo

MAX_LABEL_CHARS = 100


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
    _, chain, _ = await authorize(request, roles.OWNER, deleted=True)
    snapshots = await service_of(request).store.list_snapshots(chain.id)
    return JSONResponse({"items": [snapshot_json(snapshot) for snapshot in snapshots]})


async def create_snapshot(request: Request) -> Response:
    identity, chain, _ = await authorize(request, roles.OWNER)
    label = json_body(request).get("label")
    if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL_CHARS):
        raise ApiError(422, f"'label' must be a string of at most {MAX_LABEL_CHARS} characters")
    snapshot = await service_of(request).take_snapshot(
        chain.id, reason="manual", actor=identity.user_id, label=label
    )
    return JSONResponse(snapshot_json(snapshot), status_code=201)


async def _snapshot_content(request: Request, chain_id: str) -> dict[str, Any]:
    state = await service_of(request).store.snapshot_state(chain_id, _snapshot_id(request))
    if state is None:
        raise ApiError(404, NO_SNAPSHOT)
    return document_json(await load_document([state]))


async def get_snapshot(request: Request) -> Response:
    _, chain, _ = await authorize(request, roles.OWNER, deleted=True)
    return JSONResponse(await _snapshot_content(request, chain.id))


async def diff_snapshot(request: Request) -> Response:
    """What restoring the snapshot would add, remove and change in the chain as it is now."""
    _, chain, _ = await authorize(request, roles.OWNER, deleted=True)
    target = await _snapshot_content(request, chain.id)
    current = await service_of(request).chain_content(chain.id)
    return JSONResponse({"snapshotId": _snapshot_id(request), **content_diff(current, target)})


async def delete_snapshot(request: Request) -> Response:
    identity, chain, _ = await authorize(request, roles.OWNER, deleted=True)
    store = service_of(request).store
    if not await store.delete_snapshot(chain.id, _snapshot_id(request), identity.user_id):
        raise ApiError(404, NO_SNAPSHOT)
    return Response(status_code=204)


async def restore_snapshot(request: Request) -> Response:
    identity, chain, _ = await authorize(request, roles.OWNER, deleted=True)
    try:
        before = await service_of(request).restore(
            chain.id, _snapshot_id(request), identity.user_id
        )
    except LookupError:
        raise ApiError(404, NO_SNAPSHOT) from None
    return JSONResponse({"preRestoreSnapshotId": before.id})


async def audit(request: Request) -> Response:
    _, chain, _ = await authorize(request, roles.OWNER, deleted=True)
    entries = await service_of(request).store.list_audit(chain.id)
    items = [
        {"at": entry.at, "actor": entry.actor, "action": entry.action, "detail": entry.detail}
        for entry in entries
    ]
    return JSONResponse({"items": items})


async def verify(request: Request) -> Response:
    """Rebuild the chain from the database alone and compare it with its live room."""
    identity = await caller(request)
    if not identity.admin:
        raise ApiError(403, "verify is for service admins")
    _, chain, _ = await authorize(request, roles.OWNER)
    return JSONResponse(await service_of(request).verify(chain.id))


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
