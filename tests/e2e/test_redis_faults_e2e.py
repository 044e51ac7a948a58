"""Redis paused, killed and restarted (AOF always) under submission load: no 500, nothing lost."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx2 as httpx
from redis import Redis

from bench.harness.redis import RedisServer
from tests.support.keys import ADMIN_KEY
from tests.support.stack import Stack, eventually


class Load:
    """Submits jobs in a loop and records every answer."""

    def __init__(self, base_url: str, ledger: Path) -> None:
        self.client = httpx.Client(base_url=base_url, headers={"X-API-Key": ADMIN_KEY}, timeout=10)
        self.ledger = ledger
        self.accepted: dict[str, str] = {}  # token -> job id
        self.statuses: Counter[int] = Counter()
        self.slowest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for _ in range(20_000):
            if self._stop.is_set():
                return
            token = uuid.uuid4().hex[:10]
            body = {"task": "tests.ledger", "args": [str(self.ledger), token], "retry": {"max": 5, "backoff": 1}}
            started = time.monotonic()
            try:
                answer = self.client.post("/jobs", json=body)
            except httpx.HTTPError:
                self.statuses[-1] += 1
                continue
            self.slowest = max(self.slowest, time.monotonic() - started)
            self.statuses[answer.status_code] += 1
            if answer.status_code == 202:
                self.accepted[token] = answer.json()["id"]
            else:
                time.sleep(0.05)  # a refused submission: pace the retries, as a client would

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def test_pause_kill_and_restart_under_load(tmp_path: Path) -> None:
    # given
    server = RedisServer(tmp_path / "aof", appendonly=True).start()
    ledger = tmp_path / "ledger.txt"
    ledger.touch()
    stack = Stack(server.url, tmp_path)
    try:
        web = stack.start("web")
        worker = stack.start("worker")
        scheduler = stack.start("scheduler")

        # when
        # The injected faults and the load between them: each sleep is how long a phase lasts, not a wait.
        with Load(f"http://127.0.0.1:{stack.port}", ledger) as load:
            time.sleep(1.5)  # healthy load
            assert server.process is not None
            server.process.send_signal(signal.SIGSTOP)
            time.sleep(3)  # Redis paused
            server.process.send_signal(signal.SIGCONT)
            time.sleep(1.5)  # healthy load again
            server.process.kill()
            server.process.wait()
            time.sleep(2)  # Redis down
            server.start()
            time.sleep(2)  # load on the restarted Redis

        # then
        assert load.statuses[503] > 0, load.statuses
        assert load.statuses[202] > 0, load.statuses
        assert set(load.statuses) <= {202, 503}, load.statuses  # never a 500, never a hang
        assert load.slowest < 2.5
        for process in (web, worker, scheduler):
            assert process.popen.poll() is None, f"{process.kind} died:\n{process.log()[-3000:]}"
        job_ids = list(load.accepted.values())
        assert eventually(
            lambda: all(stack.http.get(f"/jobs/{j}").json()["status"] == "finished" for j in job_ids), timeout=90
        )
        ran = Counter(line.split()[1] for line in ledger.read_text().splitlines() if line.startswith("end"))
        assert [t for t in load.accepted if ran[t] == 0] == []  # nothing accepted is lost
        # The worker lost Redis and started afresh: only the new worker listens for commands.
        redis = Redis.from_url(server.url)
        channels = lambda: redis.pubsub_channels("rq:pubsub:*")  # noqa: E731
        assert eventually(lambda: len(channels()) == 1, timeout=15), channels()
    finally:
        stack.stop_all()
        server.stop()
