"""Snapshots, restore and the audit log (contract section 7)."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mapper import access
from mapper.api.chains import authorize, service_of
from mapper.api.errors import ApiError, json_body
from mapper.schema import document_json
from persistence.records import SnapshotInfo

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
    raw = request.path_params["snapshot_id"]
    if not raw.isdigit():
        raise ApiError(404, f"no snapshot {raw!r}")
    return int(raw)


async def list_snapshots(request: Request) -> Response:
    _, chain, _ = await authorize(request, access.OWNER)
    snapshots = await service_of(request).store.list_snapshots(chain.id)
    return JSONResponse({"items": [snapshot_json(snapshot) for snapshot in snapshots]})


async def create_snapshot(request: Request) -> Response:
    identity, chain, _ = await authorize(request, access.OWNER)
    label = (await json_body(request)).get("label")
    if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL_CHARS):
        raise ApiError(422, f"'label' must be a string of at most {MAX_LABEL_CHARS} characters")
    snapshot = await service_of(request).take_snapshot(
        chain.id, reason="manual", actor=identity.user_id, label=label
    )
    return JSONResponse(snapshot_json(snapshot), status_code=201)


async def get_snapshot(request: Request) -> Response:
    _, chain, _ = await authorize(request, access.OWNER)
    state = await service_of(request).store.snapshot_state(chain.id, _snapshot_id(request))
    if state is None:
        raise ApiError(404, "no such snapshot of this chain")
    doc: Doc = Doc()
    doc.apply_update(state)
    return JSONResponse(document_json(doc))


async def restore_snapshot(request: Request) -> Response:
    identity, chain, _ = await authorize(request, access.OWNER)
    try:
        before = await service_of(request).restore(
            chain.id, _snapshot_id(request), identity.user_id
        )
    except LookupError:
        raise ApiError(404, "no such snapshot of this chain") from None
    return JSONResponse({"preRestoreSnapshotId": before.id})


async def audit(request: Request) -> Response:
    _, chain, _ = await authorize(request, access.OWNER)
    entries = await service_of(request).store.list_audit(chain.id)
    items = [
        {"at": entry.at, "actor": entry.actor, "action": entry.action, "detail": entry.detail}
        for entry in entries
    ]
    return JSONResponse({"items": items})


routes = [
    Route("/api/chains/{chain_id}/snapshots", list_snapshots, methods=["GET"]),
    Route("/api/chains/{chain_id}/snapshots", create_snapshot, methods=["POST"]),
    Route("/api/chains/{chain_id}/snapshots/{snapshot_id}", get_snapshot, methods=["GET"]),
    Route(
        "/api/chains/{chain_id}/snapshots/{snapshot_id}/restore", restore_snapshot, methods=["POST"]
    ),
    Route("/api/chains/{chain_id}/audit", audit, methods=["GET"]),
]
