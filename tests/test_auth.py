"""mapper.auth: the built-in issuer, token checks, and external JWKS (inline, file, URL)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mapper.auth import Authenticator, AuthError, BuiltinIssuer
from mapper.core.identity import Identity
from mapper.settings import Settings, SettingsError

ISSUER = "https://issuer.example"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """A token built by hand, for headers PyJWT refuses to produce."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def claims_for(issuer: str = ISSUER, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {"iss": issuer, "aud": "mapper", "sub": "alice", "iat": now, "exp": now + 600}
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = {
        ec.EllipticCurvePrivateKey: ECAlgorithm,
        ed25519.Ed25519PrivateKey: OKPAlgorithm,
        rsa.RSAPrivateKey: RSAAlgorithm,
    }
    kind = next(kind for kind in algorithm if isinstance(key, kind))
    return {**algorithm[kind].to_jwk(key.public_key(), as_dict=True), "kid": kid}


async def refused(authenticator: Authenticator, token: str, reason: str) -> None:
    with pytest.raises(AuthError, match=reason):
        await authenticator.verify(token)


# --- built-in issuer ----------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def auth(data_dir: Path) -> Authenticator:
    return Authenticator.from_settings(Settings(data_dir=data_dir))


@pytest.fixture
def builtin(auth: Authenticator) -> BuiltinIssuer:
    assert auth.builtin is not None
    return auth.builtin


