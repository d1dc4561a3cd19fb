"""The owner of background tasks: holds them, logs their failures, ends them on close."""

from __future__ import annotations

import asyncio
import logging

import pytest

from mapper.core.tasks import Tasks


async def test_a_group_closes_its_tasks_and_the_owner_closes_every_group() -> None:
    owner = Tasks()
    rooms, sync = owner.group("rooms"), owner.group("sync")
    forever = [rooms.spawn(asyncio.Event().wait()), sync.spawn(asyncio.Event().wait())]
    assert len(owner) == 2 and len(rooms) == 1
    await rooms.close()
    assert forever[0].cancelled() and not forever[1].done()
    assert len(owner) == 1
    await owner.close()
    assert forever[1].cancelled() and len(owner) == 0
    with pytest.raises(RuntimeError, match="stopped"):
        owner.spawn(asyncio.sleep(0))


async def test_wait_returns_when_the_work_is_done() -> None:
    jobs = Tasks().group("jobs")
    done: list[int] = []

    async def job(number: int) -> None:
        await asyncio.sleep(0)
        done.append(number)

    for number in range(3):
        jobs.spawn(job(number))
    await asyncio.wait_for(jobs.wait(), 5)
    assert sorted(done) == [0, 1, 2] and len(jobs) == 0


async def test_a_failure_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    owner = Tasks()

    async def fail() -> None:
        raise ValueError("boom")

    with caplog.at_level(logging.ERROR, logger="mapper.tasks"):
        task = owner.group("upkeep").spawn(fail(), name="upkeep")
        await asyncio.wait({task})
    failures = [record for record in caplog.records if "upkeep failed" in record.getMessage()]
    assert len(failures) == 1
