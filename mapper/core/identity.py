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
    issued_at: float = 0.0
    # EVE characters the user linked with the built-in login (their `character:<id>` keys).
    characters: tuple[int, ...] = ()

    @property
    def member_keys(self) -> tuple[str, ...]:
        """The keys this caller may appear under in a chain's member table."""
        linked = (f"character:{character_id}" for character_id in self.characters)
        return (f"user:{self.user_id}", *linked, *self.groups)