@pytest.fixture
def signing_key(data_dir: Path, builtin: BuiltinIssuer) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key((data_dir / "signing-key.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


async def test_builtin_round_trip(auth: Authenticator, builtin: BuiltinIssuer) -> None:
    token = builtin.issue(
        "alice", name="Alice", admin=True, groups=["corp:98000001", "alliance:99000002"]
    )
    assert jwt.get_unverified_header(token)["kid"] == builtin.kid
    identity = await auth.verify(token)
    assert identity == Identity(
        user_id="alice",
        name="Alice",
        admin=True,
        groups=("corp:98000001", "alliance:99000002"),
        expires_at=identity.expires_at,
        issued_at=identity.issued_at,
    )
    assert abs(identity.issued_at - time.time()) < 5
    assert identity.member_keys == ("user:alice", "corp:98000001", "alliance:99000002")
    assert abs(identity.expires_at - (time.time() + 8 * 3600)) < 5

    plain = await auth.verify(builtin.issue("bob", ttl_s=60))
    assert (plain.name, plain.admin, plain.groups) == ("bob", False, ())
    assert plain.member_keys == ("user:bob",)
    assert builtin.jwks()["keys"][0]["kid"] == builtin.kid


async def test_builtin_key_persists(data_dir: Path, builtin: BuiltinIssuer) -> None:
    token = builtin.issue("alice")
    again = Authenticator.from_settings(Settings(data_dir=data_dir))
    assert again.builtin is not None and again.builtin.kid == builtin.kid
    assert (await again.verify(token)).user_id == "alice"


def test_builtin_key_file_is_private(data_dir: Path) -> None:
    BuiltinIssuer(data_dir)
    key_file = data_dir / "signing-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [path.name for path in data_dir.iterdir()] == ["signing-key.pem"]  # no temporaries


def test_builtin_refuses_what_it_could_not_verify(builtin: BuiltinIssuer) -> None:
    for user_id in ("", "a b", "x" * 201):
        with pytest.raises(ValueError, match="user id"):
            builtin.issue(user_id)
    with pytest.raises(ValueError, match="corp:<id>"):
        builtin.issue("alice", groups=["guild:1"])


def test_unusable_key_file(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "signing-key.pem").write_text("not a key")
    with pytest.raises(SettingsError, match="P-256"):
        BuiltinIssuer(data_dir)


async def test_leeway(auth: Authenticator, builtin: BuiltinIssuer) -> None:
    assert (await auth.verify(builtin.issue("alice", ttl_s=-10))).user_id == "alice"
    await refused(auth, builtin.issue("alice", ttl_s=-60), "expired")


async def test_wrong_issuer_and_audience(
    auth: Authenticator, builtin: BuiltinIssuer, data_dir: Path, signing_key: Any
) -> None:
    other_iss = jwt.encode(
        claims_for("someone-else"), signing_key, algorithm="ES256", headers={"kid": builtin.kid}
    )
    await refused(auth, other_iss, "another issuer")
    other_aud = BuiltinIssuer(data_dir, audience="other-service").issue("alice")
    await refused(auth, other_aud, "another service")


async def test_bad_signature(auth: Authenticator, builtin: BuiltinIssuer) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(
        claims_for("mapper"), stranger, algorithm="ES256", headers={"kid": builtin.kid}
    )
    await refused(auth, token, "signature")
    header, _, signature = builtin.issue("alice").split(".")
    tampered = f"{header}.{b64(json.dumps(claims_for('mapper', sub='root')).encode())}.{signature}"
    await refused(auth, tampered, "signature")


async def test_alg_none_and_hmac(
    auth: Authenticator, builtin: BuiltinIssuer, signing_key: Any
) -> None:
    claims = claims_for("mapper", roles=["admin"])
    none = forge({"alg": "none", "typ": "JWT"}, claims, lambda _: b"")
    await refused(auth, none, "not accepted")
    public_pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (public_pem, json.dumps(builtin.jwks()).encode()):
        hs256 = forge(
            {"alg": "HS256", "kid": builtin.kid},
            claims,
            lambda data, secret=secret: hmac.new(secret, data, hashlib.sha256).digest(),
        )
        await refused(auth, hs256, "not accepted")


async def test_unknown_kid(auth: Authenticator, signing_key: Any) -> None:
    token = jwt.encode(claims_for("mapper"), signing_key, algorithm="ES256", headers={"kid": "x"})
    await refused(auth, token, "not one of the issuer's keys")


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "e30.e30.", "x" * 20000])
async def test_garbage(auth: Authenticator, token: str) -> None:
    await refused(auth, token, "malformed|too long|not accepted")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"sub": None}, "lacks the sub claim"),
        ({"sub": ""}, "sub must be a user id"),
        ({"sub": 42}, "sub must be a user id"),
        ({"sub": "a b"}, "sub must be a user id"),
        ({"exp": None}, "lacks the exp claim"),
        ({"exp": str(int(time.time()) + 600)}, "exp must be a number"),
        ({"iss": None}, "lacks the iss claim"),
        ({"aud": None}, "lacks the aud claim"),
        ({"name": 7}, "name claim must be a string"),
        ({"roles": "admin"}, "must be lists"),
        ({"groups": "corp:1"}, "must be lists"),
    ],
)
async def test_bad_claims(
    auth: Authenticator,
    builtin: BuiltinIssuer,
    signing_key: Any,
    overrides: dict[str, Any],
    reason: str,
) -> None:
    claims = claims_for("mapper", **overrides)
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
    token = jwt.encode(claims, signing_key, algorithm="ES256", headers={"kid": builtin.kid})
    await refused(auth, token, reason)


async def test_invalid_groups_are_dropped(
    auth: Authenticator, builtin: BuiltinIssuer, signing_key: Any
) -> None:
    groups = ["corp:1", "guild:2", "corp:x", 5, "alliance:3", "corp:1", "corp:1\n", "corp:\u0661"]
    claims = claims_for("mapper", groups=groups, roles=["pilot", 3], name="  ")
    token = jwt.encode(claims, signing_key, algorithm="ES256", headers={"kid": builtin.kid})
    identity = await auth.verify(token)
    assert identity.groups == ("corp:1", "alliance:3")
    assert (identity.admin, identity.name) == (False, "alice")


# --- external issuer ----------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    es256: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    eddsa: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)
    rs256: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwks(self, *kids: str) -> dict[str, Any]:
        return {"keys": [public_jwk(getattr(self, kid), kid) for kid in kids or ALL]}

    def token(self, kid: str, alg: str | None = None, **overrides: Any) -> str:
        return jwt.encode(
            claims_for(**overrides),
            getattr(self, kid),
            algorithm=alg or ALG[kid],
            headers={"kid": kid},
        )


