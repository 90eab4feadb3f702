"""Headless Chromium for the Dashboard's tests: Debian's ``chromium`` driven by Playwright.

Playwright's own browser download is never used (offline means offline): the tests
launch the system's Chromium by path. Where there is none, the browser tests skip
with a message saying how to get one, except where they must run (``.ci/run``
sets ``OFFLINE_ASSISTANTS_REQUIRE_BROWSER=1``; ``CI`` set counts too): there they
fail instead. ``Tab`` is one page of the Dashboard that records every
request it makes and every script error, so each test can end by checking that
nothing left the machine and that no script failed, and save a screenshot.
``WATCH`` and ``plain`` serve the streaming checks of both browsers' tests.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest

API_KEY = "sk-dashboard-test"
KEY_ITEM = "offline-assistants.api-key"
# As the probe of this machine kind found: without the background-networking flags
# Chromium keeps trying hosts off the machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOW_TO = (
    "run scripts/setup as root (it installs Debian's chromium), or `apt-get install chromium`, "
    "or set OFFLINE_ASSISTANTS_CHROMIUM to a Chromium binary"
)


# Records, at every change of the conversation, the last answer's length and the run status.
WATCH = """() => {
  window.seen = [];
  const box = document.getElementById("pg-messages");
  new MutationObserver(() => {
    const answers = box.querySelectorAll(".message.assistant .text");
    const status = document.getElementById("pg-run-details")?.dataset.status || "";
    const last = answers[answers.length - 1];
    window.seen.push([last ? last.textContent.length : 0, status]);
  }).observe(box, { subtree: true, childList: true, characterData: true });
}"""


def plain(markdown: str) -> str:
    """What the page shows of a message's text: fences and markers of code and bold dropped."""
    text = re.sub(r"```[^\n]*\n?", "", markdown).replace("`", "").replace("**", "")
    return " ".join(text.split())


def chromium_path() -> str:
    path = os.environ.get("OFFLINE_ASSISTANTS_CHROMIUM") or shutil.which("chromium")
    path = path or shutil.which("chromium-browser")
    if not path:
        unavailable(f"no Chromium found for the Dashboard's browser tests: {HOW_TO}")
    return str(path)


def unavailable(reason: str) -> None:
    if os.environ.get("OFFLINE_ASSISTANTS_REQUIRE_BROWSER") or os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser tests)")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Any]:
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is missing: pip install -e '.[dev]' (scripts/setup does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def client_for(origin: str) -> openai.OpenAI:
    """The official client on the server behind ``origin``, with the key."""
    return openai.OpenAI(base_url=f"{origin}/v1", api_key=API_KEY, max_retries=0)


def screenshots_dir() -> Path:
    """Where each test's screenshot goes: $OFFLINE_ASSISTANTS_SCREENSHOTS, else a temp dir."""
    chosen = os.environ.get("OFFLINE_ASSISTANTS_SCREENSHOTS")
    path = Path(chosen) if chosen else Path(tempfile.gettempdir()) / "offline-assistants-screens"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Tab:
    """One browser tab on the Dashboard at ``origin``; with ``key`` it already holds the API key."""

    def __init__(self, browser: Any, origin: str, *, key: str | None = API_KEY) -> None:
        self.origin = origin
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        if key is not None:
            self.context.add_init_script(f"sessionStorage.setItem({KEY_ITEM!r}, {key!r})")
        # Anything the Content-Security-Policy blocked (a load or connection off the server).
        self.context.add_init_script(
            "window.blocked = []; document.addEventListener('securitypolicyviolation',"
            " e => window.blocked.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.requests: list[tuple[str, str | None]] = []  # (url, Authorization header)
        self.errors: list[str] = []
        self.page.on(
            "request", lambda r: self.requests.append((r.url, r.headers.get("authorization")))
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, route: str) -> None:
        self.page.goto(f"{self.origin}/#/{route}")

    def go(self, route: str) -> None:
        """Another page of the Dashboard, as its links do (no reload)."""
        self.page.evaluate("route => { location.hash = route; }", f"#/{route}")

    def done(self, name: str) -> Path:
        """Save a screenshot; check that every request stayed on the server and no script failed."""
        path = screenshots_dir() / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        away = [
            url
            for url, _ in self.requests
            if not url.startswith((self.origin + "/", "blob:", "data:"))
        ]
        assert not away, f"requests left the server: {away}"
        assert self.page.evaluate("window.blocked") == [], "the page tried what its CSP forbids"
        assert not self.errors, f"script errors: {self.errors}"
        return path

    def close(self) -> None:
        self.context.close()
