"""Worker names an operator can trace to a process: `<host>.<pid>.<random>`.

RQ's default is a random hex id. RQ refuses a second live worker of one name, so a
short random suffix keeps two workers apart even when a pid is reused (a container
restarted on the same host, a fresh worker after a Redis outage in the same process).
"""

from __future__ import annotations

import os
import secrets
import socket


def worker_name() -> str:
    """A new name for each worker built: the host, this process's pid and 6 random hex digits."""
    return f"{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(3)}"
