"""The two faults each scenario is measured under: its host cut off (partition) or its process killed (baseline)."""

from __future__ import annotations

import os
import signal

from bench.harness.processes import Process
from bench.hosts.cluster import Cluster

PARTITION = "partition"
KILL = "kill -9"
FAULTS = (PARTITION, KILL)


def inject(cluster: Cluster, fault: str, host: str, process: Process) -> None:
    """Cut `host` off, or SIGKILL `process` (running on it): the same loss, seen from the others."""
    if fault == PARTITION:
        cluster.hosts.partition(host)
    else:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def heal(cluster: Cluster, fault: str, host: str) -> None:
    if fault == PARTITION:
        cluster.hosts.heal(host)
