"""Every `rqs` command and subcommand answers `--help` (exit 0, a usage line), found by walking the parser."""

from __future__ import annotations

import argparse

import pytest
from rqs.cli import main, parser


def command_paths(command: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under `command`: ("submit",), ("schedules",), ("schedules", "put"), ..."""
    found = []
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((*prefix, name))
                found += command_paths(sub, (*prefix, name))
    return found


PATHS = command_paths(parser())


def test_the_walk_finds_every_command_the_issue_names() -> None:
    names = {path[0] for path in PATHS}
    assert {"submit", "batch", "get", "wait", "cancel", "requeue", "list", "schedules", "tail"} <= names
    schedules = {path[1] for path in PATHS if len(path) == 2 and path[0] == "schedules"}
    assert {"list", "get", "put", "pause", "resume", "trigger", "runs"} <= schedules


@pytest.mark.parametrize("path", [(), *PATHS], ids=lambda path: " ".join(path) or "rqs")
def test_help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: rqs {' '.join(path)}".rstrip())