ALG = {"es256": "ES256", "eddsa": "EdDSA", "rs256": "RS256"}
ALL = tuple(ALG)


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


def external(jwks: str, **overrides: Any) -> Authenticator:
    return Authenticator.from_settings(Settings(auth_issuer=ISSUER, auth_jwks=jwks, **overrides))


async def test_external_inline_json(keys: Keys) -> None:
    auth = external(json.dumps(keys.jwks()))
    assert auth.builtin is None
    for kid in ALL:
        assert (await auth.verify(keys.token(kid, sub=f"user-{kid}"))).user_id == f"user-{kid}"


async def test_key_type_must_fit_algorithm(keys: Keys) -> None:
    auth = external(json.dumps(keys.jwks()))
    # Signed correctly by an EC key, but pointing at the RSA (or EdDSA) key's kid.
    for kid in ("rs256", "eddsa"):
        token = jwt.encode(claims_for(), keys.es256, algorithm="ES256", headers={"kid": kid})
        await refused(auth, token, "does not fit its key")
    # A JWK that claims an algorithm its key type cannot do is left out.
    mislabelled = {"keys": [{**public_jwk(keys.rs256, "rs256"), "alg": "ES256"}]}
    with pytest.raises(SettingsError, match="no usable signing key"):
        external(json.dumps(mislabelled))


async def test_external_file(keys: Keys, tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(keys.jwks("eddsa")))
    auth = external(str(path), auth_audience="maps")
    assert (await auth.verify(keys.token("eddsa", aud="maps"))).user_id == "alice"
    await refused(auth, keys.token("eddsa"), "another service")
    await refused(auth, keys.token("es256"), "not one of the issuer's keys")


def test_external_settings_fail_fast(keys: Keys, tmp_path: Path) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    cases = {
        "": "MAPPER_AUTH_JWKS must give",
        str(tmp_path / "missing.json"): "cannot be read",
        "{not json": "MAPPER_AUTH_JWKS",
        '{"keys": []}': "no usable signing key",
        '{"kty": "EC"}': "not a JWKS document",
        json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}): "no usable signing key",
        json.dumps({"keys": [public_jwk(weak, "weak")]}): "no usable signing key",
    }
    for jwks, message in cases.items():
        with pytest.raises(SettingsError, match=message):
            external(jwks)


@dataclass
class JwksServer:
    """A real HTTP server on 127.0.0.1 serving a JWKS document that tests change at will."""

    url: str
    document: dict[str, Any] = field(default_factory=dict)
    requests: int = 0
    delay_s: float = 0.0
    status: int = 200

    async def endpoint(self, request: Request) -> JSONResponse:
        self.requests += 1
        await asyncio.sleep(self.delay_s)
        return JSONResponse(self.document, status_code=self.status)


@pytest.fixture(scope="module")
def jwks_http() -> Iterator[JwksServer]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    state = JwksServer(url=f"http://127.0.0.1:{sock.getsockname()[1]}/jwks")
    app = Starlette(routes=[Route("/jwks", state.endpoint)])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started:
        assert time.monotonic() < deadline, "the JWKS test server did not start"
        time.sleep(0.01)
    yield state
    server.should_exit = True
    thread.join(5)
    sock.close()


@pytest.fixture
def jwks_server(jwks_http: JwksServer, keys: Keys) -> JwksServer:
    jwks_http.document = keys.jwks("es256")
    jwks_http.requests, jwks_http.delay_s, jwks_http.status = 0, 0.0, 200
    return jwks_http


def from_url(server: JwksServer, **tuning: float) -> Authenticator:
    return Authenticator(issuer=ISSUER, audience="mapper", jwks_url=server.url, **tuning)


async def test_url_fetched_lazily_and_cached(jwks_server: JwksServer, keys: Keys) -> None:
    auth = external(jwks_server.url)
    assert jwks_server.requests == 0
    for _ in range(3):
        assert (await auth.verify(keys.token("es256"))).user_id == "alice"
    assert jwks_server.requests == 1
    await auth.aclose()


