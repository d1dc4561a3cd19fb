"""Hostile input at the edge (issue 11, items 6 and 8) against a real `mapper serve`.

Each attack must get a 4xx in the JSON error shape, never a 500 or a stack trace, on SQLite
and on Postgres; websockets to a chain the caller cannot see close with 4404, whether the
chain id is malformed, unknown, or belongs to someone else's chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from mapper.auth import BuiltinIssuer
from tests.chains import auth, create_chain
from tests.server import MapperServer
from tests.wire import WireClient

SNAPSHOT_IDS = ["%C2%B2", "%D9%A1", "9" * 25, "9" * 5000, "-1", "+1", "1e3", "0x1", "%201"]
CONTRACT_STATUSES = {400, 401, 403, 404, 409, 413, 422, 429}
DEEP = 30_000


def call(server: MapperServer, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{server.http}{path}", headers=auth(token), **kwargs)


def problems(response: httpx.Response, status: int) -> Iterator[str]:
    """What is wrong with `response` as a `status` error in the contract's JSON shape."""
    where = f"{response.request.method} {str(response.request.url)[:120]}"
    if response.status_code != status:
        yield f"{where}: {response.status_code} (wanted {status}): {response.text[:200]}"
        return
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        yield f"{where}: not the JSON error shape: {response.text[:200]}"
        return
    if not (isinstance(error.get("code"), str) and isinstance(error.get("message"), str)):
        yield f"{where}: error without code and message: {error}"


def check(cases: list[tuple[httpx.Response, int]]) -> None:
    found = [problem for response, status in cases for problem in problems(response, status)]
    assert not found, "\n".join(found)


@pytest.fixture
def owned(server: MapperServer) -> tuple[str, str]:
    """An owner's token and their chain."""
    token = server.token("owner")
    return token, create_chain(server, token)


def test_malformed_snapshot_ids_are_404(server: MapperServer, owned: tuple[str, str]) -> None:
    token, chain = owned
    base = f"/api/chains/{chain}/snapshots"
    cases = []
    for raw in SNAPSHOT_IDS:
        cases += [
            (call(server, "GET", f"{base}/{raw}", token), 404),
            (call(server, "GET", f"{base}/{raw}/diff", token), 404),
            (call(server, "POST", f"{base}/{raw}/restore", token), 404),
            (call(server, "DELETE", f"{base}/{raw}", token), 404),
        ]
    check(cases)
    # Largest int64 is well-formed, and simply not there.
    check([(call(server, "GET", f"{base}/{2**63 - 1}", token), 404)])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"name": "\\ud800"}', 400),  # a lone surrogate: not Unicode text
        (b'{"name": "a\\udc00b"}', 400),
        (b'{"name": "a\\u0000b"}', 422),  # NUL: no database stores it as text
        (b'{"name": "ok", "extra": {"k\\ud800": 1}}', 400),  # anywhere in the body
        (b'{"name": "\xff"}', 400),  # not UTF-8
        (b"[" * DEEP + b"]" * DEEP, 400),
        (b'{"name": ' + b"[" * DEEP + b"]" * DEEP + b"}", 400),
        (b'{"name": "x", "deep": ' + b'{"":' * 10_000 + b"1" + b"}" * 10_000 + b"}", 400),
        (b"[]", 422),
        (b'"name"', 422),
        (b"42", 422),
        (b"null", 422),
        (b"true", 422),
        (b"{} {}", 400),
        (b'{"name": "' + b"x" * 70_000 + b'"}', 413),
    ],
)
def test_bad_json_bodies_on_create(server: MapperServer, body: bytes, status: int) -> None:
    token = server.token("u")
    headers = {**auth(token), "Content-Type": "application/json"}
    check([(httpx.post(f"{server.http}/api/chains", content=body, headers=headers), status)])
    assert httpx.get(f"{server.http}/api/chains", headers=auth(token)).json() == {"items": []}


