"""The engine takes jobs ahead while jobs are short, runs no more than its threads, none ahead behind a long job."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from bench.harness.wait import wait_until
from workers.worker.engine import JobEngine, Slot

ALWAYS_SHORT, NEVER_SHORT = 3600.0, 0.0  # seconds a job counts as short: no test depends on the clock


class Gates:
    """A run function whose runs wait for their own gate; it counts how many run at once."""

    def __init__(self) -> None:
        self.gates: dict[str, threading.Event] = {}
        self.running = 0
        self.most = 0
        self.ran: list[str] = []
        self._lock = threading.Lock()

    def run(self, slot: Slot) -> None:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.ran.append(slot.job_id)
        self.gates.setdefault(slot.job_id, threading.Event()).wait(30)
        with self._lock:
            self.running -= 1

    def open(self, job_id: str) -> None:
        self.gates.setdefault(job_id, threading.Event()).set()


def slot(job_id: str) -> Slot:
    return Slot(SimpleNamespace(id=job_id), queue=None, execution=None, timeout=None)


def engine_with(gates: Gates, concurrency: int, prefetch: int, short: float = ALWAYS_SHORT) -> JobEngine:
    engine = JobEngine(concurrency, run=gates.run, on_abandon=lambda s: None, prefetch=prefetch, short=short)
    engine.start()
    return engine


def warm_up(engine: JobEngine, gates: Gates, jobs: int = 2) -> None:
    """`jobs` runs that end at once (short ones, for an engine whose jobs are ALWAYS_SHORT)."""
    for n in range(jobs):
        gates.open(f"warm-{n}")
        engine.submit(slot(f"warm-{n}"))
    engine.drain()


def test_a_fresh_engine_takes_none_ahead() -> None:
    gates = Gates()
    engine = engine_with(gates, concurrency=2, prefetch=2)
    assert engine.free_slots() == 2  # no short job has ended yet: it could be a burst of long ones
    warm_up(engine, gates, jobs=1)
    assert engine.free_slots() == 3  # one short end: one taken ahead


def test_slots_taken_ahead_wait_for_a_thread() -> None:
    gates = Gates()
    engine = engine_with(gates, concurrency=2, prefetch=2)
    warm_up(engine, gates)
    gates.ran.clear()
    assert engine.free_slots() == 4
    for job_id in "abcd":
        engine.submit(slot(job_id))
    wait_until(lambda: gates.running == 2, 10, "two jobs to run")
    assert engine.free_slots() == 0
    assert sorted(gates.ran) == ["a", "b"]  # c and d wait for a thread
    for job_id in "abcd":
        gates.open(job_id)
    engine.drain()
    assert gates.most == 2 and sorted(gates.ran) == list("abcd")


def test_no_slot_is_taken_ahead_behind_a_long_job() -> None:
    for short, free in ((ALWAYS_SHORT, 3), (NEVER_SHORT, 1)):  # a thread, and two taken ahead or none
        gates = Gates()
        engine = engine_with(gates, concurrency=2, prefetch=2, short=short)
        warm_up(engine, gates)
        engine.submit(slot("job"))
        wait_until(lambda gates=gates: gates.running == 1, 10, "the job to run")
        assert engine.free_slots() == free
        gates.open("job")
        engine.drain()


def test_without_prefetch_only_the_threads_count() -> None:
    gates = Gates()
    engine = engine_with(gates, concurrency=2, prefetch=0)
    assert engine.free_slots() == 2
    engine.submit(slot("a"))
    assert engine.free_slots() == 1
    gates.open("a")
    engine.drain()
