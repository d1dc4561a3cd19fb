"""Debian's Chromium driven by Playwright, for the browser app's tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

TIMEOUT_MS = 10_000
CHROMIUM = os.environ.get("MAPPER_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
# Chromium reaches for Google's hosts at start; this machine's network refuses them.
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET)
        try:
            yield browser
        finally:
            await browser.close()


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


class Served(Protocol):
    @property
    def http(self) -> str: ...


async def open_map(context: BrowserContext, server: Served, chain: str, token: str) -> Page:
    """The chain's map in a new page, once it says it is live."""
    page = await context.new_page()
    await page.goto(f"{server.http}/chains/{chain}#token={token}")
    await expect(page.locator(".status")).to_have_text("live", timeout=TIMEOUT_MS)
    return page
