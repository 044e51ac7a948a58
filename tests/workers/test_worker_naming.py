"""Worker names an operator can trace to a host and a process."""

from __future__ import annotations

import os
import re
import socket

from workers.worker.naming import worker_name


def test_a_worker_is_named_by_host_pid_and_a_short_random_suffix() -> None:
    pattern = rf"{re.escape(socket.gethostname())}\.{os.getpid()}\.[0-9a-f]{{6}}"
    assert re.fullmatch(pattern, worker_name())


def test_two_workers_of_one_process_get_two_names() -> None:
    assert worker_name() != worker_name()
