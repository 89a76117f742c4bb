"""A small Chrome DevTools Protocol driver for the system browser (Debian's `chromium`), over the
`websockets` dependency we already have: start headless, navigate, type, press keys, evaluate,
take screenshots (the rest is driver.py's). Method names are from the CDP reference (Page,
Runtime, Input, Emulation, DOM domains)."""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from .driver import BrowserError, Driver, listening

# Input.dispatchKeyEvent wants the Windows virtual key code; Enter also its text (\r), which
# is what makes a focused button fire `click`.
KEYS = {"Tab": (9, None), "Enter": (13, "\r"), "Escape": (27, None)}


class Browser(Driver):
    kind = "chromium"

    def __init__(self, binary: str, width: int = 1280, height: int = 1000) -> None:
        self.profile = tempfile.mkdtemp(prefix="mjconsole-chrome-")
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",  # CI runs as root, where the sandbox cannot start
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        port = self._devtools_port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            pages = [t for t in json.load(resp) if t.get("type") == "page"]
        self._connection = connect(pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
        self.ws = self._connection.__enter__()
        self._ids = itertools.count(1)
        self.console: list[str] = []
        self.send("Page.enable")
        self.send("Runtime.enable")

    def _devtools_port(self) -> int:
        try:
            endpoint = listening(self.proc, "DevTools listening on ", "chromium")
        except BrowserError:
            self.close()
            raise
        return int(endpoint.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])

    def close(self) -> None:
        if getattr(self, "ws", None):
            self.ws.close()
        self._end_browser()

    # ---- protocol -----------------------------------------------------------------------
    def send(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("method") == "Runtime.consoleAPICalled":
                args = msg["params"].get("args", [])
                self.console.append(
                    " ".join(str(a.get("value", a.get("description"))) for a in args)
                )
            elif msg.get("method") == "Runtime.exceptionThrown":
                details = msg["params"]["exceptionDetails"]
                self.console.append(
                    "exception: " + json.dumps(details.get("exception", details))[:500]
                )
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def evaluate(self, expression: str) -> Any:
        out = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in out:
            raise BrowserError(f"{expression}: {out['exceptionDetails'].get('text')}")
        return out.get("result", {}).get("value")

    # ---- page actions -------------------------------------------------------------------
    def navigate(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'", 30, "page load")

    def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=2 if mobile else 1,
            mobile=mobile,
        )

    def insert_text(self, text: str) -> None:
        self.send("Input.insertText", text=text)

    def press(self, key: str) -> None:
        code, text = KEYS[key]
        down: dict[str, Any] = {"key": key, "code": key, "windowsVirtualKeyCode": code}
        self.send(
            "Input.dispatchKeyEvent", type="keyDown", **down, **({"text": text} if text else {})
        )
        self.send("Input.dispatchKeyEvent", type="keyUp", **down)

    def set_files(self, selector: str, paths: list[Path]) -> None:
        """Choose files in an <input type=file> as the file picker would (fires `change`)."""
        found = self.send(
            "Runtime.evaluate", expression=f"document.querySelector({json.dumps(selector)})"
        )
        object_id = found["result"]["objectId"]
        self.send("DOM.setFileInputFiles", files=[str(p) for p in paths], objectId=object_id)

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=full_page)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path
