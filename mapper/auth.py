"""Who is calling: JWT verification against the built-in issuer or an external one.

Tokens are ES256 (the built-in issuer's), EdDSA or RS256, and each key verifies only the one
algorithm its type implies (an RSA key never checks an ES256 header). `exp`, `iss`, `aud` and
`sub` are required; `exp`, `nbf` and `iat` get `leeway_s` of clock skew.

Claims: `sub` is the user id (1 to 200 characters, no whitespace, so that `user:<sub>` is a valid
chain member key); `name` (string) defaults to the user id; `roles` (list) makes a service admin
when it holds `"admin"`; `groups` (list) holds the `corp:<digits>` / `alliance:<digits>` groups the
issuer vouches for. A `roles` or `groups` claim that is not a list rejects the token, but group
entries that do not match those forms are dropped, not fatal: an issuer may add other group kinds
without locking its users out.

An external issuer's JWKS given as a URL is fetched on first use and cached (`Keys`, which the
EVE login uses for EVE's keys too).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from mapper.core.identity import Identity
from mapper.core.ids import USER_ID
from mapper.core.secret_files import read_or_create
from mapper.settings import Settings, SettingsError

log = logging.getLogger("mapper.auth")

ALGORITHMS = ("ES256", "EdDSA", "RS256")
_ACCEPTED = "ES256, EdDSA or RS256"
FETCH_TIMEOUT_S = 5.0
MAX_TOKEN_CHARS = 16 * 1024  # far above any real token; bounds the work a garbage token costs

_USER_ID = re.compile(USER_ID)
_GROUP = re.compile(r"(corp|alliance):[0-9]{1,20}")
_SUB_RULE = "the token's sub must be a user id of 1 to 200 characters without spaces or controls"


class AuthError(Exception):
    """A token was refused; `str(error)` is a short reason that is safe to send to the client."""


class BuiltinIssuer:
    """The service's own ES256 issuer, keyed by `<data_dir>/signing-key.pem` (made on first use)."""

    ISSUER = "mapper"
    KEY_FILE = "signing-key.pem"

    def __init__(self, data_dir: Path, audience: str = "mapper") -> None:
        self.audience = audience
        self._key = _load_or_create_key(Path(data_dir) / self.KEY_FILE)
        public_jwk = ECAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        self.kid = _thumbprint(public_jwk)
        self._public_jwk = {**public_jwk, "kid": self.kid, "alg": "ES256", "use": "sig"}

    def issue(
        self,
        user_id: str,
        *,
        name: str | None = None,
        admin: bool = False,
        groups: Sequence[str] = (),
        ttl_s: float = 8 * 3600,
    ) -> str:
        """Sign a token for `user_id`. A negative `ttl_s` gives an already expired token."""
        if not _USER_ID.fullmatch(user_id):
            raise ValueError(f"{user_id!r} is not a user id: use 1 to 200 characters, no spaces")
        bad = [group for group in groups if not _GROUP.fullmatch(group)]
        if bad:
            raise ValueError(f"groups must look like corp:<id> or alliance:<id>, not {bad}")
        now = time.time()
        claims: dict[str, Any] = {
            "iss": self.ISSUER,
            "aud": self.audience,
            "sub": user_id,
            "iat": int(now),
            "exp": int(now + ttl_s),
        }
        if name is not None:
            claims["name"] = name
        if admin:
            claims["roles"] = ["admin"]
        if groups:
            claims["groups"] = list(groups)
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWKS document, for anyone who wants to check our tokens."""
        return {"keys": [dict(self._public_jwk)]}


class Keys:
    """A JWKS: fixed keys, or fetched from `url` on first use and cached.

    A `kid` not among the cached keys, or keys older than `max_age_s`, trigger a new fetch, at
    most one every `refresh_interval_s` (so a flood of bogus kids cannot hammer the issuer);
    concurrent lookups share one fetch in flight. When a fetch fails the keys held stay in use.
    """

    def __init__(
        self,
        keys: Sequence[jwt.PyJWK] = (),
        *,
        url: str | None = None,
        refresh_interval_s: float = 30.0,
        max_age_s: float = 600.0,
    ) -> None:
        self._keys: tuple[jwt.PyJWK, ...] | None = tuple(keys) if url is None else None
        self._url = url
        self._refresh_interval_s = refresh_interval_s
        self._max_age_s = max_age_s
        self._fetched_at = -float("inf")  # time.monotonic() of the last successful fetch
        self._attempted_at = -float("inf")  # ... and of the last attempt, for the rate limit
        self._fetching: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._fetching is not None:
            self._fetching.cancel()
            self._fetching = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def key_for(self, kid: str | None) -> jwt.PyJWK:
        """The key that signed a token with this `kid`; raises `AuthError` when none does."""
        if self._url is not None and (
            self._keys is None
            or time.monotonic() - self._fetched_at > self._max_age_s
            or (kid is not None and all(key.key_id != kid for key in self._keys))
        ):
            await self._refresh(self._url)
        if self._keys is None:
            raise AuthError("the token issuer's keys could not be fetched; try again shortly")
        if kid is None:
            if len(self._keys) == 1:
                return self._keys[0]
            raise AuthError("the token has no kid and the issuer has several keys")
        for key in self._keys:
            if key.key_id == kid:
                return key
        raise AuthError(f"the token's key (kid {kid[:64]!r}) is not one of the issuer's keys")

    async def _refresh(self, url: str) -> None:
        if self._fetching is None:
            if time.monotonic() - self._attempted_at < self._refresh_interval_s:
                return
            self._attempted_at = time.monotonic()
            self._fetching = asyncio.create_task(self._fetch(url))
        # Shielded: a caller that gives up must not cancel the fetch the others wait on.
        await asyncio.shield(self._fetching)

    async def _fetch(self, url: str) -> None:
        try:
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=FETCH_TIMEOUT_S)
            response = await self._client.get(url)
            response.raise_for_status()
            self._keys = _parse_jwks(response.json(), url)
            self._fetched_at = time.monotonic()
        except (httpx.HTTPError, ValueError) as error:
            # Logged, not raised: the callers see the outcome as keys present or missing.
            log.warning("could not fetch the token issuer's keys from %s: %s", url, error)
        finally:
            self._fetching = None


class Directory(Protocol):
    """What the service knows now about a user of the built-in EVE login, which their token
    (signed hours ago) may no longer say: their characters, corporations and alliances, and
    whether they signed out since."""

    async def current(self, identity: Identity) -> Identity:
        """`identity` as it stands now; raises `AuthError` when its token was withdrawn."""
        ...


class Authenticator:
    """Turns a bearer token into an `Identity`, or raises `AuthError`."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        leeway_s: float = 30.0,
        keys: Sequence[jwt.PyJWK] = (),
        jwks_url: str | None = None,
        builtin: BuiltinIssuer | None = None,
        refresh_interval_s: float = 30.0,
        max_age_s: float = 600.0,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.leeway_s = leeway_s
        self.builtin = builtin
        self._keys = Keys(
            keys, url=jwks_url, refresh_interval_s=refresh_interval_s, max_age_s=max_age_s
        )
        self.directory: Directory | None = None  # set by the EVE login when it is on

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        """Built-in issuer when `auth_issuer` is empty; else the external issuer's JWKS.

        Raises `SettingsError` at once when the JWKS is missing or is unusable JSON or file
        content; a URL is only fetched when the first token arrives.
        """
        common: dict[str, Any] = {
            "audience": settings.auth_audience,
            "leeway_s": settings.auth_leeway_s,
        }
        if not settings.auth_issuer:
            builtin = BuiltinIssuer(settings.data_dir, audience=settings.auth_audience)
            keys = _parse_jwks(builtin.jwks(), "the built-in issuer's key")
            return cls(issuer=BuiltinIssuer.ISSUER, keys=keys, builtin=builtin, **common)
        source = settings.auth_jwks.strip()
        if not source:
            raise SettingsError(
                "MAPPER_AUTH_ISSUER is set, so MAPPER_AUTH_JWKS must give that issuer's public "
                "keys: a JWKS JSON document, a path to a file holding one, or an https:// URL"
            )
        if source.startswith(("https://", "http://")):
            if source.startswith("http://"):
                log.warning("MAPPER_AUTH_JWKS %s is fetched without TLS; use https://", source)
            return cls(issuer=settings.auth_issuer, jwks_url=source, **common)
        if source.startswith("{"):
            text, where = source, "MAPPER_AUTH_JWKS"
        else:
            where = f"MAPPER_AUTH_JWKS file {source}"
            try:
                text = Path(source).read_text()
            except OSError as error:
                raise SettingsError(f"{where} cannot be read: {error.strerror}") from None
        try:
            keys = _parse_jwks(json.loads(text), where)
        except ValueError as error:  # json.JSONDecodeError is a ValueError too
            raise SettingsError(f"{where}: {error}") from None
        return cls(issuer=settings.auth_issuer, keys=keys, **common)

    async def verify(self, token: str) -> Identity:
        if len(token) > MAX_TOKEN_CHARS:
            raise AuthError("the token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("the token is malformed; send a JWT") from None
        # Checked before any key lookup so that junk never triggers a JWKS fetch.
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            shown = str(alg)[:20]
            raise AuthError(f"token algorithm {shown!r} is not accepted; use {_ACCEPTED}")
        key = await self._keys.key_for(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise AuthError(_reason(error)) from None
        identity = _identity(claims)
        if self.directory is not None:
            identity = await self.directory.current(identity)
        return identity

    async def aclose(self) -> None:
        await self._keys.aclose()


def _identity(claims: dict[str, Any]) -> Identity:
    sub = claims["sub"]
    if not isinstance(sub, str) or not _USER_ID.fullmatch(sub):
        raise AuthError(_SUB_RULE)
    name = claims.get("name")
    if name is not None and not isinstance(name, str):
        raise AuthError("the token's name claim must be a string")
    roles = claims.get("roles", [])
    groups = claims.get("groups", [])
    if not isinstance(roles, list) or not isinstance(groups, list):
        raise AuthError("the token's roles and groups claims must be lists")
    exp = claims["exp"]
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise AuthError("the token's exp must be a number")
    iat = claims.get("iat", 0)
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise AuthError("the token's iat must be a number")
    valid_groups = (g for g in groups if isinstance(g, str) and _GROUP.fullmatch(g))
    return Identity(
        user_id=sub,
        name=(name or "").strip() or sub,
        admin="admin" in roles,
        groups=tuple(dict.fromkeys(valid_groups)),
        expires_at=float(exp),
        issued_at=float(iat),
    )


def _reason(error: jwt.PyJWTError) -> str:
    if isinstance(error, jwt.ExpiredSignatureError):
        return "the token has expired; get a new one"
    if isinstance(error, jwt.ImmatureSignatureError):
        return "the token is not valid yet; check the issuer's clock"
    if isinstance(error, jwt.exceptions.InvalidSubjectError):
        return _SUB_RULE
    if isinstance(error, jwt.InvalidIssuerError):
        return "the token is from another issuer"
    if isinstance(error, jwt.InvalidAudienceError):
        return "the token is meant for another service (aud)"
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"the token lacks the {error.claim} claim"
    if isinstance(error, jwt.InvalidSignatureError):
        return "the token's signature is invalid"
    if isinstance(error, jwt.InvalidAlgorithmError):
        return "the token's algorithm does not fit its key"
    if isinstance(error, jwt.DecodeError):
        return "the token is malformed"
    return "the token is invalid"


def _parse_jwks(document: object, source: str) -> tuple[jwt.PyJWK, ...]:
    """The usable signature keys of a JWKS document; raises ValueError when there are none."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError(f'{source} is not a JWKS document (a JSON object with a "keys" list)')
    keys = []
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        algorithm = _algorithm_for(entry)
        if algorithm is None or entry.get("alg", algorithm) != algorithm:
            log.warning("%s: skipping key %r: not an %s key", source, entry.get("kid"), _ACCEPTED)
            continue
        try:
            key = jwt.PyJWK(entry, algorithm)
        except jwt.PyJWTError as error:
            log.warning("%s: skipping key %r: %s", source, entry.get("kid"), error)
            continue
        too_weak = key.Algorithm.check_key_length(key.key)
        if too_weak:
            log.warning("%s: skipping key %r: %s", source, entry.get("kid"), too_weak)
            continue
        keys.append(key)
    if not keys:
        raise ValueError(f"{source} holds no usable signing key ({_ACCEPTED})")
    return tuple(keys)


def _algorithm_for(jwk: dict[str, Any]) -> str | None:
    """The one algorithm a key of this type may verify, whatever the JWK's own `alg` says."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "EC" and crv == "P-256":
        return "ES256"
    if kty == "OKP" and crv == "Ed25519":
        return "EdDSA"
    if kty == "RSA":
        return "RS256"
    return None


def _thumbprint(public_jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint: a kid that stays the same for the same key."""
    members = {name: public_jwk[name] for name in ("crv", "kty", "x", "y")}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":")).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    pem = read_or_create(path, _new_key_pem, "the signing key")
    return _parse_key(pem, path)


def _new_key_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _parse_key(pem: bytes, path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise SettingsError(
            f"{path} is not an unencrypted P-256 (ES256) private key in PEM; restore it, or "
            "move it away to have a new one made (tokens signed with the old key stop working)"
        )
    return key
