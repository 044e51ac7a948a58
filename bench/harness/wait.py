"""The one wait loop: poll a condition until a deadline, and name what was awaited when it times out.

Every wait of every benchmark goes through `poll_until`, so each is bounded and
each gives up at once when the run is being stopped (`STOP`, set on SIGTERM,
Ctrl-C or an error in the main thread), including waits in worker threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

STOP = threading.Event()


class Stopped(RuntimeError):
    """The run is being stopped: raised by every wait, so threads finish promptly."""


def poll_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> bool:
    """Poll `check()` until it is true (True) or `timeout` seconds passed (False); `Stopped` on STOP."""
    deadline = time.monotonic() + timeout
    while True:
        if STOP.is_set():
            raise Stopped(f"stopped while waiting for {what}")
        if check():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        STOP.wait(min(interval, left))


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Like `poll_until`, but a timeout is an error: TimeoutError naming `what`."""
    if not poll_until(check, timeout, what, interval):
        raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def pause(seconds: float) -> None:
    """Sleep, but wake (and raise `Stopped`) as soon as the run is stopped."""
    if STOP.wait(max(0.0, seconds)):
        raise Stopped("stopped")


def sleep_until(moment: float) -> None:
    """Pause until wall-clock `moment` (at once if it has passed)."""
    pause(moment - time.time())
