"""How the browser app copes with a large chain: load time and drag smoothness in Debian's
Chromium, and a screenshot of a realistic small chain for the docs.

    python bench/browser_map.py                   # 500 systems, 600 connections, 2,000 sigs
    python bench/browser_map.py --screenshot mapper/docs/map.png
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pycrdt import Doc, Map, Text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import chromium
from tests.chains import create_chain, join
from tests.databases import database
from tests.server import MapperServer

FIRST = 31_000_001


def fill(doc: Doc, systems: int, connections: int, signatures: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    now = int(time.time() * 1000)
    columns = max(1, int(systems**0.5 * 1.6))
    ids = [FIRST + index for index in range(systems)]
    with doc.transaction():
        system_map = doc.get("systems", type=Map)
        for index, system_id in enumerate(ids):
            system_map[str(system_id)] = Map(
                {
                    "id": system_id,
                    "x": 100 + (index % columns) * 190,
                    "y": 50 + (index // columns) * 110,
                    "alias": rng.choice(
                        ["", "", "home", "static", "hs exit", "C5 farm", "drifters"]
                    ),
                    "status": rng.choice(["unknown", "friendly", "hostile", "occupied", "empty"]),
                    "locked": False,
                    "notes": Text(""),
                    "addedAt": now,
                    "addedBy": "bench",
                }
            )
        connection_map = doc.get("connections", type=Map)
        pairs: set[tuple[int, int]] = set()
        for index in range(1, systems):  # a tree, then extra links
            pairs.add((ids[rng.randrange(index)], ids[index]))
        while len(pairs) < min(connections, systems * (systems - 1) // 2):
            a, b = sorted(rng.sample(ids, 2))
            pairs.add((a, b))
        for a, b in list(pairs)[:connections]:
            a, b = min(a, b), max(a, b)
            connection_map[f"{a}-{b}"] = Map(
                {
                    "a": a,
                    "b": b,
                    "kind": "wormhole",
                    "whType": rng.choice(["K162", "B274", "H296", ""]),
                    "mass": rng.choice(["fresh", "fresh", "reduced", "critical"]),
                    "eol": rng.random() < 0.2,
                    "eolAt": None,
                    "size": rng.choice(["", "medium", "large"]),
                    "createdAt": now,
                    "updatedAt": now,
                }
            )
        signature_map = doc.get("signatures", type=Map)
        for index in range(signatures):
            system_id = ids[index % systems]
            letters = "".join(chr(65 + index // 26**power % 26) for power in range(3))
            sig = f"{letters}-{index % 1000:03d}"
            signature_map[f"{system_id}:{sig}"] = Map(
                {
                    "system": system_id,
                    "sig": sig,
                    "group": "wormhole",
                    "type": "",
                    "name": "",
                    "connection": "",
                    "createdAt": now,
                    "updatedAt": now,
                    "by": "bench",
                }
            )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder, database("sqlite", Path(folder)) as url:
        server = MapperServer(Path(folder) / "data", url).start()
        try:
            token = server.token("bench", name="Bench")
            chain = create_chain(server, token, name="Benchmark chain")
            writer = await join(server, chain, token)
            writer.edit(lambda doc: fill(doc, args.systems, args.connections, args.signatures))
            await asyncio.sleep(1.0)
            async with chromium() as browser:
                page = await (
                    await browser.new_context(viewport={"width": 1400, "height": 900})
                ).new_page()
                loads = []
                for _ in range(args.runs):
                    await page.goto("about:blank")
                    started = time.perf_counter()
                    await page.goto(f"{server.http}/chains/{chain}#token={token}")
                    await page.locator("[data-system]").nth(args.systems - 1).wait_for()
                    loads.append((time.perf_counter() - started) * 1000)
                median = statistics.median(loads)
                print(f"open {args.systems}-system chain: median {median:.0f} ms over {args.runs}")
                if args.screenshot:
                    await page.screenshot(path=args.screenshot)
                    print(f"screenshot: {args.screenshot}")
                box = await page.locator(f'[data-system="{FIRST}"]').bounding_box()
                assert box is not None
                await page.evaluate("""() => { window.frames_ = []; let last = performance.now();
                    const tick = (now) => { window.frames_.push(now - last); last = now;
                    if (window.frames_.length < 10000) requestAnimationFrame(tick); };
                    requestAnimationFrame(tick); }""")
                await page.mouse.move(box["x"] + 20, box["y"] + 10)
                await page.mouse.down()
                started = time.perf_counter()
                for step in range(60):
                    await page.mouse.move(box["x"] + 20 + step * 4, box["y"] + 10 + step * 2)
                await page.mouse.up()
                drag_ms = (time.perf_counter() - started) * 1000
                frames = await page.evaluate("window.frames_.slice(2)")
                frames.sort()
                p95 = frames[int(len(frames) * 0.95)]
                print(
                    f"drag of 60 moves: {drag_ms:.0f} ms; frame interval median "
                    f"{statistics.median(frames):.1f} ms, p95 {p95:.1f} ms"
                )
            await writer.close()
        finally:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=500)
    parser.add_argument("--connections", type=int, default=600)
    parser.add_argument("--signatures", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--screenshot", default="")
    asyncio.run(main(parser.parse_args()))
