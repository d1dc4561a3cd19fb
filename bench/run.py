#!/usr/bin/env python3
"""Load benchmark: the same workloads against the stock Node y-websocket server and mapper.

    python bench/run.py                          # node and mapper, 3 workloads, 20 s each
    python bench/run.py --targets node --duration 5 --idle-rooms 50
    python bench/run.py --database-url postgresql+psycopg://...   # adds the mapper-pg target
    python bench/run.py --rounds 7 --idle-rooms 0  # seven rounds: each ratio's median and range

The server runs on CPU 0, the load generator (bench/loadgen.mjs) on CPU 1. Figures are
printed, never asserted; see bench/README.md for what each one means. Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOADGEN = ROOT / "bench" / "loadgen.mjs"
NODE_DIR = ROOT / "tests" / "node"
FLOOR_SERVER = ROOT / "bench" / "floor_server.py"
NODE_SERVER_JS = NODE_DIR / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
RESULTS_DIR = ROOT / "bench" / "results"

DEFAULT_WORKLOADS = "10x5@5,50x10@2,1x100@1"
MAPPER_CMD = "{python} -m mapper serve --port {port} --data-dir {data_dir}"
MAPPER_PG_SUFFIX = " --database-url {database_url}"
MAPPER_TOKEN_CMD = "{python} -m mapper token bench-user --data-dir {data_dir}"

SERVER_CPU = "0"
LOADGEN_CPU = "1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
RSS_POLL_S = 0.1
IDLE_SETTLE_S = 2.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


class TargetUnavailable(RuntimeError):
    pass


# -- /proc accounting -------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    # The command name may contain spaces and parentheses; the fields start after the last ')'.
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def process_tree(pid: int) -> list[int]:
    """pid and its live descendants (a server may run workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                children.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(
                    int(entry.name)
                )
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds of the tree in user space and in the kernel, each with what its reaped
    children used (utime+cutime, stime+cstime)."""
    user = kernel = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            utime, stime, cutime, cstime = (int(v) for v in _stat_fields(p)[11:15])
            user += utime + cutime
            kernel += stime + cstime
    return user / CLK_TCK, kernel / CLK_TCK


def rss_bytes(pid: int) -> int:
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


@contextlib.contextmanager
def peak_rss(pid: int) -> Iterator[list[int]]:
    """Poll the tree's RSS in a thread; the yielded one-element list holds the peak so far."""
    peak = [rss_bytes(pid)]
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(RSS_POLL_S):
            peak[0] = max(peak[0], rss_bytes(pid))

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


# -- processes --------------------------------------------------------------------------------


def pinned(cpu: str, argv: list[str]) -> list[str]:
    """taskset execs the command, so the PID we get is the command's own."""
    if {0, 1} <= os.sched_getaffinity(0):
        return ["taskset", "-c", cpu, *argv]
    return argv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM our own child by PID, SIGKILL if it does not go in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def http_json(method: str, url: str, token: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


@dataclass
class Server:
    """One running server process of a target, on a fresh port and data folder."""

    name: str
    proc: subprocess.Popen
    port: int
    data_dir: Path
    log_path: Path
    token: str = ""

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chains"

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Target:
    name: str
    argv_template: str  # placeholders: {python} {port} {data_dir} {database_url}
    token_template: str = ""  # empty: the server needs no token
    health_path: str = ""  # HTTP path answering 200 once the server is ready
    creates_rooms: bool = False  # rooms are chain ids made via POST /api/chains
    database_url: str = ""

    def _format(self, template: str, port: int, data_dir: Path) -> list[str]:
        return [
            part.format(
                python=sys.executable, port=port, data_dir=data_dir, database_url=self.database_url
            )
            for part in shlex.split(template)
        ]

    @contextlib.contextmanager
    def running(self, workdir: Path) -> Iterator[Server]:
        port = free_port()
        data_dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=workdir))
        log_path = data_dir / "server.log"
        # HOST and PORT are read by the Node server; MAPPER_INTEL=0 keeps mapper from polling
        # EVE-Scout and ESI (a bench stays on loopback).
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "MAPPER_INTEL": "0"}
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                pinned(SERVER_CPU, self._format(self.argv_template, port, data_dir)),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        server = Server(self.name, proc, port, data_dir, log_path)
        try:
            try:
                self._wait_ready(server)
                if self.token_template:
                    server.token = subprocess.run(
                        self._format(self.token_template, port, data_dir),
                        check=True,
                        capture_output=True,
                        text=True,
                        timeout=30,
                        cwd=ROOT,
                    ).stdout.strip()
            except (OSError, subprocess.SubprocessError) as error:
                detail = getattr(error, "stderr", None) or ""
                raise TargetUnavailable(f"{error} {detail}\n{server.log_tail()}") from error
            yield server
        finally:
            stop_process(proc)

    def _wait_ready(self, server: Server) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                tail = server.log_tail()
                last = tail.splitlines()[-1] if tail else ""
                raise TargetUnavailable(
                    f"{self.name} exited with {server.proc.returncode}: {last}\n{tail}"
                )
            with contextlib.suppress(OSError):
                if not self.health_path:
                    socket.create_connection(("127.0.0.1", server.port), timeout=0.5).close()
                    return
                url = f"http://127.0.0.1:{server.port}{self.health_path}"
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            time.sleep(0.1)
        raise TargetUnavailable(f"{self.name} not ready after {START_TIMEOUT_S}s")

    def room_args(self, server: Server, count: int, prefix: str) -> list[str]:
        """loadgen arguments naming `count` rooms that exist on this server."""
        if not self.creates_rooms:
            return ["--rooms", str(count), "--room-prefix", prefix]
        base = f"http://127.0.0.1:{server.port}/api/chains"
        ids = [
            str(http_json("POST", base, server.token, {"name": f"{prefix}-{i}"})["id"])
            for i in range(count)
        ]
        return ["--room-ids", ",".join(ids)]


