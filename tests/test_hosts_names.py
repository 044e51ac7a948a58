"""The hosts harness's names, which the leftovers check relies on (no root needed here)."""

from __future__ import annotations

import os
import shutil

import pytest

from bench.harness.hosts import Hosts, owner_pid


def test_owner_pid_reads_only_our_names() -> None:
    assert owner_pid("rqs-4242-w1") == 4242
    assert owner_pid("rqs-4242-sw") == 4242
    assert owner_pid("rqs-w1") is None
    assert owner_pid("other-4242-w1") is None


@pytest.mark.parametrize("name", ["sw", "W1", "a-b", "averylonghostname", ""])
def test_a_host_name_that_cannot_name_a_switch_port_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="host name"):
        Hosts([name])


@pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 is not installed")
def test_namespaces_are_named_after_our_pid() -> None:
    hosts = Hosts(["w1"])  # nothing is made until start()
    assert hosts.namespace("w1") == f"rqs-{os.getpid()}-w1"
    assert hosts.subnet.is_private
