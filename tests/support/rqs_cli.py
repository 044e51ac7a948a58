"""Runs the installed `rqs` command against a stack, as a user's shell would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.keys import ADMIN_KEY
from tests.support.stack import Stack

RQS = Path(sys.executable).parent / "rqs"  # the console script the venv's `pip install ./client` made


@dataclass(frozen=True)
class Outcome:
    """What one `rqs` run printed and how it exited."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def rqs(stack: Stack, *args: str, key: str = ADMIN_KEY, cwd: Path | None = None) -> Outcome:
    """`rqs ARGS...` with RQS_URL and RQS_KEY set to the stack's web process and `key`."""
    env = {**os.environ, "RQS_URL": f"http://127.0.0.1:{stack.port}", "RQS_KEY": key}
    done = subprocess.run([str(RQS), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=100)
    return Outcome(done.returncode, done.stdout, done.stderr)