# -- load generator ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    rooms: int
    clients: int
    hz: float

    @classmethod
    def parse(cls, text: str) -> Workload:
        """`RxC@F`: R rooms x C clients x F Hz."""
        try:
            shape, hz = text.split("@")
            rooms, clients = shape.split("x")
            return cls(int(rooms), int(clients), float(hz))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not RxC@F, e.g. 10x5@5") from None

    def __str__(self) -> str:
        return f"{self.rooms}x{self.clients}@{self.hz:g}"


def start_loadgen(server: Server, extra: list[str]) -> subprocess.Popen:
    argv = ["node", str(LOADGEN), "--url", server.ws_base, "--token", server.token, *extra]
    # stderr (the human summary) goes straight to ours.
    return subprocess.Popen(
        pinned(LOADGEN_CPU, argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def stdout_lines(proc: subprocess.Popen) -> queue.Queue:
    """The process's JSON stdout lines, read by a thread so that waits can time out."""
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            with contextlib.suppress(ValueError):
                lines.put(json.loads(line))
        lines.put(None)  # EOF

    threading.Thread(target=read, daemon=True).start()
    return lines


def next_message(lines: queue.Queue, deadline: float) -> dict:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("load generator did not finish in time")
    try:
        message = lines.get(timeout=remaining)
    except queue.Empty:
        raise TimeoutError("load generator did not finish in time") from None
    if message is None:
        raise RuntimeError("load generator exited without a result")
    return message


def run_workload(
    target: Target, workload: Workload, args: argparse.Namespace, workdir: Path
) -> dict:
    with target.running(workdir) as server:
        rooms = target.room_args(server, workload.rooms, f"w{workload.rooms}x{workload.clients}")
        extra = [
            *rooms,
            "--clients", str(workload.clients),
            "--hz", str(workload.hz),
            "--duration", str(args.duration),
            "--warmup", str(args.warmup),
            "--full-per-room", str(args.full_per_room),
        ]  # fmt: skip
        loadgen = start_loadgen(server, extra)
        lines = stdout_lines(loadgen)
        # connect + warm-up + run + drain (<= 5 s) + generous slack for connecting
        deadline = time.monotonic() + args.warmup + args.duration + 120
        cpu_start = cpu_end = None
        try:
            with peak_rss(server.proc.pid) as peak:
                while True:
                    message = next_message(lines, deadline)
                    if message.get("phase") == "measure-start":
                        cpu_start = cpu_seconds(server.proc.pid)
                    elif message.get("phase") == "measure-end":
                        cpu_end = cpu_seconds(server.proc.pid)
                    elif "result" in message:
                        result = message["result"]
                        break
            loadgen.wait(STOP_TIMEOUT_S)  # it prints its summary and exits by itself
        finally:
            stop_process(loadgen)
        if cpu_start is None or cpu_end is None:
            raise RuntimeError("load generator skipped its measurement markers")
        user, kernel = (end - start for start, end in zip(cpu_start, cpu_end, strict=True))
        result["server"] = {
            "cpu_s": user + kernel,
            "kernel_cpu_s": kernel,  # loopback TCP: a sender's write also runs the receive side
            "cpu_utilization": (user + kernel) / args.duration,
            "peak_rss_mb": peak[0] / 2**20,
        }
        return result


def idle_room_memory(target: Target, rooms: int, workdir: Path) -> dict:
    """(RSS with 1 + `rooms` idle rooms - RSS with 1 idle room) / `rooms`."""

    def hold(server: Server, count: int, prefix: str) -> subprocess.Popen:
        proc = start_loadgen(server, ["--idle", *target.room_args(server, count, prefix)])
        message = next_message(stdout_lines(proc), time.monotonic() + 120)
        if message.get("phase") != "ready" or message.get("connect_failures"):
            stop_process(proc)
            raise RuntimeError(f"idle rooms not ready: {message}")
        return proc

    def settled_rss(pid: int) -> float:
        time.sleep(IDLE_SETTLE_S)
        samples = []
        for _ in range(5):
            samples.append(rss_bytes(pid))
            time.sleep(0.2)
        return sum(samples) / len(samples)

    with target.running(workdir) as server:
        holders = []
        try:
            # One warm room first, so that lazily loaded code is in the baseline, not per room.
            holders.append(hold(server, 1, "idle-warm"))
            baseline = settled_rss(server.proc.pid)
            holders.append(hold(server, rooms, "idle"))
            loaded = settled_rss(server.proc.pid)
        finally:
            for proc in holders:
                proc.stdin.close()  # loadgen closes its sockets and exits
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(STOP_TIMEOUT_S)
                stop_process(proc)
    return {
        "rooms": rooms,
        "baseline_rss_mb": baseline / 2**20,
        "loaded_rss_mb": loaded / 2**20,
        "kib_per_room": (loaded - baseline) / rooms / 1024,
    }


def bench_target(
    target: Target, workloads: list[str], args: argparse.Namespace, tmp: Path, idle: bool
) -> dict:
    """Every workload on a fresh server each, then (if `idle`) the idle memory figure."""
    result: dict = {"workloads": {}}
    for workload in workloads:
        print(f"== {target.name} {workload}", file=sys.stderr, flush=True)
        try:
            result["workloads"][workload] = run_workload(
                target, Workload.parse(workload), args, tmp
            )
        except TargetUnavailable as error:
            # It would not start for the next workload either.
            print(f"   {target.name} unavailable: {error}", file=sys.stderr)
            return {"workloads": {w: {"error": str(error)} for w in workloads}}
        except (RuntimeError, TimeoutError, OSError) as error:
            result["workloads"][workload] = {"error": str(error)}
            print(f"   {target.name} {workload} failed: {error}", file=sys.stderr)
    if idle and args.idle_rooms > 0:
        print(f"== {target.name} idle x{args.idle_rooms}", file=sys.stderr, flush=True)
        try:
            result["idle"] = idle_room_memory(target, args.idle_rooms, tmp)
        except (TargetUnavailable, RuntimeError, TimeoutError, OSError) as error:
            result["idle"] = {"error": str(error)}
            print(f"   {target.name} idle failed: {error}", file=sys.stderr)
    return result


# -- report -----------------------------------------------------------------------------------


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def ratio(mine: float | None, node: float | None) -> str:
    return f"{mine / node:.2f}x" if mine is not None and node else "n/a"


def print_report(results: dict, targets: list[str], workloads: list[str]) -> None:
    header = (
        f"{'target':<10} {'workload':<10} {'p50 ms':>7} {'p99 ms':>7} {'deliv/s':>8} "
        f"{'lost':>5} {'final':>5} {'errors':>6} {'srv CPU s':>9} {'kernel':>6} {'srv CPU':>7} "
        f"{'peak RSS':>8} {'gen CPU':>7}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for target in targets:
        for workload in workloads:
            r = results[target]["workloads"].get(workload)
            if r is None:
                continue
            if "error" in r:
                print(f"{target:<10} {workload:<10} unavailable: {r['error'].splitlines()[0]}")
                continue
            errors = sum(v for k, v in r["errors"].items() if k != "last")
            final = "ok" if r["final_state"]["missing_or_stale_systems"] == 0 else "FAIL"
            print(
                f"{target:<10} {workload:<10} {fmt(r['latency_ms']['p50'], '.2f'):>7} "
                f"{fmt(r['latency_ms']['p99'], '.2f'):>7} {r['delivered_per_s']:>8.0f} "
                f"{r['lost']:>5} {final:>5} {errors:>6} {r['server']['cpu_s']:>9.2f} "
                f"{r['server'].get('kernel_cpu_s', float('nan')):>6.2f} "
                f"{100 * r['server']['cpu_utilization']:>6.0f}% "
                f"{r['server']['peak_rss_mb']:>6.0f}MB "
                f"{100 * r['generator']['cpu_utilization']:>6.0f}%"
            )

    if "node" in results:
        for target in (t for t in targets if t != "node"):
            print(f"\nratios {target}/node   {'p99 latency':>12} {'server CPU':>11}")
            for workload in workloads:
                mine = results[target]["workloads"].get(workload, {})
                node = results["node"]["workloads"].get(workload, {})
                if "error" in mine or "error" in node or not mine or not node:
                    print(f"  {workload:<18} {'n/a':>12} {'n/a':>11}")
                    continue
                p99 = ratio(mine["latency_ms"]["p99"], node["latency_ms"]["p99"])
                cpu = ratio(mine["server"]["cpu_s"], node["server"]["cpu_s"])
                print(f"  {workload:<18} {p99:>12} {cpu:>11}")

    idles = {t: results[t]["idle"] for t in targets if "idle" in results[t]}
    if idles:
        print("\nidle room memory (RSS delta / rooms)")
    for target, idle in idles.items():
        if "error" in idle:
            print(f"  {target:<10} unavailable: {idle['error'].splitlines()[0]}")
        else:
            print(
                f"  {target:<10} {idle['kib_per_room']:8.1f} KiB/room  ({idle['rooms']} rooms, "
                f"baseline {idle['baseline_rss_mb']:.0f} MB -> {idle['loaded_rss_mb']:.0f} MB)"
            )


def cpu_ratio(results: dict, target: str, workload: str) -> float | None:
    """Server CPU of `target` over node's in one round; None where either failed."""
    mine = results[target]["workloads"].get(workload, {})
    node = results["node"]["workloads"].get(workload, {})
    if "error" in mine or "error" in node or not mine or not node or not node["server"]["cpu_s"]:
        return None
    return mine["server"]["cpu_s"] / node["server"]["cpu_s"]


def print_rounds(rounds: list[dict], targets: list[str], workloads: list[str]) -> None:
    """Each round's server CPU ratios, and their median and range: one round moves by 10-20 %
    on a shared machine, a median of several does not."""
    for target in (t for t in targets if t != "node"):
        print(f"\nserver CPU {target}/node over {len(rounds)} rounds")
        for workload in workloads:
            found = [cpu_ratio(results, target, workload) for results in rounds]
            ratios = sorted(r for r in found if r is not None)
            each = " ".join("n/a" if r is None else f"{r:.2f}" for r in found)
            if not ratios:
                print(f"  {workload:<18} n/a")
                continue
            middle = len(ratios) // 2
            median = (ratios[middle] + ratios[~middle]) / 2
            print(
                f"  {workload:<18} median {median:.2f}x  range {ratios[0]:.2f}-{ratios[-1]:.2f}x"
                f"  rounds: {each}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--targets", default="node,mapper", help="comma-separated: node, mapper, mapper-pg, floor"
    )
    parser.add_argument("--workloads", default=DEFAULT_WORKLOADS, help="comma-separated RxC@F")
    parser.add_argument(
        "--duration", type=float, default=20.0, help="measured seconds per workload"
    )
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="unmeasured seconds of load first"
    )
    parser.add_argument(
        "--full-per-room", type=int, default=1, help="real y-websocket clients per room"
    )
    parser.add_argument(
        "--idle-rooms", type=int, default=200, help="0 skips the idle memory figure"
    )
    parser.add_argument("--mapper-cmd", default=MAPPER_CMD, help="server command template")
    parser.add_argument("--mapper-token-cmd", default=MAPPER_TOKEN_CMD, help="prints a token")
    parser.add_argument(
        "--database-url", default="", help="Postgres URL: adds the mapper-pg target"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run everything this many times, the targets' order reversed every other round",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.rounds < 1:
        sys.exit("--rounds must be at least 1")

    if not NODE_SERVER_JS.is_file():
        sys.exit("tests/node/node_modules is missing: run npm ci --prefix tests/node")
    workloads = [str(Workload.parse(w)) for w in args.workloads.split(",") if w]
    target_names = [t for t in args.targets.split(",") if t]
    if args.database_url and "mapper-pg" not in target_names:
        target_names.append("mapper-pg")
    mapper = dict(token_template=args.mapper_token_cmd, health_path="/healthz", creates_rooms=True)
    available = {
        "node": Target("node", f"node {shlex.quote(str(NODE_SERVER_JS))}"),
        "floor": Target("floor", f"{{python}} {shlex.quote(str(FLOOR_SERVER))} --port {{port}}"),
        "mapper": Target("mapper", args.mapper_cmd, **mapper),
        "mapper-pg": Target(
            "mapper-pg",
            args.mapper_cmd + MAPPER_PG_SUFFIX,
            database_url=args.database_url,
            **mapper,
        ),
    }
    unknown = set(target_names) - set(available)
    if unknown or ("mapper-pg" in target_names and not args.database_url):
        sys.exit(f"bad --targets {args.targets!r} (mapper-pg needs --database-url)")

    rounds: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="mapper-bench-") as tmp:
        for number in range(args.rounds):
            # Reversed every other round, so that no target always runs on a machine the
            # other has just warmed (or heated).
            order = target_names if number % 2 == 0 else target_names[::-1]
            if args.rounds > 1:
                print(f"== round {number + 1} of {args.rounds}", file=sys.stderr, flush=True)
            results = {
                name: bench_target(available[name], workloads, args, Path(tmp), idle=number == 0)
                for name in order
            }
            rounds.append(results)
            print_report(results, target_names, workloads)

    if len(rounds) > 1 and "node" in target_names:
        print_rounds(rounds, target_names, workloads)
    RESULTS_DIR.mkdir(exist_ok=True)
    out = args.json or RESULTS_DIR / f"run-{time.strftime('%Y%m%d-%H%M%S')}.json"
    record = {"args": {**vars(args), "json": str(out)}, "results": rounds[0], "rounds": rounds}
    out.write_text(json.dumps(record, indent=2))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
