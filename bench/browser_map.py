"""How the map canvas copes with a large chain, in Debian's Chromium: time to open, frame
times while panning, zooming and dragging, and how soon another client's edit shows. Prints
figures; not a test. With --screenshot, instead a realistic small chain for the docs (pilots
and kills from a fake ESI, Thera from a fake EVE-Scout; see bench/chain_screenshot.py).

    python bench/browser_map.py                   # 500 systems, 600 connections, 2,000 sigs
    python bench/browser_map.py --systems 100 --connections 120 --signatures 400 --phone 4
    python bench/browser_map.py --screenshot mapper/docs/map.png
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Page
from pycrdt import Doc, Map, Text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import chromium
from tests.chains import create_chain, join
from tests.databases import database
from tests.server import MapperServer
from tests.wire import WireClient

FIRST = 31_000_001
# A phone as the issue names it: 390 px wide, touch, a high-density screen.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}


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


FRAMES = """() => { window.frames_ = []; let last = performance.now();
    const tick = (now) => { window.frames_.push(now - last); last = now;
        if (window.frames_.length < 100000) requestAnimationFrame(tick); };
    requestAnimationFrame(tick); }"""
# A point of the canvas's background (no system or line under it), to pan from.
EMPTY_POINT = """() => { const box = document.querySelector(".react-flow").getBoundingClientRect();
    for (let y = box.top + 60; y < box.bottom - 20; y += 7)
    for (let x = box.left + 20; x < box.right - 220; x += 7) {
        const hit = document.elementFromPoint(x, y);
        if (hit && hit.classList.contains("react-flow__pane")) return [x, y]; }
    return null; }"""
# Resolves with the time (ms since the epoch) the system's alias reads `text` on screen.
RENAMED = """([id, text]) => new Promise((resolve) => {
    const box = () => document.querySelector(`[data-system="${id}"] .alias`);
    const observer = new MutationObserver(() => { if (box()?.textContent === text) {
        observer.disconnect(); resolve(performance.timeOrigin + performance.now()); } });
    observer.observe(document.querySelector(".react-flow"),
        {subtree: true, childList: true, characterData: true});
    window.seenReady_ = true; })"""
# Resolves with the time the system's box has moved on screen.
MOVED = """([id]) => new Promise((resolve) => {
    const node = () => document.querySelector(`[data-system="${id}"]`).closest(".react-flow__node");
    const before = node().style.transform;
    const observer = new MutationObserver(() => { if (node().style.transform !== before) {
        observer.disconnect(); resolve(performance.timeOrigin + performance.now()); } });
    observer.observe(document.querySelector(".react-flow"),
        {subtree: true, attributes: true, attributeFilter: ["style"]});
    window.seenReady_ = true; })"""


# The zoom has ended and a frame has been drawn since.
ZOOM_ENDED = """() => {
    if (document.querySelector(".canvas.zooming")) { window.shownAt_ = null; return false; }
    window.shownAt_ ??= performance.now(); return performance.now() - window.shownAt_ > 100; }"""


def sketch_times(trace: Path) -> list[float]:
    """How long each drawing of the zoom sketch took in its worker (ms), from a Chromium trace:
    the worker's animation frame, the canvas's rasterization included."""
    events = json.loads(trace.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    return [
        event["dur"] / 1000
        for event in events
        if event.get("name") == "WorkerAnimationFrameProvider::RequestAnimationFrame"
        and event.get("ph") == "X"
    ]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


async def frame_times(page: Page, interact: Callable[[], Awaitable[None]]) -> list[float]:
    """rAF intervals (ms) while `interact` runs."""
    await page.evaluate(FRAMES)
    await interact()
    return (await page.evaluate("window.frames_")).copy()[2:]


async def open_chain(page: Page, url: str, systems: int, runs: int) -> None:
    loads = []
    for _ in range(runs):
        await page.goto("about:blank")
        started = time.perf_counter()
        await page.goto(url)
        await page.wait_for_function(
            f"document.querySelectorAll('[data-system]').length === {systems}", polling="raf"
        )
        loads.append((time.perf_counter() - started) * 1000)
    print(f"open a {systems}-system chain: median {statistics.median(loads):.0f} ms over {runs}")


async def pan_zoom_drag(page: Page) -> None:
    await page.get_by_role("button", name="Fit map").click()
    await page.wait_for_timeout(500)
    area = await page.locator(".react-flow").bounding_box()
    assert area is not None
    centre = (area["x"] + area["width"] / 2, area["y"] + area["height"] / 2)

    async def pan() -> None:
        x, y = await page.evaluate(EMPTY_POINT)
        await page.mouse.move(x, y)
        await page.mouse.down()
        for step in range(60):
            await page.mouse.move(x + step * 3, y + step * 2)
        await page.mouse.up()

    async def zoom() -> None:
        await page.mouse.move(*centre)
        for step in range(40):
            await page.mouse.wheel(0, -60 if step < 20 else 60)
            await page.wait_for_timeout(16)
        # Until the boxes are back at the new scale: that frame counts too.
        await page.wait_for_function(ZOOM_ENDED, polling="raf")

    async def drag() -> None:
        node = await page.locator(f'[data-system="{FIRST}"]').bounding_box()
        assert node is not None
        await page.mouse.move(node["x"] + 5, node["y"] + 5)
        await page.mouse.down()
        for step in range(60):
            await page.mouse.move(node["x"] + 5 + step * 4, node["y"] + 5 + step * 2)
        await page.mouse.up()

    async def traced_zoom() -> None:
        browser = page.context.browser
        assert browser is not None
        await browser.start_tracing(page=page, path=str(trace), categories=["blink"])
        await zoom()
        await browser.stop_tracing()

    folder = tempfile.TemporaryDirectory()
    trace = Path(folder.name) / "zoom.json"
    for name, interact in (("pan", pan), ("zoom", traced_zoom), ("drag", drag)):
        frames = await frame_times(page, interact)
        print(
            f"{name}: {len(frames)} frames, median {statistics.median(frames):.1f} ms, "
            f"p95 {p95(frames):.1f} ms, worst {max(frames):.1f} ms"
        )
    sketches = sketch_times(trace)
    folder.cleanup()
    if sketches:
        print(
            f"  the zoom's sketch, drawn by a worker: {len(sketches)} drawings, "
            f"median {statistics.median(sketches):.1f} ms, p95 {p95(sketches):.1f} ms"
        )


def rename(doc: Doc, index: int) -> None:
    doc.get("systems", type=Map)[str(FIRST)]["alias"] = f"remote {index}"


def move(doc: Doc, index: int) -> None:
    system = doc.get("systems", type=Map)[str(FIRST)]
    system["x"] = system["x"] + 40


async def remote_edits(page: Page, writer: WireClient, count: int) -> None:
    """Another client (pycrdt) renames, then moves a system; how long until this page shows it."""
    for name, script, edit in (("rename", RENAMED, rename), ("move", MOVED, move)):
        latencies = []
        for index in range(count):
            seen = asyncio.ensure_future(page.evaluate(script, [FIRST, f"remote {index}"]))
            await page.wait_for_function("window.seenReady_ === true")
            await page.evaluate("window.seenReady_ = false")
            sent = time.time() * 1000
            writer.edit(lambda doc, index=index, edit=edit: edit(doc, index))
            latencies.append(await seen - sent)
        print(
            f"remote {name} to screen: median {statistics.median(latencies):.1f} ms, "
            f"p95 {p95(latencies):.1f} ms over {count}"
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
                if args.phone:
                    context = await browser.new_context(**PHONE)
                else:
                    context = await browser.new_context(viewport={"width": 1400, "height": 900})
                page = await context.new_page()
                if args.phone:
                    # A mid-range phone runs JavaScript several times slower than a laptop.
                    cdp = await context.new_cdp_session(page)
                    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.phone})
                chain_url = f"{server.http}/chains/{chain}#token={token}"
                await open_chain(page, chain_url, args.systems, args.runs)
                await pan_zoom_drag(page)
                await remote_edits(page, writer, args.edits)
            await writer.close()
        finally:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=500)
    parser.add_argument("--connections", type=int, default=600)
    parser.add_argument("--signatures", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--screenshot", default="")
    parser.add_argument(
        "--phone",
        type=float,
        default=0,
        metavar="SLOWDOWN",
        help="a 390 px touch phone whose CPU is SLOWDOWN times slower (e.g. 4)",
    )
    arguments = parser.parse_args()
    if arguments.screenshot:
        from bench.chain_screenshot import screenshot

        asyncio.run(screenshot(Path(arguments.screenshot)))
    else:
        asyncio.run(main(arguments))
