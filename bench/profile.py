#!/usr/bin/env python3
"""Profile mapper under one bench workload with py-spy, and summarize where the time goes.

    python bench/profile.py                                  # 50x10@2, 12 s of samples
    python bench/profile.py --workload 1x100@1 --seconds 20 --out /tmp/fanout.txt
    python bench/profile.py --summarize /tmp/fanout.txt      # summary of an earlier profile

It runs `bench/run.py --targets mapper` for the workload, attaches `py-spy record --format raw`
to the mapper server once the load generator has connected and warmed up, and prints the
functions with the largest share of samples: "self" (the innermost frame) and "inclusive"
(anywhere on the stack), over every sample of every thread. Time spent in native code (uvloop,
libuv, syscalls) with no Python frame of its own counts as self time of the innermost Python
frame, usually `Runner.run`. Needs py-spy (`pip install py-spy`) and ptrace rights on the
server process (same user; `kernel.yama.ptrace_scope` 0 or 1 with the parent tracing).
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "bench" / "run.py"
CONNECT_AND_WARMUP_S = 8.0  # loadgen connects (a few seconds) and warms up (3 s) first
FIND_SERVER_TIMEOUT_S = 30.0


def server_pid(parent: int) -> int | None:
    """The `mapper serve` process started by run.py (pid `parent`), if it runs yet."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == parent and b"mapper" in cmdline and b"serve" in cmdline:
            return int(entry.name)
    return None


def record(workload: str, seconds: float, rate: int, native: bool, out: Path) -> None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    duration = CONNECT_AND_WARMUP_S + seconds + 2
    bench = subprocess.Popen(
        [
            sys.executable, str(RUN), "--targets", "mapper", "--workloads", workload,
            "--duration", str(duration), "--idle-rooms", "0",
            "--json", str(Path(tempfile.gettempdir()) / "profile-run.json"),
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + FIND_SERVER_TIMEOUT_S
        pid = None
        while pid is None and time.monotonic() < deadline and bench.poll() is None:
            time.sleep(0.2)
            pid = server_pid(bench.pid)
        if pid is None:
            sys.exit("the mapper server did not start")
        time.sleep(CONNECT_AND_WARMUP_S)
        command = [py_spy, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw"]
        command += ["--duration", str(int(seconds)), "--output", str(out)]
        # Native stacks need the process paused per sample; Python stacks are read without.
        command.append("--native" if native else "--nonblocking")
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        bench.wait(timeout=duration + 180)
    finally:
        if bench.poll() is None:
            # run.py stops the server and the load generator on Ctrl-C, not on SIGTERM.
            bench.send_signal(signal.SIGINT)
            bench.wait(timeout=30)


def summarize(path: Path, top: int) -> str:
    """Self and inclusive shares per function (file:line stripped), as markdown tables."""
    own: collections.Counter[str] = collections.Counter()
    anywhere: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        functions = [_function(frame) for frame in stack.split(";")]
        own[functions[-1]] += samples
        for function in set(functions):
            anywhere[function] += samples
    lines = [f"{total} samples", "", "| self % | function |", "|---:|---|"]
    lines += [f"| {n * 100 / total:.1f} | `{f}` |" for f, n in own.most_common(top)]
    lines += ["", "| inclusive % | function |", "|---:|---|"]
    lines += [f"| {n * 100 / total:.1f} | `{f}` |" for f, n in anywhere.most_common(top * 2)]
    return "\n".join(lines)


def _function(frame: str) -> str:
    """`name (path/to/file.py:123)` -> `name (file.py)`: lines of one function add up."""
    name, _, where = frame.partition(" (")
    file = where.rstrip(")").rpartition(":")[0] or where.rstrip(")")
    return f"{name} ({'/'.join(Path(file).parts[-2:])})" if file else name


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workload", default="50x10@2", help="RxC@F, as bench/run.py takes")
    parser.add_argument("--seconds", type=float, default=12.0, help="how long to sample")
    parser.add_argument("--rate", type=int, default=250, help="samples a second")
    parser.add_argument("--native", action="store_true", help="also sample native frames")
    parser.add_argument("--top", type=int, default=25, help="rows of the self table")
    parser.add_argument("--out", type=Path, help="keep the raw py-spy profile here")
    parser.add_argument("--summarize", type=Path, help="only summarize this raw profile")
    args = parser.parse_args()
    if args.summarize:
        print(summarize(args.summarize, args.top))
        return
    out = args.out or Path(tempfile.gettempdir()) / f"profile-{os.getpid()}.txt"
    record(args.workload, args.seconds, args.rate, args.native, out)
    print(f"raw profile: {out}\n")
    print(summarize(out, args.top))


if __name__ == "__main__":
    main()
