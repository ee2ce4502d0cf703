"""Real server + real Chromium. Browser tests skip only when Debian chromium is missing and CI is
not set; under CI a missing browser is a failure."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from app import create_app
from app.bootstrap import build_node
from app.demo import seed
from tests.conftest import LiveServer, make_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
SIZES = {"handheld": (360, 740), "kiosk": (1280, 800)}


def _require_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing and CI is set: browser tests must run in CI")
    pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium); set CI=1 to make this a failure")


@pytest.fixture(scope="session")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def floor_server(tmp_path):
    """A node with simulated lights and printer, demo data, and the kiosk on a real HTTP server."""
    node = build_node(make_settings(tmp_path, devices="simulated"))
    seed(node.uow, skus=30, bins_per_zone=20)
    app = create_app({"TESTING": True, "KIOSK_SSE_HEARTBEAT_S": 1.0}, node=node)
    server = LiveServer(app, threads=12)
    yield node, server
    node.floor.close()
    server.stop()
    node.close()


@pytest.fixture
def page(browser, floor_server):
    context = browser.new_context(viewport={"width": SIZES["kiosk"][0], "height": SIZES["kiosk"][1]})
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()


def screenshot(page, name: str) -> None:
    """Both sizes of the screen the page shows now; the page ends at kiosk size."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for label, (w, h) in SIZES.items():
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_timeout(150)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}-{w}x{h}.png"), full_page=True)
    page.set_viewport_size({"width": SIZES["kiosk"][0], "height": SIZES["kiosk"][1]})


@contextmanager
def watched_page(browser, size: tuple[int, int] = SIZES["kiosk"]):
    """A page of its own context whose console errors and uncaught exceptions are collected: yields
    (page, errors); a page under the CSP that logs nothing there ran as it should."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page, errors
    finally:
        context.close()