def test_bad_strings_in_every_body(server: MapperServer, owned: tuple[str, str]) -> None:
    token, chain = owned
    surrogate, nul = b'"\\ud800"', b'"a\\u0000b"'
    cases = []
    for value, status in [(surrogate, 400), (nul, 422)]:
        member = f"/api/chains/{chain}/members/user:someone"
        snapshots = f"/api/chains/{chain}/snapshots"
        cases += [
            (call(server, "PUT", member, token, content=b'{"role": ' + value + b"}"), status),
            (call(server, "POST", snapshots, token, content=b'{"label": ' + value + b"}"), status),
        ]
    check(cases)


def test_bodies_by_size_and_type(server: MapperServer) -> None:
    token = server.token("u")
    url = f"{server.http}/api/chains"

    def chunked(size: int) -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(size // 1024):
            yield b"x" * 1024
        yield b'"}'

    typed = [
        (
            httpx.post(
                url, content=b'{"name": "a"}', headers={**auth(token), "Content-Type": kind}
            ),
            400,
        )
        for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")
    ]
    check(
        [
            *typed,
            (httpx.post(url, content=b"name=a", headers=auth(token)), 400),
            # No Content-Length: the body streams in and is cut off at the limit.
            (httpx.post(url, content=chunked(1024 * 1024), headers=auth(token)), 413),
            # A body on a call that takes none is still read, and still checked.
            (httpx.request("GET", url, content=b"[" * DEEP, headers=auth(token)), 400),
        ]
    )
    # JSON by another name is fine; so is no Content-Type (curl --data-binary).
    for kind in ("application/json; charset=utf-8", "application/merge-patch+json", None):
        headers = {**auth(token), **({"Content-Type": kind} if kind else {})}
        created = httpx.post(url, content=b'{"name": "a"}', headers=headers)
        assert created.status_code == 201, (kind, created.text)


def test_nul_in_ids_and_names(server: MapperServer, owned: tuple[str, str]) -> None:
    token, chain = owned
    members = f"/api/chains/{chain}/members"
    cases = [
        (call(server, "POST", "/api/chains", token, json={"name": "a\x00b"}), 422),
        (call(server, "PUT", f"{members}/user:a%00b", token, json={"role": "viewer"}), 422),
        (call(server, "DELETE", f"{members}/user:a%00b", token), 422),
        (call(server, "PUT", f"{members}/user:%00", token, json={"role": "viewer"}), 422),
        (call(server, "PUT", f"{members}/user:a%0Ab", token, json={"role": "viewer"}), 422),
    ]
    for path in ["", "/document", "/members", "/snapshots", "/audit", "/snapshots/1"]:
        for bad in ["a%00b", "%00", "a" * 5000, "%C2%B2", chain.upper(), chain + "%00"]:
            cases.append((call(server, "GET", f"/api/chains/{bad}{path}", token), 404))
    cases += [
        (call(server, "DELETE", "/api/chains/a%00b", token), 404),
        (
            call(server, "PUT", "/api/chains/a%00b/members/user:x", token, json={"role": "viewer"}),
            404,
        ),
        (call(server, "POST", "/api/chains/a%00b/snapshots/1/restore", token), 404),
    ]
    check(cases)
    # The chain is untouched: no member was added by any of that.
    listed = call(server, "GET", members, token).json()["items"]
    assert [m["member"] for m in listed] == ["user:owner"]


def test_odd_query_params(server: MapperServer, owned: tuple[str, str]) -> None:
    token, chain = owned
    route = "/api/universe/route?from=30000142&to=30000144"
    nines = "9" * 5000
    check(
        [
            # NUL anywhere in a query string is a 400; a chain id no chain has, a 404.
            (call(server, "GET", f"{route}&chain=%00", token), 400),
            (call(server, "GET", f"{route}&chain=a%00b", token), 400),
            (call(server, "GET", f"{route}&chain={'a' * 5000}", token), 404),
            (call(server, "GET", f"{route}&chain={chain}%00", token), 400),
            (call(server, "GET", f"/api/universe/route?from={nines}&to=30000144", token), 400),
            (call(server, "GET", "/api/universe/route?from=%C2%B2&to=30000144", token), 400),
            (call(server, "GET", "/api/universe/route?from=30000142&to=%00", token), 400),
            (call(server, "GET", f"/api/universe/systems?ids=1,{nines}", token), 400),
            (call(server, "GET", "/api/universe/systems?ids=%D9%A1", token), 400),
            (call(server, "GET", f"/api/universe/systems?search=J&limit={nines}", token), 400),
            (call(server, "GET", "/api/universe/systems?search=J&limit=%C2%B2", token), 400),
            (call(server, "GET", "/api/universe/systems?search=J%00", token), 400),
            (call(server, "GET", f"/api/universe/systems/{nines}", token), 404),
            (call(server, "GET", "/api/universe/systems/%C2%B2", token), 404),
            (call(server, "GET", "/api/universe/systems/%00", token), 404),
            (call(server, "GET", "/api/chains?x=%00", token), 400),
        ]
    )


def test_odd_paths_elsewhere(server: MapperServer) -> None:
    """Outside the API too: the web app's files and routes never answer 500."""
    for path in ["/a%00b", "/static/%00", "/chains/a%00b", "/%C0%AE%C0%AE/etc/passwd"]:
        response = httpx.get(f"{server.http}{path}")
        assert response.status_code in CONTRACT_STATUSES | {200}, (path, response.text[:200])
        assert "Traceback" not in response.text


def test_not_a_member_looks_like_no_chain_over_http(
    server: MapperServer, owned: tuple[str, str]
) -> None:
    _, chain = owned
    stranger = server.token("stranger")
    missing = "00000000-0000-4000-8000-000000000000"
    for path in ["", "/document", "/members", "/snapshots"]:
        real = call(server, "GET", f"/api/chains/{chain}{path}", stranger)
        absent = call(server, "GET", f"/api/chains/{missing}{path}", stranger)
        check([(real, 404), (absent, 404)])
        assert (
            real.json()["error"]["message"].replace(chain, missing)
            == absent.json()["error"]["message"]
        )


def test_token_sub_that_cannot_be_stored_is_401(server: MapperServer) -> None:
    """A signed token is no better than its issuer's input: its `sub` is checked too."""
    issuer = BuiltinIssuer(server.data_dir)
    good = jwt.decode(server.token("u"), options={"verify_signature": False})
    key = (server.data_dir / BuiltinIssuer.KEY_FILE).read_bytes()

    def create(sub: str) -> httpx.Response:
        token = jwt.encode({**good, "sub": sub}, key, "ES256", headers={"kid": issuer.kid})
        return call(server, "POST", "/api/chains", token, json={"name": "n"})

    check([(create(sub), 401) for sub in ["a\x00b", "\ud800", "a\x7fb"]])
    assert create("fine").status_code == 201  # the same token, re-signed, with a good sub


async def close_of(server: MapperServer, path: str, token: str) -> tuple[int | None, str]:
    client = await WireClient.connect(server.ws, path, token)
    code = await client.wait_closed(timeout=10)
    return code, client.socket.close_reason or ""


async def test_websocket_to_a_malformed_chain_id_is_4404(server: MapperServer) -> None:
    token = server.token("owner")
    create_chain(server, token)
    for bad in ["a%00b", "%00", "a" * 2000, "%C2%B2", "no-such-chain"]:
        code, _ = await close_of(server, f"/ws/chains/{bad}", token)
        assert code == 4404, bad


async def test_websocket_non_member_looks_like_no_chain(
    server: MapperServer, owned: tuple[str, str]
) -> None:
    _, chain = owned
    stranger = server.token("stranger")
    real = await close_of(server, f"/ws/chains/{chain}", stranger)
    missing = await close_of(server, "/ws/chains/00000000-0000-4000-8000-000000000000", stranger)
    malformed = await close_of(server, "/ws/chains/a%00b", stranger)
    assert real == missing == malformed
    assert real[0] == 4404
