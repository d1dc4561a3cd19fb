"""Who is calling, as the service knows them once their token is verified."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    user_id: str
    name: str
    admin: bool
    groups: tuple[str, ...]
    expires_at: float

    @property
    def member_keys(self) -> tuple[str, ...]:
        """The keys this caller may appear under in a chain's member table."""
        return (f"user:{self.user_id}", *self.groups)
