"""What the figures were measured on, so two result files can be compared honestly."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata
from typing import Any

PACKAGES = ("rq", "redis", "fastapi", "starlette", "uvicorn", "pydantic", "uvloop", "httptools")


def describe_environment() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_average": load_average(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "redis_server": _first_line(["redis-server", "--version"]),
        "wrk": _first_line(["wrk", "--version"]),
        "packages": {name: _version(name) for name in PACKAGES},
    }


def load_average() -> list[float]:
    """1, 5 and 15 minute load: other work on a shared box shows up here and in the figures."""
    return [round(value, 2) for value in os.getloadavg()]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _first_line(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        return f"{command[0]} not installed"
    done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].split(" Copyright")[0] if lines else "unknown"
