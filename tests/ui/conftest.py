"""Browser tests: headless Chromium (Debian's package) driven by Playwright, against a real Airflow.

One Airflow, one local Salesforce and one browser serve the whole module (starting Airflow takes
about a minute on two cores). `make test` installs Chromium when it is missing
(scripts/install_browser.sh); Playwright never downloads a browser of its own.
Screenshots of every page go to var/screenshots/ (not committed).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.world import UiWorld

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "var" / "screenshots"
# Offline and quiet: no component updates, sync or background fetches from the browser.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}  # a laptop screen


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: run scripts/install_browser.sh")
    for item in items:
        if "tests/ui/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiWorld]:
    with UiWorld(tmp_path_factory.mktemp("ui-world")) as started:
        yield started


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


def sign_in(browser: Any, world: UiWorld, user: str = "admin") -> Any:
    """A new browser session signed in through Airflow's own login page; returns its page."""
    from tests.ui.airflow_server import USERS

    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(world.airflow.url)
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(USERS[user][0])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{world.airflow.url}/")
    return page


@pytest.fixture(scope="module")
def admin_page(browser: Any, world: UiWorld) -> Iterator[Any]:
    page = sign_in(browser, world)
    yield page
    page.context.close()
