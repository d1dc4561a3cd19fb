"""The sync engine's statements: subjects (who is due for what) and the character status
projection (what ESI last said). Times are milliseconds since the epoch.

A subject is claimed with one conditional UPDATE, so two processes of the service never run
the same subject at once, and a run that died (its process killed) is taken over once it is
older than the stale limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from mapper.persistence.models import CharacterStatus, SyncSubject

IDLE, RUNNING = "idle", "running"

# The columns of a character's status that ESI answers fill.
STATUS_FIELDS = ("online", "system_id", "ship_type_id", "docked")


@dataclass(frozen=True, slots=True)
class Subject:
    dataset: str
    user_id: str
    next_due_at: int
    min_expires_at: int
    failures: int
    synced_character_ids: list[int]


@dataclass(frozen=True, slots=True)
class Character:
    """A character's last known status; None where nothing is known yet."""

    character_id: int
    user_id: str
    name: str
    tracked: bool
    online: bool | None
    system_id: int | None
    ship_type_id: int | None
    docked: bool | None


_SUBJECT = (
    SyncSubject.dataset,
    SyncSubject.user_id,
    SyncSubject.next_due_at,
    SyncSubject.min_expires_at,
    SyncSubject.failures,
    SyncSubject.synced_character_ids,
)
_CHARACTER = (
    CharacterStatus.character_id,
    CharacterStatus.user_id,
    CharacterStatus.name,
    CharacterStatus.tracked,
    CharacterStatus.online,
    CharacterStatus.system_id,
    CharacterStatus.ship_type_id,
    CharacterStatus.docked,
)


class SyncStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._dialect = {"postgresql": postgresql, "sqlite": sqlite}[engine.dialect.name]

    # Subjects

    async def request(self, user_id: str, datasets: Iterable[str], now: int) -> None:
        """The user is present: create their subjects if new, and mark them wanted now."""
        rows = [
            {
                "dataset": dataset,
                "user_id": user_id,
                "status": IDLE,
                "last_requested_at": now,
                "next_due_at": 0,
                "min_expires_at": 0,
                "failures": 0,
                "synced_character_ids": [],
            }
            for dataset in datasets
        ]
        statement = self._dialect.insert(SyncSubject).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=["dataset", "user_id"],
            set_={"last_requested_at": statement.excluded.last_requested_at},
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    async def touch(self, user_ids: Sequence[str], now: int) -> None:
        """Renew the users' subjects as wanted (users present in this process)."""
        if not user_ids:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                update(SyncSubject)
                .where(SyncSubject.user_id.in_(list(user_ids)))
                .values(last_requested_at=now)
            )

    async def due(
        self, now: int, *, hot_since: int, stale_before: int, limit: int
    ) -> list[tuple[str, str]]:
        """(dataset, user id) of subjects due by `now`, wanted since `hot_since`, and not
        running (or running since before `stale_before`), oldest due first."""
        query = (
            select(SyncSubject.dataset, SyncSubject.user_id)
            .where(
                SyncSubject.next_due_at <= now,
                SyncSubject.last_requested_at >= hot_since,
                _claimable(stale_before),
            )
            .order_by(SyncSubject.next_due_at)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [(row[0], row[1]) for row in await conn.execute(query)]

    async def claim(
        self, dataset: str, user_id: str, work_id: str, now: int, *, stale_before: int
    ) -> Subject | None:
        """Mark the subject running under `work_id` if it is due and nobody runs it."""
        where = and_(
            SyncSubject.dataset == dataset,
            SyncSubject.user_id == user_id,
            SyncSubject.next_due_at <= now,
            _claimable(stale_before),
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(SyncSubject)
                .where(where)
                .values(status=RUNNING, work_id=work_id, started_at=now)
            )
            if result.rowcount != 1:
                return None
            row = (
                await conn.execute(
                    select(*_SUBJECT).where(
                        SyncSubject.dataset == dataset, SyncSubject.user_id == user_id
                    )
                )
            ).one()
        return Subject(*row)

    async def next_due_at(self, dataset: str, user_id: str) -> int | None:
        """When the subject is next due (ms epoch), or None for a subject that does not exist."""
        query = select(SyncSubject.next_due_at).where(
            SyncSubject.dataset == dataset, SyncSubject.user_id == user_id
        )
        async with self.engine.connect() as conn:
            return (await conn.execute(query)).scalar_one_or_none()

    async def finish(
        self,
        subject: Subject,
        work_id: str,
        *,
        next_due_at: int,
        min_expires_at: int,
        failures: int,
        synced_character_ids: list[int],
    ) -> None:
        """End a run; a run that was taken over as dead (another work id) changes nothing."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(SyncSubject)
                .where(
                    SyncSubject.dataset == subject.dataset,
                    SyncSubject.user_id == subject.user_id,
                    SyncSubject.work_id == work_id,
                )
                .values(
                    status=IDLE,
                    next_due_at=next_due_at,
                    min_expires_at=min_expires_at,
                    failures=failures,
                    synced_character_ids=synced_character_ids,
                )
            )

    async def forget(self, unseen_since: int) -> int:
        """Delete the subjects of users not present since `unseen_since`; how many went."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(SyncSubject).where(SyncSubject.last_requested_at < unseen_since)
            )
        return result.rowcount

    # Character status

    async def characters(self, user_ids: Iterable[str]) -> list[Character]:
        users = list(user_ids)
        if not users:
            return []
        query = select(*_CHARACTER).where(CharacterStatus.user_id.in_(users))
        async with self.engine.connect() as conn:
            return [Character(*row) for row in await conn.execute(query)]

    async def save_characters(self, changes: Mapping[int, Mapping[str, Any]], now: int) -> None:
        """Write only the given columns of each character. A character seen for the first
        time comes with its `user_id` and `name`."""
        if not changes:
            return
        async with self.engine.begin() as conn:
            for character_id, fields in changes.items():
                row = {
                    "character_id": character_id,
                    "user_id": "",
                    "name": "",
                    "tracked": True,
                    **{field: None for field in STATUS_FIELDS},
                    **fields,
                    "updated_at": now,
                }
                statement = self._dialect.insert(CharacterStatus).values(row)
                statement = statement.on_conflict_do_update(
                    index_elements=["character_id"],
                    set_={key: row[key] for key in [*fields, "updated_at"]},
                )
                await conn.execute(statement)

    async def delete_characters(self, user_id: str, character_ids: Iterable[int]) -> None:
        """Forget characters the user no longer has (another user's row stays)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(CharacterStatus).where(
                    CharacterStatus.user_id == user_id,
                    CharacterStatus.character_id.in_(list(character_ids)),
                )
            )


def _claimable(stale_before: int) -> Any:
    return or_(
        SyncSubject.status == IDLE,
        and_(SyncSubject.status == RUNNING, SyncSubject.started_at < stale_before),
    )
