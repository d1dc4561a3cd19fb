"""Time GET /healthz from a process of its own, so that nothing the test process does (its
garbage collector, the GIL) can stretch a measurement.

    python -m tests.healthz_probe URL EVERY_S MAX_S

Probes every EVERY_S until its stdin closes (or MAX_S pass), then prints one JSON line per
probe: [monotonic time the answer came, seconds it took, HTTP status (0: no answer)].
CLOCK_MONOTONIC is system-wide, so the times compare with the test process's.
"""

from __future__ import annotations

import http.client
import json
import select
import sys
import time
from urllib.parse import urlsplit


def probe(url: str, every_s: float, max_s: float) -> list[tuple[float, float, int]]:
    parts = urlsplit(url)
    samples: list[tuple[float, float, int]] = []
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    deadline = time.monotonic() + max_s
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            connection.request("GET", parts.path)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()  # reconnects on the next request
            status = 0
        samples.append((time.monotonic(), time.perf_counter() - started, status))
        # Wait for the next probe, or for the test to close stdin.
        readable, _, _ = select.select([sys.stdin], [], [], every_s)
        if readable and not sys.stdin.buffer.read1(1):
            break
    connection.close()
    return samples


if __name__ == "__main__":
    for sample in probe(sys.argv[1], float(sys.argv[2]), float(sys.argv[3])):
        print(json.dumps(sample))
