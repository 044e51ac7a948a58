"""Late-result protection: a run records its end only while it still owns its job.

A worker cut off from Redis (a partition, a long pause) keeps running its jobs;
meanwhile its heartbeats stop, another worker's maintenance takes the run for
abandoned and the job runs again elsewhere. When the partition heals, the first
run's end must not be recorded as if it were the only run: its result would
overwrite the rerun's, or its retry would run the job a third time.

A run owns its job while its `<job_id>:<execution_id>` entry is in the queue's
started registry: the recovery that hands the job on removes it, and the
heartbeat only renews an entry that is still there (ZADD XX). RQ records an end
in one transaction; while a run's end is being recorded, the pipelines this
thread opens on the worker's connection WATCH the job's hash (which the recovery
and any rerun write) and read the entry before their MULTI, in one round trip
(RQ's success end already WATCHes: it costs no extra round trip, and RQ's read of
the job's dependents that follows its WATCH is sent in that same round trip; a
failure or retry end costs one). So the check and the write are atomic: a change in between
aborts the transaction (WatchError: RQ's success loop builds it again, a queued
failure or retry transaction is replayed here); an entry gone raises `LateEnd`,
nothing is written, and the run is logged as `late end of run <job>:<execution>
dropped` (RQ's failure end also logs the `LateEnd` as a failure to persist).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError, WatchError

log = logging.getLogger(__name__)
ATTEMPTS = 5  # transactions aborted by a concurrent write (a heartbeat) before giving up


class LateEnd(Exception):
    """This run's job was handed on (taken for abandoned): its end is not recorded."""


class _Owner:
    def __init__(
        self,
        job_key: str,
        registry_key: str,
        member: str,
        dependents_key: str | None,
        on_recorded: Callable[[Pipeline], None],
    ) -> None:
        self.job_key = job_key
        self.registry_key = registry_key
        self.member = member
        self.dependents_key = dependents_key
        self.on_recorded = on_recorded
        self.recorded = False  # the end's transaction went through: later ones (dependents) are not the end

    def mark_recorded(self, pipeline: Pipeline) -> None:
        self.recorded = True
        self.on_recorded(pipeline)


class OwnedEndPipeline(Pipeline):
    """A transaction that first WATCHes the job's hash and checks the run still owns the job."""

    def __init__(self, client: Redis, owner: _Owner, transaction: bool, shard_hint: Any) -> None:
        super().__init__(client.connection_pool, client.response_callbacks, transaction, shard_hint)
        self.owner = owner
        self._prefetched: tuple[str, Any] | None = None  # (dependents key, its members) read with the WATCH

    def watch(self, *names: Any) -> bool:
        """WATCH `names` and the job's hash, and read the run's entry, in one round trip; LateEnd if it is gone."""
        if self.explicit_transaction:
            raise RedisError("Cannot issue a WATCH after a MULTI")
        if self._owned(names) is None:
            self.reset()
            log.warning("late end of run %s dropped: the job was handed on meanwhile", self.owner.member)
            raise LateEnd(f"{self.owner.member} is no longer in {self.owner.registry_key}")
        return True

    def _owned(self, names: tuple[Any, ...]) -> float | None:
        """The run's score in the started registry, read right after the WATCH on the same connection.

        RQ's success end WATCHes the job's dependents key and then reads its members
        (`Queue.move_dependents_to_ready`, one round trip of its own): that read rides
        along here, after the WATCH as before, and is handed to RQ when it asks.
        """
        if self.connection is None:
            self.connection = self.connection_pool.get_connection()
        connection = self.connection
        dependents = self.owner.dependents_key if self.owner.dependents_key in names else None
        commands = [("WATCH", *names, self.owner.job_key), ("ZSCORE", self.owner.registry_key, self.owner.member)]
        if dependents is not None:
            commands.append(("SMEMBERS", dependents))
        self._prefetched = None
        try:
            connection.send_packed_command(connection.pack_commands(commands))
            self.parse_response(connection, "WATCH")  # the pipeline now reads as watching
            score: float | None = self.parse_response(connection, "ZSCORE")
            if dependents is not None:
                self._prefetched = (dependents, self.parse_response(connection, "SMEMBERS"))
        except BaseException:
            connection.disconnect()  # a reply left unread must not reach the next user of this connection
            self.reset()
            raise
        return score

    def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        """RQ's read of the dependents right after its WATCH: answered from the read sent with it."""
        prefetched, self._prefetched = self._prefetched, None
        if (
            prefetched is not None
            and args[0] == "SMEMBERS"
            and args[1:] == (prefetched[0],)
            and set(options) <= {"keys"}
        ):
            return prefetched[1]
        return super().immediate_execute_command(*args, **options)

    def reset(self) -> None:
        self._prefetched = None
        super().reset()

    def multi(self) -> None:
        if not self.watching:
            self.watch()
        super().multi()

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        """A transaction of queued commands (RQ's failure and retry ends): checked first, replayed if aborted.

        The commands do not depend on what was read, so an aborted one is sent again as it was.
        An explicit MULTI (RQ's success end) was checked at its WATCH, and RQ rebuilds it itself.
        """
        if not self.command_stack and not self.explicit_transaction:
            return super().execute(raise_on_error)
        if self.explicit_transaction:
            result = super().execute(raise_on_error)
        else:
            result = self._replayed(list(self.command_stack), raise_on_error)
        self.owner.mark_recorded(self)
        return result

    def _replayed(self, queued: list[Any], raise_on_error: bool) -> list[Any]:
        for attempt in range(ATTEMPTS):
            self.watch()
            self.command_stack = list(queued)
            try:
                return super().execute(raise_on_error)
            except WatchError:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")


class OwnedEnds:
    """Makes `connection.pipeline()` return an `OwnedEndPipeline` in a thread recording a run's end.

    Only until the end's one transaction went through: what RQ does after it (enqueue the
    job's dependents, on pipelines of its own) is not part of the end.
    """

    def __init__(self, connection: Redis, on_recorded: Callable[[Pipeline], None] = lambda pipeline: None) -> None:
        """`on_recorded(pipeline)` is called in the thread, within `owned_by`, when a transaction went through."""
        self._here = threading.local()
        self._on_recorded = on_recorded
        plain = connection.pipeline

        def pipeline(transaction: bool = True, shard_hint: Any = None) -> Pipeline:
            owner: _Owner | None = getattr(self._here, "owner", None)
            if owner is None or owner.recorded:
                return plain(transaction, shard_hint)
            return OwnedEndPipeline(connection, owner, transaction, shard_hint)

        connection.pipeline = pipeline  # type: ignore[method-assign]

    @contextmanager
    def owned_by(
        self, job_key: str, registry_key: str, member: str, dependents_key: str | None = None
    ) -> Iterator[None]:
        """Within: this thread's transactions write only while `member` is in `registry_key`.

        `dependents_key` (the job's): when RQ WATCHes it, its members are read in the same round trip.
        """
        self._here.owner = _Owner(job_key, registry_key, member, dependents_key, self._on_recorded)
        try:
            yield
        finally:
            self._here.owner = None
