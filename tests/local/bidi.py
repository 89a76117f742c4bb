"""A small WebDriver BiDi driver for the system Firefox (Debian's `firefox-esr`; Firefox has no
DevTools protocol any more), over `websockets`, with the same interface as cdp.py. Started as
`firefox --headless --remote-debugging-port=0`, it prints `WebDriver BiDi listening on
ws://127.0.0.1:<port>`; a session is made over `ws://…/session` with `session.new`. Commands
and events are the W3C WebDriver BiDi ones (session, browsingContext, script, input, log)."""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from .driver import BrowserError, Driver, listening

# Key values of the WebDriver "keyboard actions" table (private-use code points).
KEYS = {"Tab": "\ue004", "Enter": "\ue007", "Escape": "\ue00c"}
# A quiet, reproducible profile: no first-run pages, updates or telemetry traffic.
PREFS = {
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "browser.aboutwelcome.enabled": False,
}


class FirefoxBrowser(Driver):
    kind = "firefox"

    def __init__(self, binary: str, width: int = 1280, height: int = 1000) -> None:
        self.profile = tempfile.mkdtemp(prefix="mjconsole-firefox-")
        Path(self.profile, "user.js").write_text(
            "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in PREFS.items())
        )
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-remote", "--profile", self.profile,
             "--remote-debugging-port=0", f"--width={width}", f"--height={height}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            endpoint = listening(self.proc, "WebDriver BiDi listening on ", "firefox", 60)
        except BrowserError:
            self.close()
            raise
        self._connection = connect(endpoint.rstrip("/") + "/session", max_size=None,
                                   open_timeout=10)  # fmt: skip
        self.ws = self._connection.__enter__()
        self._ids = itertools.count(1)
        self.console: list[str] = []
        self.send("session.new", capabilities={})
        tree = self.send("browsingContext.getTree", maxDepth=0)
        self.context = tree["contexts"][0]["context"]
        self.send("session.subscribe", events=["log.entryAdded"])

    def close(self) -> None:
        if getattr(self, "ws", None):
            try:
                self.send("session.end")
            except Exception:  # the browser may be gone already; closing is best effort
                pass
            self.ws.close()
        self._end_browser()

    # ---- protocol -----------------------------------------------------------------------
    def send(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("type") == "event" and msg.get("method") == "log.entryAdded":
                entry = msg["params"]
                prefix = "exception: " if entry.get("type") == "javascript" else ""
                self.console.append(prefix + str(entry.get("text"))[:500])
            if msg.get("id") == msg_id:
                if msg.get("type") == "error":
                    raise BrowserError(f"{method}: {msg.get('error')}: {msg.get('message')}")
                return msg.get("result", {})

    def _evaluate(self, expression: str, ownership: str = "none") -> dict[str, Any]:
        out = self.send(
            "script.evaluate",
            expression=expression,
            target={"context": self.context},
            awaitPromise=True,
            resultOwnership=ownership,
        )
        if out.get("type") == "exception":
            details = out.get("exceptionDetails", {})
            raise BrowserError(f"{expression}: {details.get('text')}")
        return out["result"]

    def evaluate(self, expression: str) -> Any:
        """The expression's value as JSON would carry it (what cdp.py's returnByValue gives):
        serialized in the page, so no BiDi remote-value decoding is needed."""
        wrapped = (
            f"(async () => {{ const v = await ({expression}); "
            "return v === undefined ? undefined : JSON.stringify(v); })()"
        )
        result = self._evaluate(wrapped)
        return json.loads(result["value"]) if result.get("type") == "string" else None

    # ---- page actions -------------------------------------------------------------------
    def navigate(self, url: str) -> None:
        self.send("browsingContext.navigate", context=self.context, url=url, wait="complete")
        self.wait_for("document.readyState === 'complete'", 30, "page load")

    def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        # BiDi has no "mobile" switch; a phone is its CSS width and a denser screen.
        self.send(
            "browsingContext.setViewport",
            context=self.context,
            viewport={"width": width, "height": height},
            devicePixelRatio=2 if mobile else 1,
        )

    def _keys(self, values: list[str]) -> None:
        actions = []
        for value in values:
            actions += [{"type": "keyDown", "value": value}, {"type": "keyUp", "value": value}]
        self.send(
            "input.performActions",
            context=self.context,
            actions=[{"type": "key", "id": "keyboard", "actions": actions}],
        )

    def insert_text(self, text: str) -> None:
        self._keys(list(text))

    def press(self, key: str) -> None:
        self._keys([KEYS[key]])

    def activate(self) -> None:
        # Measured with firefox-esr 153 headless: a BiDi Enter/Space on a focused <button>
        # fires trusted keydown/keypress/keyup but no click (the headless window never has
        # document.hasFocus()), so the focused element is clicked instead. Tab order, which
        # is what keyboard reachability means here, is real key presses in both browsers.
        self.evaluate("document.activeElement.click()")

    def set_files(self, selector: str, paths: list[Path]) -> None:
        node = self._evaluate(f"document.querySelector({json.dumps(selector)})", "root")
        self.send(
            "input.setFiles",
            context=self.context,
            element={"sharedId": node["sharedId"]},
            files=[str(p) for p in paths],
        )

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        shot = self.send(
            "browsingContext.captureScreenshot",
            context=self.context,
            origin="document" if full_page else "viewport",
            format={"type": "image/png"},
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path
