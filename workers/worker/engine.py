"""Up to `concurrency` jobs at once in one worker process: worker threads, deadlines, stops, abandonment.

Like dramatiq's worker threads: a fixed set of long-lived threads takes jobs from an
in-process queue, so starting a job costs no thread start. Async tasks run on one
event loop in its own thread (workers/tasks/event_loop.py); the job's thread waits on it.

A thread cannot be killed. A job is stopped (a stop request, its deadline, the end of
the shutdown grace) by raising an exception inside its thread; a thread stuck in C code
(`time.sleep`, a blocking read) does not see it, so ABANDON_AFTER later the job is
finished from outside (`on_abandon`), its thread is left to end on its own and a fresh
thread takes its place. Whatever the abandoned thread does later is not recorded:
`claim_end` lets exactly one side finish a job.

The engine knows nothing of Redis or RQ; the worker class (workers/rq_seam/worker.py)
gives it `run` and `on_abandon`.
"""

from __future__ import annotations

import ctypes
import logging
import queue as queue_module
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
PREFETCH_WHILE_UNDER = 0.1  # s: jobs are taken ahead only while every running job started less than this ago
ABANDON_AFTER = 1.0  # seconds between raising in a job's thread and finishing the job from outside

TIMED_OUT = "timed out"
STOPPED = "stopped"
INTERRUPTED = "interrupted"  # the shutdown grace ran out: the job is put back


class JobInterrupted(BaseException):
    """Raised inside a running job to stop it (a stop request, or the shutdown grace ran out).

    A BaseException, so a task's own `except Exception` cannot swallow it.
    """


@dataclass(eq=False)
class Slot:
    """One job in flight: what the worker handed over, and what the engine decided about it."""

    job: Any
    queue: Any
    execution: Any
    timeout: float | None  # seconds; None = no deadline
    exclusive: str | None = None  # a task name that must not run beside itself in this process
    limit: Any = None  # what the worker holds for this run under its task's limits (freed once)
    thread_id: int | None = None
    deadline: float | None = None
    reason: str | None = None  # why the engine cut it short: TIMED_OUT, STOPPED or INTERRUPTED
    abandon_at: float | None = None
    claimed: bool = False  # its end is being recorded: no more interrupting it
    abandoned: bool = False
    started: float | None = None  # monotonic time its thread began running it

    @property
    def job_id(self) -> str:
        return str(self.job.id)


Run = Callable[[Slot], None]


