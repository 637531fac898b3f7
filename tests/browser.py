"""Open a page in headless Chromium over the DevTools protocol and report what rendered.

The browser is driven through ``--remote-debugging-pipe`` (messages are JSON, each ended by
a NUL byte, on file descriptors 3 and 4 of the browser), so no driver package is needed.

    python tests/browser.py report.html docs/report.png 128   # a full-page screenshot
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import pathlib
import select
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")

# Run in the page once it has loaded: open every <details> (when EXPAND) so that what it
# holds is laid out, then describe every image, figure and table.
INSPECT = """(() => {
  if (EXPAND) document.querySelectorAll('details').forEach(d => { d.open = true; });
  const box = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
  return {
    title: document.title,
    images: [...document.images].map(i => ({
      src: i.currentSrc.slice(0, 40), complete: i.complete,
      naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight, box: box(i) })),
    figures: document.querySelectorAll('figure').length,
    tables: [...document.querySelectorAll('table')].map(t => ({
      rows: t.rows.length, box: box(t) })),
    sections: [...document.querySelectorAll('section')].map(s => s.id),
    scripts: document.scripts.length,
    text: document.body.innerText,
  };
})()"""


def find() -> str | None:
    """The path of a Chromium (or Chrome) binary, or None."""
    for name in CANDIDATES:
        path = name if os.path.isabs(name) else shutil.which(name)
        if path and os.access(path, os.X_OK):
            return path
    return None


class Browser:
    """A headless browser session over the DevTools pipe."""

    def __init__(self, binary: str, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="advantage-browser-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire() -> None:  # in the child: the pipe ends become fds 3 (read) and 4 (write)
            a = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--no-first-run",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                "--window-size=1200,900",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire,
            pass_fds=(3, 4),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the browser did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 16)
                if not chunk:
                    raise RuntimeError("the browser closed its DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False
    ) -> Any:
        """Call a DevTools method (on the page's session unless ``browser``) and wait."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if self.session and not browser:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, browser=True)
        attached = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, browser=True
        )
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"]["value"]

    def screenshot(self, path: str | os.PathLike[str], *, scale: float = 1.0) -> pathlib.Path:
        """Capture the whole page (not only the window) as PNG."""
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": size["width"],
                    "height": size["height"],
                    "scale": scale,
                },
            },
        )
        out = pathlib.Path(path)
        out.write_bytes(base64.b64decode(shot["data"]))
        return out

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions, failed loads and requests that left the page."""
        out = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
            elif method == "Network.loadingFailed":
                out.append(f"failed to load: {params.get('errorText')}")
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if not url.startswith(("file:", "data:", "about:")):
                    out.append(f"request to {url}")
        return out

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                with contextlib.suppress(RuntimeError, TimeoutError, OSError):
                    self.send("Browser.close", browser=True)
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)
            shutil.rmtree(self.profile, ignore_errors=True)


def render(
    page: str | os.PathLike[str],
    screenshot: str | os.PathLike[str],
    *,
    binary: str | None = None,
    expand: bool = True,
) -> dict[str, Any]:
    """Open ``page``, inspect it (with every ``<details>`` opened when ``expand``), save a
    full-page screenshot; returns the inspection with ``problems`` (see
    :meth:`Browser.problems`)."""
    binary = binary or find()
    if binary is None:
        raise FileNotFoundError("no Chromium found")
    browser = Browser(binary)
    try:
        browser.open(pathlib.Path(page).resolve().as_uri())
        found = browser.evaluate(INSPECT.replace("EXPAND", "true" if expand else "false"))
        browser.screenshot(screenshot)
        found["problems"] = browser.problems()
        return found
    finally:
        browser.close()


if __name__ == "__main__":
    # As a reader first sees the page: <details> closed. A third argument reduces the
    # screenshot to that many colours (smaller files for docs/).
    report = render(sys.argv[1], sys.argv[2], expand=False)
    if len(sys.argv) > 3:
        from PIL import Image

        shot = Image.open(sys.argv[2]).convert("RGB")
        shot.quantize(int(sys.argv[3])).save(sys.argv[2], optimize=True)
    print(json.dumps({k: v for k, v in report.items() if k != "text"}, indent=1)[:2000])
