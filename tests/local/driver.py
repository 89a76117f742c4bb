"""What the console's browser test needs from a browser, written once over one primitive
(`evaluate`): the DevTools-protocol driver (cdp.py, chromium) and the WebDriver BiDi driver
(bidi.py, firefox) each add how to start, navigate, emulate a viewport, type, press keys,
choose files and take screenshots."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tests.waiting import wait_until

# The system browsers the test looks for, by kind (Debian's package names first).
CANDIDATES = {
    "chromium": ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"),
    "firefox": ("firefox-esr", "firefox"),
}
ENV = {"chromium": "CHROME_BIN", "firefox": "FIREFOX_BIN"}


def find_browser(kind: str = "chromium") -> str | None:
    configured = os.environ.get(ENV[kind])
    if configured:
        return configured
    return next((p for p in map(shutil.which, CANDIDATES[kind]) if p), None)


# The focused element's name, and whether tab_order has seen it already (a WeakSet in the page:
# two links may look alike, e.g. the title and the nav's "Create" both go to #/).
FOCUSED = (
    "(() => { const a = document.activeElement; const seen = window.__tabSeen || new WeakSet();"
    " if (!a || a === document.body || a === document.documentElement)"
    " return {name: '', seen: false};"
    " const tag = a.tagName.toLowerCase(); const was = seen.has(a); seen.add(a);"
    " const name = a.id ? `${tag}#${a.id}` : `${tag}[${a.dataset.label || a.dataset.account"
    " || a.getAttribute('href') || a.textContent.trim().slice(0, 20)}]`;"
    " return {name, seen: was}; })()"
)


class BrowserError(RuntimeError):
    pass


def listening(proc: subprocess.Popen, marker: str, what: str, timeout: float = 30) -> str:
    """Read the browser's stderr until it prints `marker` + ws://host:port...; the rest of that
    line. Both browsers announce their protocol endpoint there when given port 0."""
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            # Keep reading what it logs from now on, or a full pipe would stall the browser.
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return line.split(marker, 1)[1].strip()
    raise BrowserError(f"{what} did not start:\n" + "".join(seen[-20:]))


class Driver:
    kind = ""
    console: list[str]
    proc: subprocess.Popen
    profile: str

    def _end_browser(self) -> None:
        """Stop the browser process (killed if it will not stop) and drop its profile."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def evaluate(self, expression: str) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def wait_for(self, expression: str, timeout: float = 60, what: str = "") -> Any:
        """Poll a JS expression until it is truthy (a condition, never a fixed sleep)."""
        return wait_until(
            lambda: self.evaluate(expression),
            timeout,
            lambda: f"{what or expression}; console: {self.console[-5:]}",
            interval=0.2,
        )

    def click(self, selector: str) -> None:
        found = self.evaluate(
            f"(() => {{ const n = document.querySelector({json.dumps(selector)});"
            " if (!n) return false; n.scrollIntoView({block: 'center'}); n.click(); return true; })()"
        )
        if not found:
            raise AssertionError(f"nothing matches {selector}")

    def type(self, selector: str, text: str) -> None:
        """Focus the field, select what it holds and type over it like a keyboard would."""
        self.evaluate(
            f"(() => {{ const n = document.querySelector({json.dumps(selector)});"
            " n.focus(); n.select && n.select(); })()"
        )
        self.insert_text(text)

    def focused(self) -> str:
        """The focused element as `tag#id`, else `tag[data-label | data-account | href |
        text]` ('' when nothing in the page has focus): what a Tab reached."""
        return self.evaluate(FOCUSED + ".name")

    def tab_order(self, limit: int = 60) -> list[str]:
        """Press Tab from where the focus is (the top of a freshly loaded page) until it comes
        back round to an element seen before, or `limit` presses; every element reached."""
        self.evaluate("window.__tabSeen = new WeakSet()")
        reached: list[str] = []
        for _ in range(limit):
            self.press("Tab")
            now = self.evaluate(FOCUSED)
            if now["seen"]:
                break
            if now["name"]:
                reached.append(now["name"])
        return reached

    def tab_to(self, name: str, limit: int = 60) -> int:
        """Press Tab until `name` (as `focused` says it) has the focus; how many presses."""
        for presses in range(1, limit + 1):
            self.press("Tab")
            if self.focused() == name:
                return presses
        raise AssertionError(f"{limit} Tab presses never reached {name}")

    # ---- per protocol ---------------------------------------------------------------------
    def navigate(self, url: str) -> None:
        raise NotImplementedError

    def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        raise NotImplementedError

    def insert_text(self, text: str) -> None:
        raise NotImplementedError

    def press(self, key: str) -> None:
        """One key press ("Tab", "Enter", "Escape") at the focused element."""
        raise NotImplementedError

    def activate(self) -> None:
        """Activate the focused control as a keyboard user does (Enter)."""
        self.press("Enter")

    def set_files(self, selector: str, paths: list[Path]) -> None:
        raise NotImplementedError

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        raise NotImplementedError
