"""Real `web` and `worker` processes from the Procfile, on the suite's private Redis."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from bench.harness.redis import RedisServer
from tests.support.needs import missing
from tests.support.stack import Stack, web_and_worker

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A web and a worker on an empty database: what earlier modules left (a killed worker's record) is gone."""
    redis_server.client.flushdb()
    with web_and_worker(redis_server.url, tmp_path_factory.mktemp("logs")) as stack:
        yield stack


@pytest.fixture
def chromium() -> str:
    """The Chromium the browser tests drive; a missing one skips on a laptop and fails in CI."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing("chromium is not installed: apt-get install -y chromium (.ci/run does so)")
    return found
