"""A process a test forgets to stop is killed at the end of the run, and the run fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.harness.hosts import namespaces
from bench.harness.proc_info import alive

ROOT = Path(__file__).resolve().parents[1]
LEAKY_TEST = """
import subprocess
from pathlib import Path


def test_forgets_a_process() -> None:
    leaked = subprocess.Popen(["sleep", "600"], start_new_session=True)
    Path("{pid_file}").write_text(str(leaked.pid))
"""
ORPHANING_TEST = """
import subprocess


def test_orphans_a_process() -> None:
    # the shell exits at once: its `sleep` loses its parent, as honcho's children do when make run is killed
    subprocess.run(["sh", "-c", "sleep 600 & echo $! > {pid_file}"], start_new_session=True, check=True)
"""


NAMESPACE_TEST = """
import os
import subprocess


def test_forgets_a_namespace() -> None:
    subprocess.run(["ip", "netns", "add", f"rqs-{{os.getpid()}}-leak"], check=True)
    open("{pid_file}", "w").write(str(os.getpid()))
"""


def run_leaky(tmp_path: Path, test: str, pid_file: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_leaky.py").write_text(test.format(pid_file=pid_file))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.support.leftovers"]
    return subprocess.run([*command, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.hosts
def test_a_forgotten_namespace_is_deleted_and_fails_the_run(tmp_path: Path) -> None:
    pid_file = tmp_path / "pytest.pid"
    done = run_leaky(tmp_path, NAMESPACE_TEST, pid_file)
    assert done.returncode == 1, done.stdout
    assert "network namespaces left" in done.stdout
    assert f"rqs-{pid_file.read_text()}-leak" not in namespaces()


@pytest.mark.parametrize("test", [LEAKY_TEST, ORPHANING_TEST], ids=["child", "orphan"])
def test_a_forgotten_process_is_killed_and_fails_the_run(tmp_path: Path, test: str) -> None:
    pid_file = tmp_path / "leaked.pid"
    done = run_leaky(tmp_path, test, pid_file)
    assert done.returncode == 1, done.stdout
    assert not alive(int(pid_file.read_text()))
