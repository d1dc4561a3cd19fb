"""Every SQL statement of the built-in EVE login: users, their characters, logins under way.

Refresh tokens arrive and leave encrypted (the caller holds the key); a replaced or cleared
one is compared by its ciphertext, so two processes refreshing one character never overwrite
each other's newer token.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Insert, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mapper.persistence.models import Chain, EveCharacter, EveLogin, EveUser


@dataclass(frozen=True, slots=True)
class PendingLogin:
    browser_hash: str
    verifier: str
    link_user_id: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class CharacterRecord:
    character_id: int
    user_id: str
    name: str
    corporation_id: int | None
    alliance_id: int | None
    scopes: tuple[str, ...]
    needs_login: bool
    linked_at: int
    affiliation_expires_at: int


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """A user and their characters, as the service's directory of users keeps them."""

    user_id: str
    admin: bool
    signed_out_at: int | None
    characters: tuple[CharacterRecord, ...]


@dataclass(frozen=True, slots=True)
class SignedIn:
    user_id: str
    admin: bool
    new_user: bool
    previous_user_id: str | None  # who had the character before, when it moved


@dataclass(frozen=True, slots=True)
class Affiliation:
    character_id: int
    corporation_id: int
    alliance_id: int | None
    expires_at: int


_CHARACTER = (
    EveCharacter.character_id,
    EveCharacter.user_id,
    EveCharacter.name,
    EveCharacter.corporation_id,
    EveCharacter.alliance_id,
    EveCharacter.scopes,
    EveCharacter.needs_login,
    EveCharacter.linked_at,
    EveCharacter.affiliation_expires_at,
)


async def _new_user(conn: AsyncConnection, user_id: str, now: int) -> None:
    """A user for a character seen for the first time: the service admin when they are the
    first user of a fresh service (no user and no chain yet). A service used before the login
    was turned on (its chains made with the admin link) has no first user: its admins are
    named in MAPPER_ADMINS.

    Two first sign-ins can both find the service fresh (neither sees the other's uncommitted
    row); the unique index on `first_user` lets one insert win, and the other, which waited
    for it, inserts nothing and then signs in as an ordinary user."""
    fresh = not await conn.scalar(select(func.count()).select_from(EveUser)) and not (
        await conn.scalar(select(func.count()).select_from(Chain))
    )
    user = {"id": user_id, "created_at": now, "signed_out_at": None}
    if fresh:
        first = _insert_unless_taken(conn.dialect.name, {**user, "admin": True, "first_user": True})
        if await conn.scalar(first) is not None:
            return
    await conn.execute(insert(EveUser).values(**user, admin=False))


def _insert_unless_taken(dialect: str, values: dict[str, object]) -> Insert:
    """An insert into eve_users that inserts nothing where it meets a unique index; it returns
    the new user's id, or no row. (Not `rowcount`: psycopg leaves it at -1 for this.)"""
    statement = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return statement(EveUser).values(**values).on_conflict_do_nothing().returning(EveUser.id)


def _character(row: Sequence[object]) -> CharacterRecord:
    values = list(row)
    values[5] = tuple(values[5] or ())  # type: ignore[arg-type]
    return CharacterRecord(*values)  # type: ignore[arg-type]


class AccountStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # Logins under way

    async def begin_login(
        self,
        state_hash: str,
        browser_hash: str,
        verifier: str,
        link_user_id: str | None,
        *,
        now: int,
        forget_before: int,
        most: int,
    ) -> bool:
        """Keep a login under way; False when `most` are under way already."""
        async with self._engine.begin() as conn:
            # Abandoned logins go here, so the table stays small without a task of its own.
            await conn.execute(delete(EveLogin).where(EveLogin.created_at < forget_before))
            if await conn.scalar(select(func.count()).select_from(EveLogin)) >= most:
                return False
            await conn.execute(
                insert(EveLogin).values(
                    state_hash=state_hash,
                    browser_hash=browser_hash,
                    verifier=verifier,
                    link_user_id=link_user_id,
                    created_at=now,
                )
            )
        return True

    async def take_login(self, state_hash: str) -> PendingLogin | None:
        """The login with this state, removed so that it is used once: of two callbacks racing
        with one state, only the one whose delete removed the row gets it."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    select(
                        EveLogin.browser_hash,
                        EveLogin.verifier,
                        EveLogin.link_user_id,
                        EveLogin.created_at,
                    ).where(EveLogin.state_hash == state_hash)
                )
            ).first()
            if row is None:
                return None
            gone = await conn.execute(delete(EveLogin).where(EveLogin.state_hash == state_hash))
            if gone.rowcount != 1:
                return None
        return PendingLogin(*row)

    # Users and characters

    async def sign_in(
        self,
        *,
        character_id: int,
        name: str,
        scopes: Sequence[str],
        refresh_token: bytes | None,
        link_user_id: str | None,
        admin_characters: Iterable[int],
        now: int,
    ) -> SignedIn:
        """Record a character's login: to the linking user (it moves there from any other
        user: the login proves its owner), else to the user who has it, else to a new user (a
        service admin when it is the first one of a fresh service, or when the character is
        an admin's)."""
        async with self._engine.begin() as conn:
            owner = await conn.scalar(
                select(EveCharacter.user_id).where(EveCharacter.character_id == character_id)
            )
            user_id = link_user_id or owner
            new_user = user_id is None
            if user_id is None:
                user_id = uuid.uuid4().hex
                await _new_user(conn, user_id, now)
            elif not await conn.scalar(select(func.count()).where(EveUser.id == user_id)):
                # A linking user's first character: their user id came from elsewhere (an
                # admin link, an external issuer), and now gets a row of its own.
                await conn.execute(
                    insert(EveUser).values(
                        id=user_id, created_at=now, admin=False, signed_out_at=None
                    )
                )
            values = {
                "user_id": user_id,
                "name": name,
                "scopes": list(scopes),
                "refresh_token": refresh_token,
                "needs_login": False,
            }
            if owner is None:
                await conn.execute(
                    insert(EveCharacter).values(
                        character_id=character_id,
                        corporation_id=None,
                        alliance_id=None,
                        linked_at=now,
                        affiliation_expires_at=0,
                        **values,
                    )
                )
            else:
                if owner != user_id:
                    values["linked_at"] = now
                await conn.execute(
                    update(EveCharacter)
                    .where(EveCharacter.character_id == character_id)
                    .values(**values)
                )
            if character_id in set(admin_characters):
                await conn.execute(update(EveUser).where(EveUser.id == user_id).values(admin=True))
            admin = bool(await conn.scalar(select(EveUser.admin).where(EveUser.id == user_id)))
        return SignedIn(user_id, admin, new_user, owner if owner != user_id else None)

    async def characters(self, user_id: str) -> list[CharacterRecord]:
        query = (
            select(*_CHARACTER)
            .where(EveCharacter.user_id == user_id)
            .order_by(EveCharacter.linked_at, EveCharacter.character_id)
        )
        async with self._engine.connect() as conn:
            return [_character(row) for row in await conn.execute(query)]

    async def unlink(self, user_id: str, character_id: int) -> bytes | bool | None:
        """Remove the user's character; its encrypted refresh token (None if it had none), or
        False when the user has no such character."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    select(EveCharacter.refresh_token).where(
                        EveCharacter.character_id == character_id,
                        EveCharacter.user_id == user_id,
                    )
                )
            ).first()
            if row is None:
                return False
            gone = EveCharacter.character_id == character_id
            await conn.execute(delete(EveCharacter).where(gone))
        return row.refresh_token

    async def sign_out(self, user_id: str, now: int) -> list[bytes]:
        """Withdraw the user's tokens of ours issued until now and forget their refresh
        tokens (returned, to revoke at EVE); their characters stay linked, needing a login."""
        async with self._engine.begin() as conn:
            tokens = (
                await conn.scalars(
                    select(EveCharacter.refresh_token).where(
                        EveCharacter.user_id == user_id, EveCharacter.refresh_token.is_not(None)
                    )
                )
            ).all()
            await conn.execute(
                update(EveCharacter)
                .where(EveCharacter.user_id == user_id)
                .values(refresh_token=None, needs_login=True)
            )
            await conn.execute(
                update(EveUser).where(EveUser.id == user_id).values(signed_out_at=now)
            )
        return [token for token in tokens if token is not None]

    async def accounts(self, user_ids: Iterable[str] | None = None) -> list[AccountRecord]:
        """Every user with their characters (or only those of `user_ids`)."""
        users = select(EveUser.id, EveUser.admin, EveUser.signed_out_at)
        characters = select(*_CHARACTER).order_by(EveCharacter.linked_at)
        if user_ids is not None:
            wanted = list(user_ids)
            users = users.where(EveUser.id.in_(wanted))
            characters = characters.where(EveCharacter.user_id.in_(wanted))
        async with self._engine.connect() as conn:
            user_rows = (await conn.execute(users)).all()
            by_user: dict[str, list[CharacterRecord]] = {}
            for row in await conn.execute(characters):
                record = _character(row)
                by_user.setdefault(record.user_id, []).append(record)
        return [
            AccountRecord(row.id, row.admin, row.signed_out_at, tuple(by_user.get(row.id, ())))
            for row in user_rows
        ]

    # Token custody

    async def refresh_token(self, character_id: int) -> bytes | None:
        """The character's encrypted refresh token; None when it has none or needs a login."""
        async with self._engine.connect() as conn:
            token: bytes | None = await conn.scalar(
                select(EveCharacter.refresh_token).where(
                    EveCharacter.character_id == character_id,
                    EveCharacter.needs_login.is_(False),
                )
            )
        return token

    async def replace_refresh_token(self, character_id: int, old: bytes, new: bytes) -> bool:
        """Store the token EVE sent in place of `old`; False when `old` is no longer stored."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(EveCharacter)
                .where(
                    EveCharacter.character_id == character_id,
                    EveCharacter.refresh_token == old,
                )
                .values(refresh_token=new)
            )
        return result.rowcount == 1

    async def needs_login(self, character_id: int, old: bytes) -> bool:
        """EVE refused `old`: forget it and mark the character as needing a new login; False
        when another token replaced `old` meanwhile (that one is still good)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(EveCharacter)
                .where(
                    EveCharacter.character_id == character_id,
                    EveCharacter.refresh_token == old,
                )
                .values(refresh_token=None, needs_login=True)
            )
        return result.rowcount == 1

    # Affiliations

    async def set_affiliations(self, affiliations: Iterable[Affiliation]) -> None:
        async with self._engine.begin() as conn:
            for item in affiliations:
                await conn.execute(
                    update(EveCharacter)
                    .where(EveCharacter.character_id == item.character_id)
                    .values(
                        corporation_id=item.corporation_id,
                        alliance_id=item.alliance_id,
                        affiliation_expires_at=item.expires_at,
                    )
                )
