"""Herds staged ahead: a run due with many others at one instant is planned and written before it, released at it.

Firing a herd of 10,000 cron schedules at its minute boundary costs about a CPU-second of
planning and half a second of Redis writes, so the last run would reach its queue well after
the boundary. A scheduler that sees such a herd coming (at least HERD_MIN schedules due at one
whole second within LEAD seconds) stages it, a batch per loop step while it has time to spare:

- each run is planned as the fire step would plan it at its due time, and its job hash is
  written now, guarded like a fire (lock owner, schedule still due then and unchanged), with
  status `scheduled`, no queue entry, and a TTL that outlives the run's grace: the fire step
  writes over it (and makes it persistent) if the run fires the usual way after all;
- the rest of the run's writes are packed as the release step's arguments and kept here.

At the due time `release_script` releases every staged run in a few calls, and records them
(ledger, metrics, runs kept) right after. The staged job is
in no RQ registry: RQ's scheduler (in every worker) moves due jobs out of ScheduledJobRegistry
by reading them and then pushing them in a MULTI that checks nothing, so a job staged there
could be pushed by it and by the release both; here only the release (or the fire step) pushes it.

Nothing is lost with this process: a scheduler that takes over has no staged plans and fires
the herd with the fire step; a schedule changed, paused or deleted meanwhile fails the
release's guard and its staged job is deleted; a run released too late to be fired as planned
(past its grace, or its next due time) is left to the fire step, which records what it would.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from redis import Redis

from workers.core import keys
from workers.core.settings import Settings
from workers.jobs import writer
from workers.observability.metrics import ALL_SCHEDULES, FIRED, fired_run_fields
from workers.rq_seam.job import TaskJob
from workers.schedules import fire_script, release_script
from workers.schedules.fire_script import APPLIED, Block, LockLost, Packed, packed
from workers.schedules.firing import BATCH, FIELDS, Fired, State, keep_runs, plan_of, state_of
from workers.schedules.run_jobs import staged_job
from workers.schedules.store import derived_job_id

HERD_MIN = 50  # schedules due at one whole second that make a herd worth staging
LEAD = 10.0  # seconds before a herd's due time that staging starts (10,000 runs take 1-4 s, with the machine's load)
SPARE = 0.05  # seconds a batch may take at least (it takes ~50 ms, longer on a loaded machine: the last one is used)
PROBE_EVERY = 0.25  # seconds between looks for a herd coming
RELEASE_BATCH = 1000  # staged runs per release call (each ~20 us of Redis)
RECORD_EVERY = 1.0  # seconds between looks for runs released but not recorded (a scheduler died in between)
TTL_MARGIN = 60  # seconds a staged job outlives its run's grace (the fire step makes it persistent)

PROBE_SCRIPT = """
-- KEYS: 1 the due set. ARGV: from, to, least. The first whole second in [from, to] with at least
-- `least` schedules due then, or false.
for s = tonumber(ARGV[1]), tonumber(ARGV[2]) do
  if redis.call('ZCOUNT', KEYS[1], s, s) >= tonumber(ARGV[3]) then return s end
