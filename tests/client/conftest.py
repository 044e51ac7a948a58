"""The client's tests talk real HTTP to real `web` and `worker` processes on the suite's private Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rqs import Client

from bench.harness.redis import RedisServer
from tests.support.keys import ADMIN_KEY
from tests.support.stack import Stack, web_and_worker


@pytest.fixture(scope="module")
def stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with web_and_worker(redis_server.url, tmp_path_factory.mktemp("logs")) as stack:
        yield stack


@pytest.fixture
def url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.port}"


@pytest.fixture
def rqs(url: str) -> Iterator[Client]:
    with Client(url, ADMIN_KEY) as client:
        yield client
