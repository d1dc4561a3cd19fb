"""Why a use case refused: each kind maps to one HTTP status at the edge. Messages are safe
to show to the caller."""

from __future__ import annotations

NO_CHAIN = "no such chain, or not one you can see"  # the same for both: ids reveal nothing
NO_SNAPSHOT = "no such snapshot of this chain"
BAD_MEMBER = "member must be user:<id>, character:<digits>, corp:<digits> or alliance:<digits>"


class Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unusable(Refused):
    """The input is one the service will not use (a webhook URL it will not call)."""


class NotFound(Refused):
    """No such thing, or one the caller may not know of."""


class Forbidden(Refused):
    """The caller's role is too weak."""


class Conflict(Refused):
    """The change would break a rule of the chain as it is now."""


class Invalid(Refused):
    """The input is well-formed but its content is wrong."""
