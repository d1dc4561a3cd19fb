"""The shapes of ids that arrive from outside, checked before anything looks them up.

An id that cannot exist is refused here, so it never reaches a database (Postgres refuses
NUL in text, SQLite integers stop at 64 bits) or `int()` (which takes any Unicode digit).
"""

from __future__ import annotations

import re

# What `str(uuid.uuid4())` makes, which is how the store names every chain.
_CHAIN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# ASCII only: str.isdigit takes "²", and int() takes digits of other scripts.
_DIGITS = re.compile(r"[0-9]{1,19}")

# A token's `sub`: no spaces, control characters or lone surrogates, none of which every
# database stores or every log line shows faithfully.
USER_ID = r"[^\s\x00-\x1f\x7f\ud800-\udfff]{1,200}"

MAX_ROW_ID = 2**63 - 1  # an integer key in SQLite (INTEGER) and Postgres (BIGINT)
MAX_EVE_ID = 2**31 - 1  # EVE's ids for systems, types and the like are 32-bit


def is_chain_id(raw: str) -> bool:
    return _CHAIN_ID.fullmatch(raw) is not None


def number(raw: str, high: int) -> int | None:
    """`raw` as an int from 0 to `high` when it is plain ASCII digits, else None."""
    if _DIGITS.fullmatch(raw) is None:
        return None
    value = int(raw)
    return value if value <= high else None
