"""Paced submissions (the plan's rate) from a few threads, every answer kept with its wall-clock send time."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import httpx2 as httpx

from bench.harness.wait import STOP

THREADS = 4


@dataclass
class Answer:
    token: str
    sent: float  # wall clock
    status: int  # -1: no HTTP answer
    seconds: float
    job_id: str | None = None


class PacedLoad:
    """`rate` POST /jobs per second in total until stopped; each thread keeps its own share of the pace."""

    def __init__(self, base_url: str, api_key: str, ledger: str, rate: float) -> None:
        self.base_url, self.api_key, self.ledger = base_url, api_key, ledger
        self.interval = THREADS / rate
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(THREADS)]

    def __enter__(self) -> PacedLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, index: int) -> None:
        client = httpx.Client(base_url=self.base_url, headers={"X-API-Key": self.api_key}, timeout=10)
        next_at = time.monotonic() + index * self.interval / THREADS
        try:
            while not self._stop.is_set() and not STOP.is_set():
                delay = next_at - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                next_at = max(next_at + self.interval, time.monotonic() - self.interval)  # no catch-up burst
                self._submit(client)
        finally:
            client.close()

    def _submit(self, client: httpx.Client) -> None:
        token = uuid.uuid4().hex[:12]
        # Retries: a job abandoned in the failover (its worker lost Redis mid-run) runs again, not ends failed.
        body = {
            "task": "bench.failover.mark",
            "kwargs": {"ledger": self.ledger, "token": token},
            "retry": {"max": 3, "backoff": 0},
        }
        sent, started = time.time(), time.monotonic()
        job_id = None
        try:
            answer = client.post("/jobs", json=body, headers={"Idempotency-Key": token})
            status = answer.status_code
            if status == 202:
                job_id = str(answer.json()["id"])
        except httpx.HTTPError:
            status = -1
        with self._lock:
            self.answers.append(Answer(token, sent, status, time.monotonic() - started, job_id))
