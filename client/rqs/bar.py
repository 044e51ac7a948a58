"""The progress bar `rqs` draws on stderr while it waits: in place on a terminal, a line per change elsewhere."""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 30


def render(fraction: float | None, text: str) -> str:
    """`[#########.....]  30% text`; an unknown fraction shows an empty bar and `--`."""
    if fraction is None:
        return f"[{'.' * WIDTH}]   -- {text}".rstrip()
    part = min(max(fraction, 0.0), 1.0)
    filled = round(part * WIDTH)
    return f"[{'#' * filled}{'.' * (WIDTH - filled)}] {part:4.0%} {text}".rstrip()


class Bar:
    """Redrawn only when it changes; a pipe or a log file gets one line per change, no control codes."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self._last: str | None = None

    def show(self, fraction: float | None, text: str) -> None:
        line = render(fraction, text)
        if not self.enabled or line == self._last:
            return
        self._last = line
        self.stream.write(f"\r\x1b[K{line}" if self.tty else f"{line}\n")
        self.stream.flush()

    def close(self) -> None:
        """End the line a terminal bar was drawn on."""
        if self.enabled and self.tty and self._last is not None:
            self.stream.write("\n")
            self.stream.flush()
