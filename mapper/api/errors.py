"""API errors: always JSON `{"error": {"code", "message"}}`, never a stack trace."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mapper.chains.errors import Conflict, Forbidden, Invalid, NotFound, Refused, Unusable

log = logging.getLogger("mapper.api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message


def error_response(status: int, message: str, code: str | None = None) -> JSONResponse:
    body = {"error": {"code": code or _CODES.get(status, "error"), "message": message}}
    return JSONResponse(body, status_code=status)


async def handle_api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error_response(error.status, error.message, error.code)


# What a use case's refusal is over HTTP.
_REFUSALS: dict[type[Refused], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Invalid: 422,
    Unusable: 400,
}


async def handle_refused(request: Request, error: Exception) -> Response:
    assert isinstance(error, Refused)
    return error_response(_REFUSALS[type(error)], error.message)


async def handle_http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return error_response(error.status_code, str(error.detail))


async def handle_database_error(request: Request, error: Exception) -> Response:
    log.warning("%s %s: database unavailable: %s", request.method, request.url.path, error)
    return error_response(503, "the database is unavailable; try again shortly")


async def handle_unstorable(request: Request, error: Exception) -> Response:
    """The database refused a value (Postgres: NUL in text, a number out of range). The edge
    checks for these before the work starts; this is the backstop for a check it lacks."""
    assert isinstance(error, DataError)
    log.warning(
        "%s %s: the database refused a value: %s", request.method, request.url.path, error.orig
    )
    return error_response(422, "a value in the request cannot be stored")


async def handle_unexpected(request: Request, error: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path)
    return error_response(500, "internal error; the service log has the details")
