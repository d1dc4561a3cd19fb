"""Merging a chain's stored updates into one state.

`merge` runs on the event loop for the small batches a flush writes. `Folder` folds a whole
chain (base and log) in a worker process: decoding a large chain holds the interpreter for
hundreds of milliseconds (pycrdt keeps the GIL), which no room should have to wait out.

Whatever builds a document from stored bytes goes through `repaired_doc` or
`load_document`: content an older version stored nested too deep is deleted before anything
walks the document (see `persistence.nesting`), and a fold stores the repaired state.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from pycrdt import Doc, Map, merge_updates

from mapper.persistence import nesting
from mapper.persistence.records import Folded

log = logging.getLogger(__name__)

# merge_updates takes time quadratic in the number of updates it gets (20,000 small updates:
# 1.4 s, blocking the loop); merging in groups of this size and then merging the results takes
# 30 ms for the same input.
_MERGE_GROUP = 64


def merge(updates: Sequence[bytes]) -> list[bytes]:
    """One Yjs update equivalent to `updates`; the updates unchanged if they cannot be merged
    (they are stored as they are rather than lost)."""
    blobs = list(updates)
    try:
        while len(blobs) > 1:
            blobs = [
                merge_updates(*blobs[start : start + _MERGE_GROUP])
                for start in range(0, len(blobs), _MERGE_GROUP)
            ]
    except ValueError as error:
        log.warning("storing %d updates unmerged: %s", len(updates), error)
        return list(updates)
    return blobs


def apply_stored(doc: Doc, updates: Sequence[bytes]) -> None:
    """Apply a chain's stored updates (base, then log) to `doc`, merged in groups."""
    for update in merge([update for update in updates if update]):
        doc.apply_update(update)


def repaired_doc(updates: Sequence[bytes]) -> Doc:
    """A document from stored updates, holding nothing nested over the limits."""
    doc: Doc = Doc()
    apply_stored(doc, updates)
    _repair(doc, nesting.survey(doc.get_update()))
    return doc


async def load_document(updates: Sequence[bytes]) -> Doc:
    """`repaired_doc` for the event loop: the document is read in a thread (the Doc itself
    stays on the loop's thread, which owns it)."""
    doc: Doc = Doc()
    apply_stored(doc, updates)
    _repair(doc, await asyncio.to_thread(nesting.survey, doc.get_update()))
    return doc


def _repair(doc: Doc, survey: nesting.Survey) -> None:
    if survey.too_deep:
        deleted = nesting.repair(doc, survey.too_deep)
        log.warning("deleted %d stored items nested over the limits", deleted)


def fold(updates: Sequence[bytes], counted: Sequence[str]) -> Folded:
    """One state holding `updates`, deleted content garbage-collected, and the number of
    entries in each of the `counted` root maps."""
    doc = repaired_doc(updates)
    return Folded(doc.get_update(), {name: len(doc.get(name, type=Map)) for name in counted})


def _exit_with_parent() -> None:
    """Worker start-up: end the worker when the service that started it is gone, even when
    it was killed outright and could not shut the pool down.

    It waits on multiprocessing's parent sentinel (a pipe the parent holds open), which also
    reports a parent that died while this worker was still starting; comparing os.getppid()
    with its value at start-up misses that case and leaves the worker, and with it the
    resource tracker whose pipe it holds, running for good.
    """
    parent = multiprocessing.parent_process()
    if parent is None:  # not started by multiprocessing: nobody to follow
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class Folder:
    """Runs `fold` in one worker process, started on first use."""

    def __init__(self, counted: Sequence[str]) -> None:
        self._counted = tuple(counted)
        self._pool: ProcessPoolExecutor | None = None

    async def __call__(self, updates: list[bytes]) -> Folded:
        if self._pool is None:
            # spawn: a fork of a process with running threads may inherit held locks.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=context, initializer=_exit_with_parent
            )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fold, updates, self._counted)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
