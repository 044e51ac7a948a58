"""Hosts as network namespaces: Redis, the web, and two worker/scheduler hosts (needs root: make test-hosts)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from redis import Redis

from bench.hosts.cluster import Cluster
from tests.support.keys import ADMIN, KEYS
from tests.support.needs import missing


@pytest.fixture(autouse=True)
def _root_and_iproute2() -> None:
    """Making namespaces needs root and `ip`: skipped without them on a laptop, a failure in CI."""
    if shutil.which("ip") is None:
        missing("`ip` is not installed (apt-get install iproute2)")
    if os.geteuid() != 0:
        missing("making network namespaces needs root (sudo make test-hosts)")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with Cluster(tmp_path, KEYS) as running:
        yield running


@pytest.fixture
def http(cluster: Cluster) -> Iterator[httpx.Client]:
    """A client of the web from the root namespace (outside every host)."""
    with httpx.Client(base_url=cluster.web_url, headers=ADMIN, timeout=10) as client:
        yield client


@pytest.fixture
def redis(cluster: Cluster) -> Iterator[Redis]:
    """Redis on its host, seen from the root namespace."""
    client = cluster.client()
    yield client
    client.close()
