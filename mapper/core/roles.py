"""Who may do what on a chain: roles, member keys, and the strongest role that applies."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from mapper.core.identity import Identity
from mapper.core.ids import USER_ID

VIEWER = "viewer"
EDITOR = "editor"
OWNER = "owner"
ROLES = (VIEWER, EDITOR, OWNER)  # weakest first
_RANK = {role: rank for rank, role in enumerate(ROLES)}

MEMBER_PATTERN = re.compile(
    f"user:{USER_ID}|character:[0-9]{{1,20}}|corp:[0-9]{{1,20}}|alliance:[0-9]{{1,20}}"
)


def strongest(roles: Iterable[str]) -> str | None:
    known = [role for role in roles if role in _RANK]
    return max(known, key=_RANK.__getitem__) if known else None


def at_least(role: str | None, needed: str) -> bool:
    return role is not None and _RANK[role] >= _RANK[needed]


def role_of(identity: Identity, members: Mapping[str, str]) -> str | None:
    """The caller's role from a chain's member table; service admins act as owner everywhere."""
    if identity.admin:
        return OWNER
    return strongest(members[key] for key in identity.member_keys if key in members)
