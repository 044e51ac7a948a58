"""The dashboard in a real headless Chromium: job data carrying script payloads renders, and runs nothing.

rq-dashboard 0.9.0 draws a job's description (its args), result and exception text
into the page unescaped; the Content-Security-Policy the web process adds must keep
that markup inert while the dashboard's own scripts still work.
"""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM_FLAGS as HEADLESS
from tests.support.keys import ADMIN_KEY
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

CHROMIUM_FLAGS = [
    *HEADLESS,
    "--virtual-time-budget=5000",  # let the page fetch and draw the job before the dump
]


class Beacon:
    """A tiny HTTP server on 127.0.0.1 that records every request: any hit means a payload ran."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def payloads(self, marker: str) -> str:
        """Script and markup in every form a page could act on, each with a side effect we can observe."""
        return " ".join(
            [
                marker,
                f'<base href="{self.url}/base/"><img src="relative">',
                f'<meta http-equiv="refresh" content="0;url={self.url}/meta">',
                f'<link rel="stylesheet" href="{self.url}/link">',
                f'<form id="planted" action="{self.url}/form" method="post"><button>go</button></form>',
                f"<script>document.title='pwned';fetch('{self.url}/script')</script>",
                f"<img src=x onerror=\"document.title='pwned';fetch('{self.url}/onerror')\">",
                f"<svg onload=\"fetch('{self.url}/svg')\"></svg>",
                f'<img src="{self.url}/image">',
                f"<iframe src=\"javascript:fetch('{self.url}/iframe')\"></iframe>",
            ]
        )


@pytest.fixture
def beacon() -> Iterator[Beacon]:
    server = Beacon()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def browse(chromium: str, url: str, profile: Path, *output: str) -> str:
    """Load `url` in a fresh headless Chromium; answer what it prints (the DOM with --dump-dom)."""
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *output, url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def job_page(stack: Stack, job_id: str) -> str:
    return f"http://viewer:{ADMIN_KEY}@127.0.0.1:{stack.port}/dashboard/0/view/job/{job_id}"


def rendered_job(dom: str) -> str:
    """The part of the page the dashboard's script fills with the job's data."""
    start = dom.index('id="job-data"')
    return dom[start : dom.index('<script name="job-info"', start)]


def submit(stack: Stack, body: dict[str, object]) -> str:
    answer = stack.http.post("/jobs", json=body)
    assert answer.status_code == 202, answer.text
    job_id = str(answer.json()["id"])
    stack.wait_for(job_id)
    return job_id


def test_job_data_with_script_payloads_runs_nothing(
    stack: Stack, beacon: Beacon, chromium: str, tmp_path: Path
) -> None:
    # given: jobs whose data carries script payloads
    marker = f"marker-{uuid.uuid4().hex}"
    failed = submit(stack, {"task": "examples.fail", "args": [beacon.payloads(marker)]})
    finished = submit(stack, {"task": "tests.echo", "args": [beacon.payloads(marker)]})

    # when each job's page is rendered, then no payload ran
    for job_id in (failed, finished):
        dom = browse(chromium, job_page(stack, job_id), tmp_path / "profile", "--dump-dom")
        shown = rendered_job(dom)
        assert marker in shown
        assert job_id in dom  # the dashboard's own script ran and drew the job
        assert "<title>RQ dashboard</title>" in dom
        assert "pwned" not in dom.split("</title>")[0]
        for element in ("<base", "<meta", "<link", "<form", "<img", "<script>", "<svg", "<iframe"):
            assert element not in shown, element  # job data is text, never markup

    screenshot = tmp_path / "job.png"
    browse(
        chromium, job_page(stack, failed), tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1280,1000"
    )
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    assert beacon.hits == []


def test_beacon_sees_a_payload_that_does_run(beacon: Beacon, chromium: str, tmp_path: Path) -> None:
    """The check above can fail: the same payloads in a page without our policy do reach the beacon."""
    page = tmp_path / "unsafe.html"
    page.write_text(f"<html><body>{beacon.payloads('unsafe')}</body></html>")
    browse(chromium, page.as_uri(), tmp_path / "profile", "--dump-dom")
    assert {"/script", "/onerror", "/svg", "/image", "/base/relative", "/link"} <= set(beacon.hits)
    assert "/meta" in beacon.hits  # the refresh navigated away