class JobEngine:
    """Runs slots on `concurrency` threads; one monitor thread enforces deadlines and abandonment.

    Up to `prefetch` more slots may wait for a thread, as dramatiq's and Celery's workers
    take messages ahead: while jobs are short, the next ones are at hand when a thread
    frees, instead of a round trip later. Only as many as jobs that ran shorter than
    PREFETCH_WHILE_UNDER ended within the last PREFETCH_WHILE_UNDER, and only while every
    running job is younger than that: a burst of long jobs gets none taken ahead, and
    behind a long job none is taken, where it would wait while another worker may be
    idle. A waiting slot's deadline starts when its thread takes it.
    """

    def __init__(
        self, concurrency: int, run: Run, on_abandon: Run, prefetch: int = 0, short: float = PREFETCH_WHILE_UNDER
    ) -> None:
        self.concurrency = concurrency
        self.prefetch = prefetch
        self.short = short  # seconds: a running job younger than this counts as short
        self._short_ends: deque[float] = deque()  # when recent short runs ended (monotonic)
        self._run = run
        self._on_abandon = on_abandon
        self._inbox: queue_module.SimpleQueue[Slot] = queue_module.SimpleQueue()
        self._running: dict[str, Slot] = {}
        self._exclusive: dict[str, threading.Lock] = {}
        # One lock, two wake-ups, so neither side is woken for what only the other waits on:
        lock = threading.Lock()
        self._changed = threading.Condition(lock)  # the monitor: an earlier deadline, an interrupt, the shutdown
        self._freed = threading.Condition(lock)  # the main thread: a slot freed, the shutdown
        self._monitor_wakes_at: float | None = None  # None: the monitor sleeps until notified
        self._shutdown_at: float | None = None
        self._started = False
        self._here = threading.local()

    # The worker's main thread

    def submit(self, slot: Slot) -> None:
        self.start()
        with self._changed:
            self._running[slot.job_id] = slot
        self._inbox.put(slot)

    def wait_for_free_slot(self) -> None:
        """Block until another job may start, or shutdown began (then the worker stops dequeuing)."""
        with self._changed:
            while len(self._running) >= self._capacity() and self._shutdown_at is None:
                self._freed.wait()

    def wait_for_free_slots(self, wanted: int, timeout: float) -> None:
        """Block until `wanted` slots are free, for at most `timeout` s (or shutdown began)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._capacity() - len(self._running) < wanted and self._shutdown_at is None:
                left = deadline - time.monotonic()
                if left <= 0 or not self._freed.wait(left):
                    return

    def free_slots(self) -> int:
        with self._changed:
            return max(0, self._capacity() - len(self._running))

    def _capacity(self) -> int:
        """Slots in flight allowed now (under the lock): the threads, and the prefetch while jobs are short."""
        if not self.prefetch:
            return self.concurrency
        now = time.monotonic()
        ends = self._short_ends
        while ends and now - ends[0] > self.short:
            ends.popleft()
        for slot in self._running.values():
            if slot.started is not None and now - slot.started >= self.short:
                return self.concurrency
        return self.concurrency + min(self.prefetch, len(ends))

    def drain(self) -> None:
        """Block until no job is in flight: burst mode's end, or SIGTERM's grace and its aftermath."""
        with self._changed:
            while self._running:
                self._freed.wait()

    def begin_shutdown(self, grace: float) -> None:
        """Jobs in flight get `grace` seconds; then they are interrupted and put back."""
        with self._changed:
            self._shutdown_at = time.monotonic() + grace
            self._changed.notify_all()
            self._freed.notify_all()

    # Any thread

    def running(self) -> list[Slot]:
        with self._changed:
            return list(self._running.values())

    def get(self, job_id: str) -> Slot | None:
        with self._changed:
            return self._running.get(job_id)

    def interrupt(self, job_id: str, reason: str | None) -> bool:
        """Raise in the job's thread now; finish it from outside ABANDON_AFTER later if it is stuck."""
        with self._changed:
            slot = self._running.get(job_id)
            if slot is None or slot.claimed:
                return False
            slot.reason = slot.reason or reason
            slot.abandon_at = time.monotonic() + ABANDON_AFTER
            if slot.thread_id is not None:
                exception = _exception_for(slot.reason)
                _raise_in_thread(slot.thread_id, exception)
            self._changed.notify_all()
            return True

    def claim_end(self, slot: Slot) -> bool:
        """Whether the caller is the one to record this run's end (True once per run)."""
        with self._changed:
            if slot.claimed:
                return False
            slot.claimed = True
            return True

    def slot_here(self) -> Slot | None:
        """The run the calling thread is performing, or None (the main thread, RQ's maintenance)."""
        return getattr(self._here, "slot", None)

    def claim_end_here(self) -> bool:
        """From the code ending a run: record it? Always for a job the engine does not run."""
        slot = self.slot_here()
        return slot is None or self.claim_end(slot)

    # Threads

    def start(self) -> None:
        """Start the threads (once): before the first job, as each thread start waits for the thread to run."""
        if self._started:
            return
        self._started = True
        for _ in range(self.concurrency):
            self._spawn_runner()
        threading.Thread(target=self._monitor, name="job-deadlines", daemon=True).start()

    def _spawn_runner(self) -> None:
        threading.Thread(target=self._runner, name="job-runner", daemon=True).start()

    def _runner(self) -> None:
        while True:
            slot = self._inbox.get()
            try:
                self._run_slot(slot)
            except BaseException:  # noqa: BLE001 - an interrupt that landed after the job ended
                log.debug("late interrupt after job %s ended", slot.job_id)
            finally:
                self._finished(slot)
            if slot.abandoned:
                return  # a fresh thread took this one's place

    def _run_slot(self, slot: Slot) -> None:
        lock = self._exclusive.setdefault(slot.exclusive, threading.Lock()) if slot.exclusive else None
        if lock is not None:
            lock.acquire()
        try:
            with self._changed:
                slot.thread_id = threading.get_ident()
                slot.started = time.monotonic()
                slot.deadline = None if slot.timeout is None else slot.started + slot.timeout
                if slot.deadline is not None and (
                    self._monitor_wakes_at is None or slot.deadline < self._monitor_wakes_at
                ):
                    self._changed.notify_all()
                if slot.reason is not None:  # stopped while it waited for its turn
                    raise _exception_for(slot.reason)()
            self._here.slot = slot
            self._run(slot)
        finally:
            self._here.slot = None
            if lock is not None:
                lock.release()

    def _finished(self, slot: Slot) -> None:
        with self._changed:
            if self._running.get(slot.job_id) is slot:
                del self._running[slot.job_id]
            now = time.monotonic()
            if self.prefetch and slot.started is not None and now - slot.started < self.short:
                self._short_ends.append(now)
                if len(self._short_ends) > self.prefetch:
                    self._short_ends.popleft()
            self._freed.notify_all()

    def _monitor(self) -> None:
        """Sleep until the next deadline, grace end or abandonment; act on it. No polling."""
        while True:
            with self._changed:
                due = self._due_actions()
                if not due:
                    seconds = self._seconds_to_next_event()
                    self._monitor_wakes_at = None if seconds is None else time.monotonic() + seconds
                    self._changed.wait(seconds)
                    continue
            for action, slot in due:
                action(slot)

    def _due_actions(self) -> list[tuple[Run, Slot]]:
        now = time.monotonic()
        due: list[tuple[Run, Slot]] = []
        for slot in self._running.values():
            if slot.claimed:
                continue
            if slot.abandon_at is not None and now >= slot.abandon_at:
                due.append((self._abandon, slot))
            elif slot.reason is None and self._shutdown_at is not None and now >= self._shutdown_at:
                due.append((lambda s: self.interrupt(s.job_id, INTERRUPTED), slot))
            elif slot.reason is None and slot.deadline is not None and now >= slot.deadline:
                due.append((lambda s: self.interrupt(s.job_id, TIMED_OUT), slot))
        return due

    def _seconds_to_next_event(self) -> float | None:
        moments = [self._shutdown_at] if self._shutdown_at is not None and self._running else []
        for slot in self._running.values():
            moments += [m for m in (slot.deadline, slot.abandon_at) if m is not None]
        return None if not moments else max(0.0, min(moments) - time.monotonic())

    def _abandon(self, slot: Slot) -> None:
        if not self.claim_end(slot):
            return
        log.warning("job %s did not stop (%s): finishing it and abandoning its thread", slot.job_id, slot.reason)
        slot.abandoned = True
        self._spawn_runner()
        try:
            self._on_abandon(slot)
        except Exception:  # noqa: BLE001 - Redis away: maintenance recovers the job from the started registry
            log.exception("could not record the end of abandoned job %s", slot.job_id)
        self._finished(slot)


def _exception_for(reason: str | None) -> type[BaseException]:
    from rq.timeouts import JobTimeoutException  # the exception RQ's own timeouts raise

    return JobTimeoutException if reason == TIMED_OUT else JobInterrupted


def _raise_in_thread(thread_id: int, exception: type[BaseException]) -> None:
    """Raise `exception` in another thread at its next Python instruction (the way rq's TimerDeathPenalty does)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exception))
