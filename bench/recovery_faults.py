"""Redis paused, then killed and restarted from its AOF, under a loop of POST /jobs: answers, latency, lost jobs.

One client submits instant ledger jobs back to back for `fault_load_seconds`
to a `web` process (with a `worker` and a `scheduler` on the same Redis). Redis
runs with `appendonly yes, appendfsync always`; at 2 s it is SIGSTOPped for 3 s,
at 7 s it is killed -9 and at 9 s restarted on the same port and directory.
Goal: only 2xx and 503 answers, and every accepted job's body runs to its end.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2 as httpx
from redis import Redis
from redis.exceptions import RedisError

from bench.procs import free_port
from bench.recovery_plan import RecoveryPlan
from bench.recovery_procs import Fleet, Process, api_client, pause, service_env, wait_for, wait_for_api
from bench.recovery_tasks import Runs, read_ledger

QUEUE = "faults"
ENDED = {b"finished", b"failed", b"stopped", b"canceled"}


class AofRedis:
    """A redis-server with `appendfsync always` that can be paused, killed and started again in place."""

    def __init__(self, fleet: Fleet, directory: Path) -> None:
        self.fleet = fleet
        self.port = free_port()
        self.directory = directory
        self.process: Process | None = None
        self.client = Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=5)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.directory.mkdir(parents=True, exist_ok=True)
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory)]
        self.process = self.fleet.start("redis-aof", argv, dict(os.environ))
        wait_for(self._answers, timeout, f"redis-server on port {self.port}")

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)

    def _answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except RedisError:
            return False


class Load:
    """Submits jobs one after another until stopped; records every answer and its latency."""

    def __init__(self, port: int, ledger: Path) -> None:
        self.client = api_client(port)
        self.ledger = ledger
        self.accepted: dict[str, str] = {}  # ledger token -> job id
        self.refused: list[str] = []  # tokens not answered 202 (their job may or may not exist)
        self.answers: Counter[str] = Counter()
        self.slowest: dict[str, tuple[float, float]] = {}  # answer -> (seconds, when it was sent)
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load", daemon=True)

    def __enter__(self) -> Load:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.client.close()

    def _run(self) -> None:
        for _ in range(200_000):  # bounded; stopped long before
            if self._stop.is_set():
                return
            token = uuid.uuid4().hex[:12]
            body = {
                "task": "bench.recovery.mark",
                "kwargs": {"ledger": str(self.ledger), "token": token},
                "queue": QUEUE,
                "retry": {"max": 3, "backoff": 0},
            }
            self._post(token, body)

    def _post(self, token: str, body: dict[str, Any]) -> None:
        started = time.monotonic()
        try:
            answer = self.client.post("/jobs", json=body)
            label = str(answer.status_code)
        except httpx.HTTPError as error:
            answer, label = None, f"no answer ({type(error).__name__})"
        seconds = time.monotonic() - started
        self.answers[label] += 1
        if seconds > self.slowest.get(label, (0.0, 0.0))[0]:
            self.slowest[label] = (round(seconds, 3), round(started - self.started, 2))
        if answer is not None and answer.status_code == 202:
            self.accepted[token] = str(answer.json()["id"])
        else:
            self.refused.append(token)
            time.sleep(0.05)


def run_faults(plan: RecoveryPlan, workdir: Path) -> dict[str, Any]:
    with Fleet(workdir / "logs") as fleet:
        server = AofRedis(fleet, workdir / "aof")
        try:
            server.start(plan.startup_timeout)
            return _under_load(fleet, server, plan, workdir)
        finally:
            server.signal(signal.SIGCONT)  # a stopped Redis would not see the SIGTERM that stops it


def _under_load(fleet: Fleet, server: AofRedis, plan: RecoveryPlan, workdir: Path) -> dict[str, Any]:
    port = free_port()
    env = service_env(server.url, PORT=str(port), QUEUES=QUEUE)
    web = fleet.procfile("web", env)
    others = [fleet.procfile("worker", env), fleet.procfile("scheduler", env)]
    probe = api_client(port)
    try:
        wait_for_api(probe, web, plan.startup_timeout)
    finally:
        probe.close()
    ledger = workdir / "ledger-faults.txt"
    with Load(port, ledger) as load:
        events = _inject_faults(server, plan)
    alive = {name: p.poll() is None for name, p in zip(("web", "worker", "scheduler"), [web, *others], strict=True)}
    drained = _drain(server.client, list(load.accepted.values()), plan.drain_timeout)
    losses = _losses(server.client, ledger, load)
    channels = len(server.client.pubsub_channels("rq:pubsub:*"))  # one per live rq worker object expected
    for process in (*others, web):  # before their Redis, which the Fleet stops last
        fleet.stack.stop(process)
    return {
        "events": events,
        "answers": dict(load.answers),
        "slowest_answer_s": {k: v[0] for k, v in load.slowest.items()},
        "slowest_answer_sent_at_s": {k: v[1] for k, v in load.slowest.items()},
        "processes_alive_after": alive,
        "worker_pubsub_channels_after": channels,
        "drain_s": drained,
        **losses,
    }


def _inject_faults(server: AofRedis, plan: RecoveryPlan) -> list[dict[str, Any]]:
    """The fault timeline (seconds from the start of the load), ending at `fault_load_seconds`."""
    started = time.monotonic()
    events: list[dict[str, Any]] = []

    def at(offset: float, what: str) -> None:
        pause(started + offset - time.monotonic())
        events.append({"at_s": round(time.monotonic() - started, 2), "event": what})

    at(2.0, "SIGSTOP redis")
    server.signal(signal.SIGSTOP)
    at(5.0, "SIGCONT redis")
    server.signal(signal.SIGCONT)
    at(7.0, "SIGKILL redis")
    server.kill()
    at(9.0, "restart redis (AOF)")
    server.start(plan.startup_timeout)
    events.append({"at_s": round(time.monotonic() - started, 2), "event": "redis answers PING"})
    at(plan.fault_load_seconds, "stop load")
    return events


def _statuses(client: Redis, job_ids: list[str]) -> list[bytes | None]:
    pipe = client.pipeline(transaction=False)
    for job_id in job_ids:
        pipe.hget(f"rq:job:{job_id}", "status")
    return list(pipe.execute())


def _drain(client: Redis, job_ids: list[str], timeout: float) -> float | None:
    started = time.monotonic()
    try:
        wait_for(lambda: all(s in ENDED for s in _statuses(client, job_ids)), timeout, "accepted jobs to end", 0.5)
    except TimeoutError:
        return None
    return round(time.monotonic() - started, 3)


def _losses(client: Redis, ledger: Path, load: Load) -> dict[str, Any]:
    """Accepted jobs lost (never ran to the end), missing from Redis, or run twice; refused ones that ran."""
    runs = read_ledger(ledger)
    tokens = list(load.accepted)
    statuses = _statuses(client, [load.accepted[t] for t in tokens])
    by_status = Counter((s or b"missing").decode() for s in statuses)
    return {
        "accepted": len(tokens),
        "accepted_by_status_after": dict(by_status),
        "lost_accepted": [load.accepted[t] for t in tokens if runs.get(t, Runs()).ends == 0],
        "accepted_missing_from_redis": by_status.get("missing", 0),
        "accepted_run_more_than_once": sum(1 for t in tokens if len(runs.get(t, Runs()).start_pids) > 1),
        "refused": len(load.refused),
        "refused_but_ran": sum(1 for t in load.refused if runs.get(t, Runs()).ends > 0),
    }
