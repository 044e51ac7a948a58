"""The hosts harness itself: hosts reach each other over the bridge, a partition cuts one off, nothing is left."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.harness.hosts import Hosts, namespaces
from bench.harness.processes import Processes
from tests.support.stack import eventually

pytestmark = pytest.mark.hosts
PORT = 8080
CONNECT = "import socket, sys; socket.create_connection((sys.argv[1], {port}), timeout=1).close()"


def reaches(hosts: Hosts, source: str, target: str) -> bool:
    """Whether a TCP connection from `source` to `target`'s listener succeeds within a second."""
    command = [*hosts.wrap(source), sys.executable, "-c", CONNECT.format(port=PORT), hosts.address(target)]
    return subprocess.run(command, capture_output=True, check=False, timeout=30).returncode == 0


def test_hosts_reach_each_other_until_partitioned_and_are_deleted_on_exit(tmp_path: Path) -> None:
    with Hosts(["a", "b"]) as hosts, Processes(tmp_path) as processes:
        made = [hosts.namespace(n) for n in ("a", "b", "sw")]
        assert set(made) <= set(namespaces())
        server = [sys.executable, "-m", "http.server", str(PORT), "--bind", hosts.address("b")]
        processes.start("listener", server, wrap=hosts.wrap("b"))
        assert eventually(lambda: reaches(hosts, "a", "b"), timeout=30)
        hosts.partition("b")
        assert not reaches(hosts, "a", "b")
        hosts.heal("b")
        assert eventually(lambda: reaches(hosts, "a", "b"), timeout=30)
    assert not set(made) & set(namespaces())
    assert hosts.observer_link not in subprocess.run(["ip", "link"], capture_output=True, text=True).stdout


def test_a_failure_inside_still_deletes_every_namespace() -> None:
    with pytest.raises(RuntimeError, match="boom"), Hosts(["a"]) as hosts:
        raise RuntimeError("boom")
    assert hosts.namespace("a") not in namespaces()
