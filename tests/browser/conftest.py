"""Browser tests: Playwright driving Debian's chromium (never a downloaded browser) against a live
server. Every journey fails on a browser console error, saves a full-page screenshot of every page
it visits under test-artifacts/, and can run axe-core (from npm) on a page."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
# plain synchronous code, so Django's async-safety guard does not apply to them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("browser tests need Debian's chromium: `make test` installs it with apt")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Journey:
    """One browser tab for one test: screenshots of every page, console errors, axe checks."""

    def __init__(self, page: Any, base_url: str, name: str) -> None:
        self.page = page
        self.base_url = base_url
        self.name = re.sub(r"[^\w.-]+", "_", name)
        self.errors: list[str] = []
        self.visited: list[str] = []
        self.shot_urls: set[str] = set()
        self.count = 0
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("framenavigated", self._navigated)

    def _console(self, msg: Any) -> None:
        if msg.type == "error":
            self.errors.append(f"console error: {msg.text}")

    def _navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame:
            self.visited.append(frame.url)

    def go(self, path: str) -> Any:
        response = self.page.goto(self.base_url + path)
        self.shot(path.strip("/").replace("/", "-") or "home")
        return response

    def shot(self, label: str) -> Path:
        """A full-page screenshot of the page as it is now."""
        self.page.wait_for_load_state("load")
        self.count += 1
        ARTIFACTS.mkdir(exist_ok=True)
        safe = re.sub(r"[^\w.-]+", "_", label)[:60]
        path = ARTIFACTS / f"{self.name}-{self.count:02d}-{safe}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shot_urls.add(self.page.url)
        return path

    def axe(self) -> list[dict[str, Any]]:
        """Run axe-core on the page; return the serious and critical violations."""
        # evaluate() runs through the DevTools protocol, so the page's strict CSP still holds.
        self.page.evaluate(AXE.read_text(encoding="utf-8"))
        result = self.page.evaluate("async () => JSON.stringify(await axe.run(document))")
        violations = json.loads(result)["violations"]
        return [
            {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": len(v["nodes"])}
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]

    def assert_accessible(self) -> None:
        bad = self.axe()
        assert not bad, f"axe on {self.page.url}: {bad}"

    def finish(self) -> None:
        unshot = [u for u in dict.fromkeys(self.visited) if u not in self.shot_urls]
        assert not self.errors, "\n".join(self.errors)
        assert not unshot, f"pages visited without a screenshot: {unshot}"


@pytest.fixture
def journey(browser: Any, live_server: Any, request: Any) -> Iterator[Journey]:
    """A fresh browser context (own cookies) in Chinese, the default language."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    j = Journey(context.new_page(), live_server.url, request.node.name)
    yield j
    context.close()
    j.finish()


def new_journey(browser: Any, live_server: Any, name: str, **options: Any) -> Journey:
    """Another tab with its own cookies (a second person), e.g. a phone-sized one."""
    context = browser.new_context(locale="zh-CN", **options)
    context.set_default_timeout(15_000)
    return Journey(context.new_page(), live_server.url, name)
