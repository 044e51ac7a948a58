"""The load of the Redis-fault run: one client submitting instant ledger jobs back to back, every answer recorded."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2 as httpx

from bench.recovery.service import api_client

QUEUE = "faults"


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
