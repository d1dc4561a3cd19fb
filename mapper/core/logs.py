"""Log set-up for `mapper serve`: one handler on stderr whose every line is scrubbed of tokens.

The sources avoid logging tokens; this is the layer underneath. It works on the finished line,
traceback included, because a token can hide in any part of it: uvicorn's websocket lines carry
the query string (`?token=<JWT>`), httpx errors quote header values (`Bearer ...`), and an
exception message may quote a URL or a response body.
"""

from __future__ import annotations

import atexit
import logging
import queue
import re
import sys
from collections.abc import Iterable
from logging.handlers import QueueHandler, QueueListener

REDACTED = "[redacted]"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Query strings and fragments: ?token=, &access_token=, #token=, also percent-encoded.
    (
        re.compile(r"(?i)(token(?:=|%3D))[^&\s\"'#<>]+"),
        rf"\1{REDACTED}",
    ),
    # Authorization header values, however quoted.
    (re.compile(r"(?i)\b(bearer)(\s+|%20)[^\s\"'<>,;]+"), rf"\1\2{REDACTED}"),
    # JSON fields that carry a token or secret (a token provider's answer, say).
    (
        re.compile(
            r"(?i)([\"'](?:access_?token|refresh_?token|id_?token|token|secret)[\"']\s*:\s*)"
            r"([\"'])[^\"']*\2"
        ),
        rf"\1\2{REDACTED}\2",
    ),
    # A webhook's secret (Discord's /api/webhooks/ID/SECRET, Slack's /services/T/B/SECRET):
    # httpx logs each request's URL.
    (re.compile(r"(/api/webhooks/[^/\s\"'<>]+/)[^\s\"'<>]+"), rf"\1{REDACTED}"),
    (re.compile(r"(/services/[^/\s\"'<>]+/[^/\s\"'<>]+/)[^\s\"'<>]+"), rf"\1{REDACTED}"),
    # A JWT on its own (ours and EVE's both are JWS: base64url header "eyJ...", payload,
    # signature), or any three long base64url parts joined by dots.
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)*"), REDACTED),
    (re.compile(r"\b[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\b"), REDACTED),
]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every token-shaped part and every one of `secrets` replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose output (message, arguments, traceback) never holds a token."""

    def __init__(self, fmt: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted((s for s in secrets if s), key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


def configure(level: str, secrets: Iterable[str] = ()) -> None:
    """Send every logger's lines, uvicorn's included, through one scrubbed stderr handler.

    The lines are scrubbed and written by a thread of their own: a write to a slow disk or a
    full pipe blocks that thread, never the event loop. The lines still queued are written
    when the process exits.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", secrets)
    )
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = QueueListener(records, handler)
    logging.basicConfig(level=level.upper(), handlers=[QueueHandler(records)], force=True)
    listener.start()
    atexit.register(listener.stop)