async def test_url_refreshed_on_unknown_kid(jwks_server: JwksServer, keys: Keys) -> None:
    auth = from_url(jwks_server, refresh_interval_s=0.3)
    await auth.verify(keys.token("es256"))
    jwks_server.document = keys.jwks("rs256")  # the issuer rotates its key
    # Right after a fetch the refresh is rate limited: the new kid is not known yet.
    await refused(auth, keys.token("rs256"), "not one of the issuer's keys")
    assert jwks_server.requests == 1
    await asyncio.sleep(0.35)
    assert (await auth.verify(keys.token("rs256"))).user_id == "alice"
    assert jwks_server.requests == 2
    # The retired key is gone from the cache with that fetch.
    await refused(auth, keys.token("es256"), "not one of the issuer's keys")
    assert jwks_server.requests == 2
    await auth.aclose()


async def test_url_flood_shares_one_fetch(jwks_server: JwksServer, keys: Keys) -> None:
    auth = from_url(jwks_server)
    jwks_server.delay_s = 0.1  # keep the first fetch in flight while the flood arrives
    good = [auth.verify(keys.token("es256")) for _ in range(20)]
    bogus = [
        auth.verify(jwt.encode(claims_for(), keys.es256, "ES256", headers={"kid": f"bogus-{n}"}))
        for n in range(30)
    ]
    results = await asyncio.gather(*good, *bogus, return_exceptions=True)
    assert all(isinstance(result, Identity) for result in results[:20])
    assert all(isinstance(result, AuthError) for result in results[20:])
    for n in range(10):
        token = jwt.encode(claims_for(), keys.es256, "ES256", headers={"kid": f"more-{n}"})
        await refused(auth, token, "not one of the issuer's keys")
    assert jwks_server.requests == 1
    await auth.aclose()


async def test_cancelled_caller_leaves_fetch_running(jwks_server: JwksServer, keys: Keys) -> None:
    auth = from_url(jwks_server)
    jwks_server.delay_s = 0.1
    impatient = asyncio.create_task(auth.verify(keys.token("es256")))
    await asyncio.sleep(0.02)
    impatient.cancel()
    assert (await auth.verify(keys.token("es256"))).user_id == "alice"
    assert jwks_server.requests == 1
    await auth.aclose()


async def test_url_fetch_failure(jwks_server: JwksServer, keys: Keys) -> None:
    auth = from_url(jwks_server, refresh_interval_s=0.2)
    jwks_server.status = 500
    await refused(auth, keys.token("es256"), "keys could not be fetched")
    await refused(auth, keys.token("es256"), "keys could not be fetched")
    assert jwks_server.requests == 1  # failures are rate limited too
    jwks_server.status = 200
    await asyncio.sleep(0.25)
    assert (await auth.verify(keys.token("es256"))).user_id == "alice"
    # Once keys are held, a failed refresh keeps them in use.
    jwks_server.status = 500
    await asyncio.sleep(0.25)
    await refused(auth, keys.token("eddsa"), "not one of the issuer's keys")
    assert (await auth.verify(keys.token("es256"))).user_id == "alice"
    assert jwks_server.requests == 3
    await auth.aclose()


async def test_url_keys_expire_from_cache(jwks_server: JwksServer, keys: Keys) -> None:
    auth = from_url(jwks_server, refresh_interval_s=0.0, max_age_s=0.1)
    await auth.verify(keys.token("es256"))
    jwks_server.document = keys.jwks("eddsa")  # es256 revoked
    await asyncio.sleep(0.15)
    await refused(auth, keys.token("es256"), "not one of the issuer's keys")
    assert jwks_server.requests == 2
    await auth.aclose()


async def test_unreachable_url(keys: Keys) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    auth = external(f"http://127.0.0.1:{port}/jwks")
    await refused(auth, keys.token("es256"), "keys could not be fetched")
    await auth.aclose()
