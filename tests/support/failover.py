"""Steady submissions through a real web process, every answer recorded: what a failover test counts."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx2 as httpx

from tests.support.keys import ADMIN_KEY


class SubmissionLoad:
    """POST /jobs in a loop (`tests.ledger`, with retries) from one thread; accepted tokens and statuses kept."""

    def __init__(self, base_url: str, ledger: Path) -> None:
        self.client = httpx.Client(base_url=base_url, headers={"X-API-Key": ADMIN_KEY}, timeout=10)
        self.ledger = ledger
        self.accepted: dict[str, str] = {}  # token -> job id
        self.statuses: Counter[int] = Counter()  # -1: no HTTP answer at all
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            token = uuid.uuid4().hex[:10]
            body = {"task": "tests.ledger", "args": [str(self.ledger), token], "retry": {"max": 5, "backoff": 1}}
            try:
                answer = self.client.post("/jobs", json=body, headers={"Idempotency-Key": token})
            except httpx.HTTPError:
                self.statuses[-1] += 1
                continue
            self.statuses[answer.status_code] += 1
            if answer.status_code == 202:
                self.accepted[token] = answer.json()["id"]
            else:
                time.sleep(0.05)  # a refused submission: pace the retries, as a client would

    def ran(self) -> set[str]:
        """Tokens whose job body finished at least once."""
        lines = self.ledger.read_text().splitlines()
        return {line.split()[1] for line in lines if line.startswith("end ")}

    def __enter__(self) -> SubmissionLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.client.close()


def repeated_runs(path: Path) -> list[str]:
    """Job ids `tests.ledger_job` wrote more than once."""
    ids = Counter(line.split()[1] for line in path.read_text().splitlines() if line.startswith("run "))
    return sorted(job_id for job_id, count in ids.items() if count > 1)
