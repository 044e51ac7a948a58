"""The schedules pages in a real headless Chromium, over real `web`, `worker` and `scheduler` processes.

The browser logs in with basic auth in the URL, as a person would, and presses the
pages' own Pause, Resume and Trigger buttons: plain forms, so the click sends a real
same-origin POST through the dashboard's guard. What the buttons did is checked through
the HTTP API, not through the page that says so.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import websocket

from bench.harness.redis import RedisServer
from tests.support.browser import CHROMIUM_FLAGS
from tests.support.keys import ADMIN_KEY
from tests.support.needs import missing
from tests.support.stack import Stack, eventually

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [*CHROMIUM_FLAGS, "--window-size=1280,900"]
EVIL = "<script>alert(1)</script>"


class Browser:
    """One headless Chromium page, driven over the DevTools protocol (CDP) on a websocket."""

    def __init__(self, profile: Path) -> None:
        command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.last_id = 0
        self.events: list[dict[str, Any]] = []
        try:
            self.socket = self._connect(profile / "DevToolsActivePort")
            self.call("Page.enable")
        except BaseException:
            self.process.kill()
            self.process.wait()
            raise

    def _connect(self, active_port: Path) -> websocket.WebSocket:
        """Chromium picks a free port (we asked for 0) and writes it to the profile; attach to its page."""
        assert eventually(lambda: active_port.exists() and bool(active_port.read_text().strip()), timeout=30)
        port = int(active_port.read_text().split()[0])
        page = next(t for t in httpx.get(f"http://127.0.0.1:{port}/json/list").json() if t["type"] == "page")
        # No Origin header: Chromium refuses websocket clients from other origins.
        return websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self.last_id += 1
        self.socket.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.last_id:
                assert "error" not in message, (method, message["error"])
                return message["result"]  # type: ignore[no-any-return]
            self.events.append(message)

    def wait_for_load(self) -> None:
        """Until the page's load event (the socket's own timeout bounds the wait)."""
        while not any(event.get("method") == "Page.loadEventFired" for event in self.events):
            self.events.append(json.loads(self.socket.recv()))
        self.events.clear()

    def open(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for_load()

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element, then the page it leads to."""
        node = self.call("DOM.querySelector", nodeId=self.call("DOM.getDocument")["root"]["nodeId"], selector=selector)
        assert node["nodeId"] != 0, f"nothing matches {selector!r}"
        self.call("DOM.scrollIntoViewIfNeeded", nodeId=node["nodeId"])
        quad = self.call("DOM.getBoxModel", nodeId=node["nodeId"])["model"]["content"]
        x, y = sum(quad[0::2]) / 4, sum(quad[1::2]) / 4
        self.events.clear()
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
        self.wait_for_load()

    def html(self) -> str:
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        return self.call("DOM.getOuterHTML", nodeId=root)["outerHTML"]  # type: ignore[no-any-return]

    def screenshot(self, path: Path) -> None:
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The three processes on a Redis of their own, so the pages show only this module's schedules."""
    if not CHROMIUM.exists():
        missing("it needs /usr/bin/chromium (Debian package `chromium`: apt-get install -y chromium)")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    stack = Stack(server.url, tmp_path_factory.mktemp("logs"))
    try:
        for kind in ("web", "worker", "scheduler"):
            stack.start(kind)
        yield stack
    finally:
        stack.stop_all()
        server.stop()


@pytest.fixture
def browser(stack: Stack, tmp_path: Path) -> Iterator[Browser]:
    browser = Browser(tmp_path / "profile")
    yield browser
    browser.close()


def page_url(stack: Stack, path: str = "") -> str:
    return f"http://u:{ADMIN_KEY}@127.0.0.1:{stack.port}/dashboard/schedules{path}"


def put(stack: Stack, name: str, **timing: Any) -> dict[str, Any]:
    body = {"task": "tests.echo", "args": [EVIL], **timing}
    answer = stack.http.put(f"/schedules/{name}", json=body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()  # type: ignore[no-any-return]


def schedule(stack: Stack, name: str) -> dict[str, Any]:
    return stack.http.get(f"/schedules/{name}").json()  # type: ignore[no-any-return]


def shown_next_run(dom: str, name: str) -> str:
    """The text of the schedule's "Next run" cell in the list."""
    row = dom.split(f'data-schedule="{name}"', 1)[1].split("</tr>", 1)[0]
    cell = row.split('class="next-run">', 1)[1].split("</td>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", cell).split())


def test_page_shows_next_run_and_keeps_values_inert(stack: Stack, tmp_path: Path) -> None:
    name = "new-year-report"
    put(stack, name, cron="0 0 1 1 *", timezone="Asia/Shanghai")  # due once a year: stable while we look
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page_url(stack)]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    expected = schedule(stack, name)["next_run_at"].replace("T", " ")[:19] + " UTC"
    assert shown_next_run(dom, name).startswith(f"{expected} in ")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert EVIL not in dom
    assert "<script" not in dom


def test_buttons_pause_resume_and_trigger(stack: Stack, browser: Browser) -> None:
    # given
    name = "daily-digest"
    put(stack, name, cron="0 3 * * *", timezone="Europe/Paris")
    browser.open(page_url(stack))

    # when paused, then
    browser.click(f'tr[data-schedule="{name}"] button[name="pause"]')
    assert schedule(stack, name)["paused"] is True
    assert "Paused" in browser.html()
    assert browser.html().count(f'data-schedule="{name}"') == 1

    # when resumed, then
    browser.click(f'tr[data-schedule="{name}"] button[name="resume"]')
    assert schedule(stack, name)["paused"] is False

    # when triggered, then
    browser.open(page_url(stack, f"/{name}"))
    browser.click('button[name="trigger"]')
    job_id = schedule(stack, name)["last_job_id"]
    assert job_id is not None
    assert job_id.startswith(f"{name}-trigger-")
    assert f"/dashboard/0/view/job/{job_id}" in browser.html()
    job = stack.wait_for(job_id)
    assert job["status"] == "finished"
    assert job["schedule"] == name
    assert job["result"] == EVIL


def test_screenshot_of_the_schedules_view(stack: Stack, browser: Browser, tmp_path: Path) -> None:
    """The picture docs/schedules.png was taken from; written to a temporary folder, not over the tracked one."""
    put(stack, "nightly-report", cron="0 3 * * *", timezone="Asia/Shanghai")
    put(stack, "heartbeat", interval=2)
    put(stack, "year-end", at="2099-12-31T23:00:00Z")
    put(stack, "cleanup", interval=3600, paused=True)
    assert eventually(lambda: schedule(stack, "heartbeat")["last_status"] == "finished", timeout=30)
    browser.open(page_url(stack))
    screenshot = tmp_path / "schedules.png"
    browser.screenshot(screenshot)
    assert screenshot.read_bytes().startswith(b"\x89PNG")