end
return false
"""
READ_SCRIPT = """
-- KEYS: 1 the due set. ARGV: due, offset, count, the schedule key prefix, then the fields to read.
-- Answers {names due exactly then (from offset), each one's fields}.
local names = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', ARGV[2], ARGV[3])
local fields = {}
for j = 1, #names do fields[j] = redis.call('HMGET', ARGV[4] .. names[j], unpack(ARGV, 5)) end
return {names, fields}
"""


@dataclass(frozen=True)
class Staged:
    """A run whose job is written ahead: what the release step needs, and what it will report."""

    fired: Fired
    run: Packed  # the release script's arguments for this run
    grace: float


class Herds:
    """Stages herds ahead of their due time (a batch per call) and releases them at it."""

    def __init__(self, connection: Redis, settings: Settings) -> None:
        self.connection = connection
        self.settings = settings
        self._staged: dict[float, dict[str, Staged]] = {}  # due time -> schedule -> its staged run
        self._target: float | None = None  # the herd being staged
        self._offset = 0  # how many of its schedules (in the due set's order) were looked at
        self._done: set[float] = set()  # herds staged whole
        self._probed = -math.inf
        self._batch_seconds = SPARE  # what the last staging batch took
        self._looked = -math.inf  # when the recording list was last looked at
        self._probe = connection.register_script(PROBE_SCRIPT)
        self._read = connection.register_script(READ_SCRIPT)

    def pending(self, now: float) -> bool:
        """Whether a staged herd is due at `now`."""
        return any(due <= now for due in self._staged)

    def release(self, now: float, token: str) -> list[Fired]:
        """Release every staged run due at `now`; the ones it leaves out are the fire step's. Raises LockLost.

        Their ledger entries and metrics are recorded once every one is on its queue.
        """
        steps: list[Fired] = []
        started = time.monotonic()
        for due in sorted(d for d in self._staged if d <= now):
            runs = list(self._staged.pop(due).values())
            self._done.discard(due)
            for start in range(0, len(runs), RELEASE_BATCH):
                fired_at = now + (time.monotonic() - started)  # as the fire step stamps a batch it built later
                chunk = [staged for staged in runs[start : start + RELEASE_BATCH] if _in_time(staged, fired_at)]
                if not chunk:
                    continue
                try:
                    answers = release_script.release(self.connection, token, fired_at, [s.run for s in chunk])
                except LockLost:
                    self._forget()
                    raise
                steps.extend(staged.fired for staged, answer in zip(chunk, answers, strict=True) if answer == APPLIED)
        if steps:  # every one on its queue: now their ledger entries and metrics
            release_script.record(self.connection)
        return steps

    def stage(self, now: float, token: str, next_due: float = math.inf) -> bool:
        """Stage one batch of a herd due within LEAD of `now`; True while more of it is left to stage.

        Only while a batch (twice what the last one took) fits before `next_due`, so staging never
        delays what is due: the rest of a herd not staged in time is fired by the fire step.
        """
        if next_due - now < max(SPARE, 2 * self._batch_seconds):
            return False
        if self._target is None:
            if time.monotonic() - self._probed < PROBE_EVERY:
                return False
            self._probed = time.monotonic()
            self._done = {due for due in self._done if due > now}
            start = max([math.floor(now), *self._done]) + 1  # past the herds staged already
            found = self._probe(keys=[keys.SCHEDULES_DUE], args=[start, math.floor(now + LEAD), HERD_MIN])
            if found is None:
                return False
            self._target, self._offset = float(found), 0
            release_script.load(self.connection)
        due = self._target
        if due <= now:
            self._target = None
            return False
        started = time.monotonic()
        names, values = self._read(
            keys=[keys.SCHEDULES_DUE], args=[repr(due), self._offset, BATCH, keys.schedule_key(""), *FIELDS]
        )
        self._offset += len(names)
        if len(names) < BATCH:
            self._target = None
            self._done.add(due)
        self._stage_batch(now, [state_of(n.decode(), due, *v) for n, v in zip(names, values, strict=True)], token)
        self._batch_seconds = time.monotonic() - started
        return self._target is not None

    def _stage_batch(self, now: float, states: list[State], token: str) -> None:
        planned = [(state, found) for state in states if (found := self._plan(state, now)) is not None]
        if not planned:
            return
        try:
            answers = fire_script.send(
                self.connection, keys.SCHEDULER_LOCK, token, keys.SCHEDULES_DUE, [block for _, (block, _) in planned]
            )
        except LockLost:
            self._forget()
            raise
        for (state, (_, run)), answer in zip(planned, answers, strict=True):
            if answer == APPLIED:
                self._staged.setdefault(state.due, {})[state.name] = run

    def _plan(self, state: State, now: float) -> tuple[Block, Staged] | None:
        """The staging block and the release arguments of one schedule's run; None: leave it to the fire step.

        Left to the fire step: what it would not simply fire (unreadable, `overlap: skip`, whose
        status is only known at the due time) and what cannot be planned (its task gone...).
        """
        spec = state.spec
        if spec is None or spec.overlap == "skip":
            return None
        name, due = state.name, state.due
        job_id = derived_job_id(name, due)
        job_key = TaskJob.key_for(job_id)
        try:
            template, fields = staged_job(self.settings, plan_of(spec), job_id)
            following = spec.next_due(due)
        except Exception:  # noqa: BLE001 - the fire step records why, as an error run
            return None
        runs_total = state.runs_total + 1
        if following is not None and spec.repeat is not None and runs_total >= spec.repeat:
            following = None
        block = Block(name, keys.schedule_key(name), due, state.updated_at)
        block.add("SADD", writer.QUEUES_KEY, template.queue_key)
        block.add("HSETT", job_key, *fields)
        block.add("EXPIRE", job_key, math.ceil(due - now + spec.misfire_grace_time) + TTL_MARGIN)
        cleanup = Block(name, "", due, b"")
        kept = " ".join(keep_runs(cleanup, self.settings, spec, template.queue, job_id, state.kept))
        label = name if self.settings.schedule_metrics == "per_schedule" else ALL_SCHEDULES
        runs_field, lateness_field = fired_run_fields(label)
        skey = keys.schedule_key(name)
        record = release_script.entry(
            repr(due), skey, keys.schedule_runs_key(name), f"f|{due!r}|", runs_field, lateness_field, *_extras(cleanup)
        )
        args = [name, skey, repr(due), state.updated_at, job_key, job_id, template.queue_key, template.push]
        args += ["" if following is None else repr(following), runs_total, kept, record]
        fired = Fired(name, due, job_id, FIRED, following)
        return block, Staged(fired, packed(tuple(args)), spec.misfire_grace_time)

    def _forget(self) -> None:
        """Another scheduler holds the lock: it fires these runs (its fire step writes over the staged jobs)."""
        self._staged.clear()
        self._done.clear()
        self._target = None

    def record_left(self, now: bool = False) -> None:
        """Record runs released but not recorded (a scheduler died between the two): looked for every
        RECORD_EVERY, or `now`."""
        if now or time.monotonic() - self._looked > RECORD_EVERY:
            self._looked = time.monotonic()
            if release_script.waiting(self.connection):
                release_script.record(self.connection)


def _in_time(staged: Staged, now: float) -> bool:
    """Released now, the run is what the fire step would write: within its grace, before its next due time."""
    fired = staged.fired
    assert fired.due is not None
    return now - fired.due <= staged.grace and (fired.next_due is None or now < fired.next_due)


def _extras(cleanup: Block) -> list[object]:
    """The RELEASE and COMPACT commands `keep_runs` recorded, as the release script's extras."""
    out: list[object] = []
    for name, key, args in cleanup.commands:
        if name == "COMPACT":
            out += ["C", key]
        else:
            ttl, job_id, (_, callback), (_, results_key), *registries = args
            out += ["R", key, ttl, job_id, callback, results_key, len(registries)]
            out += [registry for _, registry in registries]
    return out
