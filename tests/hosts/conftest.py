"""Hosts as network namespaces: Redis, the web, and two worker/scheduler hosts (needs root: make test-hosts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from redis import Redis

from bench.hosts.cluster import Cluster
from tests.support.keys import ADMIN, KEYS

pytestmark = pytest.mark.hosts


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
