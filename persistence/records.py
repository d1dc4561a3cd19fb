"""Plain values the store hands out, and the words it accepts."""

from __future__ import annotations

import dataclasses
from typing import Any

from mapper.core.roles import ROLES

MEMBER_KINDS = ("user", "character", "corp", "alliance")
SNAPSHOT_REASONS = ("periodic", "manual", "pre-restore", "unload", "delete")
# Taken by the service on its own, so thinned with age; the others stay until deleted.
THINNED_REASONS = ("periodic", "unload")


@dataclasses.dataclass(frozen=True, slots=True)
class ChainRecord:
    id: str
    name: str
    created_by: str
    created_at: int
    deleted_at: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookRecord:
    chain_id: str
    url: str
    classes: tuple[int, ...]
    events: tuple[str, ...]
    updated_at: int
    updated_by: str


@dataclasses.dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """A snapshot without its state blob (fetch that with `Store.snapshot_state`)."""

    id: int
    chain_id: str
    created_at: int
    reason: str
    label: str | None
    created_by: str | None
    bytes: int
    counts: dict[str, Any]
    last_update_id: int


@dataclasses.dataclass(frozen=True, slots=True)
class Folded:
    """A chain's stored updates merged into one state, and the content's counts."""

    state: bytes
    counts: dict[str, int]


@dataclasses.dataclass(frozen=True, slots=True)
class MemberChange:
    """One member's role before and after a grant or change, or a revocation (`role` None)."""

    member: str
    previous: str | None
    role: str | None

    @property
    def action(self) -> str:
        """The word the audit log shows."""
        if self.role is None:
            return "revoke"
        return "grant" if self.previous is None else "change"

    @property
    def detail(self) -> dict[str, Any]:
        if self.role is None:
            return {"member": self.member, "previous": self.previous}
        return {"member": self.member, "role": self.role, "previous": self.previous}


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEntry:
    at: int
    actor: str
    action: str
    detail: dict[str, Any]


def check_member(member: str) -> None:
    kind, _, ident = member.partition(":")
    if kind not in MEMBER_KINDS or not ident:
        raise ValueError(
            f"member {member!r} is not user:<sub>, character:<id>, corp:<id> or alliance:<id>"
        )


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")


def check_reason(reason: str) -> None:
    if reason not in SNAPSHOT_REASONS:
        raise ValueError(f"snapshot reason {reason!r} is not one of {SNAPSHOT_REASONS}")
