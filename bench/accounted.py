"""`mapper serve` with the CPU time of the hot path's steps counted, for `bench/run.py`.

    python bench/run.py --targets mapper --workloads 50x10@2 --idle-rooms 0 --mapper-cmd \
      "{python} bench/accounted.py --out /tmp/steps.txt serve --port {port} --data-dir {data_dir}"

Each step below is wrapped to add the thread CPU time it took (`time.thread_time_ns`: user and
kernel, exact, unlike sampling) and its calls; every 5 s the table of the last 5 s goes to
`--out`, with the event loop thread's and the process's CPU over the same time. Steps nest:
`room.receive` holds the nesting check (`room.check_update`), pycrdt's apply and the
schema guard's `enforce`; `apply_update` holds the observers (the guard's, and
`room._on_change`, which holds `room.broadcast` and `writer.add`). `writer merge` runs outside
any frame, when the update writer flushes.
The wrappers cost about a microsecond a call; read the figures as shares, not as exact costs.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mapper import cli
from mapper.api import sockets
from mapper.chains.schema import SchemaGuard
from mapper.persistence import writer
from mapper.rooms import room
from mapper.rooms.room import Room
from mapper.transport import WebSocketProtocol

REPORT_EVERY_S = 5.0
STEPS: list[tuple[str, object, str]] = [
    ("frame read (data_received)", WebSocketProtocol, "data_received"),
    ("messages decoded (receive_now)", sockets._Reader, "receive_now"),
    ("room.receive", Room, "receive"),
    # Nesting is native where the install compiled it (setup.py): its methods can't be wrapped.
    ("nesting check (room.check_update)", Room, "check_update"),
    # Room updates go through pycrdt's native calls directly (room.apply_update).
    ("pycrdt apply (room.apply_update)", room, "apply_update"),
    ("schema guard observers", SchemaGuard, "_on_events"),
    ("room._on_change", Room, "_on_change"),
    ("room.broadcast", Room, "broadcast"),
    ("schema guard enforce", SchemaGuard, "enforce"),
    ("writer.add", writer.UpdateWriter, "add"),
    # Each flush merges a chain's pending updates into one row, on the event loop's thread.
    ("writer merge", writer, "merge"),
]


class Accounts:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.steps: dict[str, list[int]] = {name: [0, 0] for name, _, _ in STEPS}
        self.thread_ns = time.thread_time_ns()
        self.process_ns = time.process_time_ns()
        self.started = False

    def wrap(self, name: str, owner: object, attribute: str) -> None:
        original: Callable[..., Any] = getattr(owner, attribute)
        totals = self.steps[name]

        @functools.wraps(original)
        def counted(*args: Any, **kwargs: Any) -> Any:
            began = time.thread_time_ns()
            try:
                return original(*args, **kwargs)
            finally:
                totals[0] += time.thread_time_ns() - began
                totals[1] += 1

        setattr(owner, attribute, counted)

    def start_reports(self) -> None:
        """On the server's loop, from its first connection on."""
        if not self.started:
            self.started = True
            asyncio.get_running_loop().call_later(REPORT_EVERY_S, self.report)

    def report(self) -> None:
        thread_ns, process_ns = time.thread_time_ns(), time.process_time_ns()
        lines = [
            f"event loop thread {(thread_ns - self.thread_ns) / 1e9:.3f} s, "
            f"process {(process_ns - self.process_ns) / 1e9:.3f} s"
        ]
        for name, totals in self.steps.items():
            spent, calls = totals
            each = spent / calls / 1e3 if calls else 0.0
            lines.append(f"  {name:32} {spent / 1e9:7.3f} s {calls:7d} calls {each:7.1f} us")
            totals[:] = [0, 0]
        self.thread_ns, self.process_ns = thread_ns, process_ns
        with self.out.open("a") as file:
            file.write("\n".join(lines) + "\n")
        asyncio.get_running_loop().call_later(REPORT_EVERY_S, self.report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="appended every 5 s")
    args, rest = parser.parse_known_args()
    accounts = Accounts(args.out)
    for name, owner, attribute in STEPS:
        accounts.wrap(name, owner, attribute)
    connected = WebSocketProtocol.connection_made

    def connection_made(self: WebSocketProtocol, transport: asyncio.BaseTransport) -> None:
        accounts.start_reports()
        connected(self, transport)

    WebSocketProtocol.connection_made = connection_made  # type: ignore[method-assign]
    cli.main(rest)


if __name__ == "__main__":
    main()
