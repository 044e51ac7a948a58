"""Each Procfile process says in one start-up line what it does, on which Redis, with which tasks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.harness.redis import RedisServer
from tests.support.stack import Stack, eventually

pytestmark = pytest.mark.e2e

DOING = {
    "web": "web: the HTTP API, /docs and /dashboard for queues high, default, low, 3 API keys",
    "worker": "worker: queues high, default, low (in priority order), up to 8 jobs at once",
    "scheduler": "scheduler: fires due schedules",
}


@pytest.fixture(scope="module")
def started(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(redis_server.url, tmp_path_factory.mktemp("logs"))
    try:
        for kind in DOING:
            stack.start(kind)
        yield stack
    finally:
        stack.stop_all()


def banners(stack: Stack, kind: str) -> list[str]:
    process = next(p for p in stack.processes if p.kind == kind)
    return [line for line in process.log().splitlines() if f"INFO workers.core.banner: {kind}: " in line]


@pytest.mark.parametrize("kind", DOING)
def test_each_process_logs_one_banner(started: Stack, kind: str) -> None:
    assert eventually(lambda: len(banners(started, kind)) == 1)


@pytest.mark.parametrize("kind", DOING)
def test_the_banner_says_what_the_process_does(started: Stack, kind: str) -> None:
    assert eventually(lambda: DOING[kind] in "".join(banners(started, kind)))


@pytest.mark.parametrize("kind", DOING)
def test_the_banner_names_redis_and_the_task_modules(started: Stack, kind: str) -> None:
    expected = f"; Redis {started.env['REDIS_URL']}; "
    assert eventually(lambda: expected in "".join(banners(started, kind)))
    assert "tasks from workers.tasks.builtin, tests.tasks" in "".join(banners(started, kind))
