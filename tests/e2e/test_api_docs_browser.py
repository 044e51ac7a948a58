"""`/docs` and `/redoc` in a real headless Chromium that can reach no host but 127.0.0.1.

Every host name but the web process's address resolves to nothing, as on a machine
without internet: the pages must still draw every operation of the OpenAPI document,
from assets the web process serves itself.
"""

from __future__ import annotations

import html
import subprocess
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM_FLAGS as HEADLESS
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

OFFLINE_FLAGS = [
    *HEADLESS,
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no internet: a CDN cannot be reached
    "--virtual-time-budget=10000",  # let the page fetch /openapi.json and draw it before the dump
]


def rendered(chromium: str, url: str, profile: Path) -> str:
    """The page's DOM once its scripts have run, as an offline Chromium draws it."""
    command = [chromium, *OFFLINE_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url]
    return html.unescape(subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout)


def operations(stack: Stack) -> list[tuple[str, str, str]]:
    """(method, path, summary) of every operation in the app's OpenAPI document."""
    document = stack.http.get("/openapi.json").json()
    return [
        (method.upper(), path, operation["summary"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_swagger_ui_lists_every_operation_offline(stack: Stack, chromium: str, tmp_path: Path) -> None:
    dom = rendered(chromium, f"http://127.0.0.1:{stack.port}/docs", tmp_path / "profile")
    missing_paths = [path for _, path, _ in operations(stack) if f'data-path="{path}"' not in dom]
    assert missing_paths == [], dom[-2000:]


def test_redoc_lists_every_operation_offline(stack: Stack, chromium: str, tmp_path: Path) -> None:
    dom = rendered(chromium, f"http://127.0.0.1:{stack.port}/redoc", tmp_path / "profile")
    missing_summaries = [summary for _, _, summary in operations(stack) if summary not in dom]
    assert missing_summaries == [], dom[-2000:]
