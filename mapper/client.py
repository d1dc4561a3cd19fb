"""A small client of the service's HTTP API, for the command line.

Commands that change a chain (a restore) must go through the running service, never straight
to the database: the live room and its clients have to receive the change.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from mapper.settings import Settings

TIMEOUT_S = 30.0


class ApiClientError(Exception):
    """The service refused or could not be reached; the message says what to do."""


class ApiClient:
    def __init__(self, base_url: str, token: str) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}

    @classmethod
    def from_settings(cls, settings: Settings, url: str | None, token: str | None) -> ApiClient:
        """`url`, else MAPPER_PUBLIC_URL, else the local `mapper serve`; `token`, else
        MAPPER_TOKEN, else a local admin token from the built-in issuer's key."""
        base = url or settings.public_url or f"http://{settings.host}:{settings.port}"
        token = token or os.environ.get("MAPPER_TOKEN")
        if not token:
            if settings.auth_issuer:
                raise ApiClientError(
                    "pass --token (or set MAPPER_TOKEN): an external issuer is set"
                )
            from mapper.auth import BuiltinIssuer

            issuer = BuiltinIssuer(settings.data_dir, audience=settings.auth_audience)
            token = issuer.issue("admin", name="Local admin", admin=True, ttl_s=300)
        return cls(base, token)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = httpx.request(
                method, self._base + path, json=body, headers=self._headers, timeout=TIMEOUT_S
            )
        except httpx.TransportError as error:
            raise ApiClientError(
                f"cannot reach the service at {self._base} ({error}); is `mapper serve` running? "
                "Pass --url otherwise."
            ) from None
        if response.is_error:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise ApiClientError(f"{response.status_code}: {message}")
        return response.json() if response.content else None
