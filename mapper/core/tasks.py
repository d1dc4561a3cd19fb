"""Background tasks with an owner.

The service makes one `Tasks`; each part that runs work in the background (the writer, the
rooms, the sync engine, upkeep, fan-out) takes a group of it. A task is held until it ends
(asyncio keeps only weak references to running tasks), a failure is logged rather than lost,
and stopping a group, or the owner, cancels its tasks and waits for them. So nothing the
service started outlives `Service.stop`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger("mapper.tasks")
T = TypeVar("T")


class Tasks:
    def __init__(self, name: str = "service", parent: Tasks | None = None) -> None:
        self.name = name
        self._parent = parent
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def group(self, name: str) -> Tasks:
        """A group for one part of the service; its tasks are this owner's too."""
        return Tasks(f"{self.name}.{name}", self)

    def spawn(self, work: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
        if self._closed:
            work.close()
            raise RuntimeError(f"{self.name} is stopped; no new background work")
        task = asyncio.create_task(work, name=name)
        self._hold(task)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    async def wait(self) -> None:
        """Return once every task of this group has ended (those started meanwhile too)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def cancel(self, task: asyncio.Task[Any]) -> None:
        """Cancel one task and wait until it has ended."""
        task.cancel()
        await asyncio.wait({task})

    async def close(self) -> None:
        """Cancel every task of the group and wait for them; spawning fails from now on."""
        self._closed = True
        while self._tasks:
            pending = set(self._tasks)
            for task in pending:
                task.cancel()
            await asyncio.wait(pending)

    def _hold(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._ended)
        if self._parent is not None:
            self._parent._hold(task)

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if self._parent is None and not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())
