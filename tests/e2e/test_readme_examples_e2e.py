"""The README's API examples, pasted into bash against a live stack, answer the statuses they document.

Every ```sh block that talks to `localhost:8000` is run as written, in order, with only
the key, a job id and the address filled in; each `curl` in it carries a `# -> NNN`
comment, and the status each one got must be that one.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness.redis import RedisServer
from tests.support.keys import ADMIN_KEY
from tests.support.stack import Stack, web_and_worker

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
DOCUMENTED_ADDRESS = "localhost:8000"
STATUS_MARK = "@@status "
# Each curl also prints the status it got, after its body, on a line of its own.
PRELUDE = f"curl() {{ command curl -w '\\n{STATUS_MARK}%{{http_code}}\\n' \"$@\"; }}\n"


def api_examples(readme: str) -> str:
    """Every ```sh block that calls the API, in the README's order, as one script."""
    blocks = re.findall(r"^```sh\n(.*?)^```", readme, re.DOTALL | re.MULTILINE)
    return "\n".join(block for block in blocks if DOCUMENTED_ADDRESS in block)


def documented_statuses(script: str) -> list[int]:
    return [int(code) for code in re.findall(r"# -> (\d{3})", script)]


def curl_calls(script: str) -> int:
    return len(re.findall(r"(?:^|;)\s*curl\s", script, re.MULTILINE))


@pytest.fixture(scope="module")
def stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    redis_server.flush()
    with web_and_worker(redis_server.url, tmp_path_factory.mktemp("logs")) as stack:
        yield stack


def waiting_job(stack: Stack) -> str:
    """A job that stays queued for the examples' cancel and requeue."""
    answer = stack.http.post("/jobs", json={"task": "examples.add", "args": [1, 2], "delay": 600})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def run_examples(script: str, stack: Stack) -> str:
    filled = script.replace(DOCUMENTED_ADDRESS, f"127.0.0.1:{stack.port}")
    env = {**os.environ, "KEY": ADMIN_KEY, "ID": waiting_job(stack)}
    done = subprocess.run(["bash", "-c", PRELUDE + filled], env=env, capture_output=True, text=True, timeout=120)
    return done.stdout


def test_every_api_example_documents_its_status() -> None:
    script = api_examples(README.read_text())
    assert curl_calls(script) == len(documented_statuses(script))


def test_the_api_examples_answer_as_documented(stack: Stack) -> None:
    script = api_examples(README.read_text())
    output = run_examples(script, stack)
    got = [int(code) for code in re.findall(rf"^{STATUS_MARK}(\d{{3}})$", output, re.MULTILINE)]
    assert got == documented_statuses(script), output[-3000:]
