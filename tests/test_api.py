"""The HTTP API (contract sections 1 and 3) against a real `mapper serve`."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.server import MapperServer


def call(
    server: MapperServer, method: str, path: str, token: str | None, **kwargs: object
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, f"{server.http}{path}", headers=headers, **kwargs)  # type: ignore[arg-type]


def assert_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str)


def test_chain_lifecycle(server: MapperServer) -> None:
    owner = server.token("owner", name="Owner")
    created = call(server, "POST", "/api/chains", owner, json={"name": "  Home  "})
    assert created.status_code == 201
    chain = created.json()
    assert chain["name"] == "Home" and chain["role"] == "owner" and chain["createdBy"] == "owner"
    chain_id = chain["id"]

    assert [c["id"] for c in call(server, "GET", "/api/chains", owner).json()["items"]] == [
        chain_id
    ]
    assert call(server, "GET", "/api/chains", server.token("nobody")).json() == {"items": []}
    admin_view = call(server, "GET", f"/api/chains/{chain_id}", server.token("root", admin=True))
    assert admin_view.json()["role"] == "owner"

    document = call(server, "GET", f"/api/chains/{chain_id}/document", owner).json()
    assert document["meta"]["name"] == "Home" and document["meta"]["schema"] == 1
    assert document["systems"] == {} and document["connections"] == {}
    assert document["signatures"] == {}

    assert call(server, "DELETE", f"/api/chains/{chain_id}", owner).status_code == 204
    assert_error(call(server, "GET", f"/api/chains/{chain_id}", owner), 404)
    assert call(server, "GET", "/api/chains", owner).json() == {"items": []}


def test_members_and_roles(server: MapperServer) -> None:
    owner = server.token("owner")
    chain_id = call(server, "POST", "/api/chains", owner, json={"name": "C"}).json()["id"]
    corp_member = server.token("pilot", groups=["corp:98000001"])
    assert_error(call(server, "GET", f"/api/chains/{chain_id}", corp_member), 404)

    put = call(
        server,
        "PUT",
        f"/api/chains/{chain_id}/members/corp:98000001",
        owner,
        json={"role": "viewer"},
    )
    assert put.status_code == 200 and put.json() == {"member": "corp:98000001", "role": "viewer"}
    assert call(server, "GET", f"/api/chains/{chain_id}", corp_member).json()["role"] == "viewer"
    # The strongest role that applies wins.
    call(
        server, "PUT", f"/api/chains/{chain_id}/members/user:pilot", owner, json={"role": "editor"}
    )
    assert call(server, "GET", f"/api/chains/{chain_id}", corp_member).json()["role"] == "editor"
    # Editors may not manage members.
    editor_try = call(
        server, "PUT", f"/api/chains/{chain_id}/members/user:x", corp_member, json={"role": "owner"}
    )
    assert_error(editor_try, 403)
    assert_error(call(server, "DELETE", f"/api/chains/{chain_id}", corp_member), 403)
    members = call(server, "GET", f"/api/chains/{chain_id}/members", owner).json()["items"]
    assert {m["member"]: m["role"] for m in members} == {
        "corp:98000001": "viewer",
        "user:owner": "owner",
        "user:pilot": "editor",
    }
    assert (
        call(server, "DELETE", f"/api/chains/{chain_id}/members/user:pilot", owner).status_code
        == 204
    )
    assert call(server, "GET", f"/api/chains/{chain_id}", corp_member).json()["role"] == "viewer"
    assert_error(call(server, "DELETE", f"/api/chains/{chain_id}/members/user:owner", owner), 409)


async def test_owners_leaving_at_once_leave_one_owner(server: MapperServer) -> None:
    """Every owner revokes their own membership at once. Each revocation checks that an owner
    stays, and writes its audit entry, in the transaction that removes the member: one of them
    must be refused, and the audit log holds exactly the revocations that happened."""
    owner = server.token("owner0")
    chain_id = call(server, "POST", "/api/chains", owner, json={"name": "C"}).json()["id"]
    owners = [f"owner{n}" for n in range(4)]
    for user in owners[1:]:
        path = f"/api/chains/{chain_id}/members/user:{user}"
        assert call(server, "PUT", path, owner, json={"role": "owner"}).status_code == 200
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.delete(
                    f"/api/chains/{chain_id}/members/user:{user}",
                    headers={"Authorization": f"Bearer {server.token(user)}"},
                )
                for user in owners
            )
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [204, 204, 204, 409], [response.text for response in responses]
    admin = server.token("root", admin=True)
    members = call(server, "GET", f"/api/chains/{chain_id}/members", admin).json()["items"]
    assert [member["role"] for member in members] == ["owner"]
    audit = call(server, "GET", f"/api/chains/{chain_id}/audit", admin).json()["items"]
    assert [entry["action"] for entry in audit].count("revoke") == 3


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 422),
        (b'{"name": ""}', 422),
        (b'{"name": 42}', 422),
        (b'{"name": "' + b"x" * 101 + b'"}', 422),
        (b'{"name": "' + b"x" * 70000 + b'"}', 413),
    ],
)
def test_bad_bodies(sqlite_server: MapperServer, body: bytes, status: int) -> None:
    token = sqlite_server.token("u")
    assert_error(call(sqlite_server, "POST", "/api/chains", token, content=body), status)


def test_bad_member_input(sqlite_server: MapperServer) -> None:
    owner = sqlite_server.token("owner")
    chain_id = call(sqlite_server, "POST", "/api/chains", owner, json={"name": "C"}).json()["id"]
    path = f"/api/chains/{chain_id}/members"
    assert_error(
        call(sqlite_server, "PUT", f"{path}/corp:abc", owner, json={"role": "viewer"}), 422
    )
    assert_error(call(sqlite_server, "PUT", f"{path}/user:x", owner, json={"role": "god"}), 422)
    assert_error(call(sqlite_server, "DELETE", f"{path}/user:nobody", owner), 404)


@pytest.mark.parametrize(
    "token", [None, "garbage", "Basic abc"], ids=["missing", "garbage", "wrong-scheme"]
)
def test_unauthenticated(sqlite_server: MapperServer, token: str | None) -> None:
    headers = {"Authorization": token} if token and " " in token else {}
    if token == "garbage":
        headers = {"Authorization": "Bearer garbage"}
    response = httpx.get(f"{sqlite_server.http}/api/chains", headers=headers)
    assert_error(response, 401)


def test_expired_token(sqlite_server: MapperServer) -> None:
    expired = sqlite_server.token("u", ttl_s=-120)
    assert_error(call(sqlite_server, "GET", "/api/chains", expired), 401)


def test_unknown_route_is_json(sqlite_server: MapperServer) -> None:
    assert_error(call(sqlite_server, "GET", "/api/nothing-here", None), 404)


def test_health_and_metrics(sqlite_server: MapperServer) -> None:
    assert httpx.get(f"{sqlite_server.http}/healthz").json()["status"] == "ok"
    ready = httpx.get(f"{sqlite_server.http}/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] is True and ready.json()["staticData"] is True
    assert_error(call(sqlite_server, "GET", "/metrics", None), 401)
    assert_error(call(sqlite_server, "GET", "/metrics", sqlite_server.token("u")), 403)
    metrics = call(sqlite_server, "GET", "/metrics", sqlite_server.token("a", admin=True))
    assert metrics.status_code == 200
    for name in (
        "mapper_rooms",
        "mapper_connections",
        "mapper_messages_in_total",
        "mapper_flush_seconds_bucket",
        "mapper_queue_overflows_total",
        "mapper_refused_updates_total",
    ):
        assert name in metrics.text
