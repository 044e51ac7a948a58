"""The Procfile's commands, so benchmarks (and tests) run exactly what a Procfile runner runs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def procfile_commands(path: Path = ROOT / "Procfile") -> dict[str, str]:
    """Process name -> command line, as written in the Procfile."""
    commands = {}
    for line in path.read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() and not name.startswith("#"):
            commands[name.strip()] = command.strip()
    return commands


def procfile_argv(kind: str, local: bool = True, path: Path = ROOT / "Procfile") -> list[str]:
    """`bash -c "exec <line>"`, as a Procfile runner starts it; `local` binds 127.0.0.1, not 0.0.0.0."""
    commands = procfile_commands(path)
    if kind not in commands:
        raise KeyError(f"no {kind!r} process in {path}")
    command = commands[kind]
    if local:
        command = command.replace("--host 0.0.0.0", "--host 127.0.0.1")
    return ["bash", "-c", f"exec {command}"]
