"""Serve the built site on 127.0.0.1 and drive it with Debian's chromium."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "site"
SHOTS = ROOT / "artifacts" / "screenshots"
sys.path.insert(0, str(Path(__file__).parent))

from harness import chromium, serve  # noqa: E402


@pytest.fixture(scope="session")
def site_url():
    if not (SITE / "index.html").exists():
        pytest.fail("site/ is not built; run `make build` first")
    with serve(SITE) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="session")
def shots_dir():
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture
def page(browser, site_url):
    """A fresh page that records console errors and blocks off-site requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.console_errors = []
    pg.page_errors = []
    pg.offsite = []

    def on_console(msg):
        if msg.type == "error":
            pg.console_errors.append(msg.text)

    def guard(route):
        url = route.request.url
        if url.startswith(site_url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            pg.offsite.append(url)
            route.abort()

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: pg.page_errors.append(str(exc)))
    pg.route("**/*", guard)
    yield pg
    context.close()
