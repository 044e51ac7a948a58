"""The fire step alone, in this process, on a private redis-server: CPU per fired run, ours or any checkout.

`python -m bench.sched.fire_step [--schedules 100000] [--herd 10000]`. The scheduler process's
CPU (the `scales` phase) moves with the machine's load and with how far behind it falls
(a scheduler behind fires bigger batches, for less CPU a run); this measures the step
itself: N interval schedules every 60 s are fired through two simulated minutes, `now`
stepping as the loop would (to each pass's `next_due`), and the second minute is counted
(the first parses every definition once); then a herd of cron schedules due at one
boundary. Python CPU is this process's; Redis CPU is redis-server's (INFO cpu). Run it
from two checkouts in alternation to compare them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from redis import Redis

from bench.harness.redis import RedisServer
from bench.sched.fill import bulk_upsert, make_specs
from workers.core import keys
from workers.core.settings import Settings
from workers.schedules import firing
from workers.schedules import herds as herds_module
from workers.schedules.herds import Herds
from workers.schedules.spec import ScheduleSpec
from workers.tasks.registry import load_task_modules

INTERVAL = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=100_000, help="interval schedules every 60 s (0: none)")
    parser.add_argument("--herd", type=int, default=10_000, help="cron schedules due at one boundary (0: none)")
    options = parser.parse_args()
    load_task_modules([])
    with tempfile.TemporaryDirectory(prefix="fire-step-") as directory:
        server = RedisServer(Path(directory)).start()
        try:
            settings = Settings(redis_url=server.url)
            if options.schedules:
                print(steady(server.client, settings, options.schedules))
                server.client.flushall()
            if options.herd:
                print(herd(server.client, settings, options.herd))
                server.client.flushall()
                print(staged_herd(server.client, settings, options.herd))
        finally:
            server.stop()


def steady(connection: Redis, settings: Settings, count: int) -> str:
    now = time.time()
    bulk_upsert(connection, make_specs("n", count, INTERVAL, now - INTERVAL, INTERVAL, "fire-step"), now)
    first = _earliest(connection)
    _minute(connection, settings, first)  # every definition parsed and planned once
    before = _cpu(connection)
    fired, passes = _minute(connection, settings, first + INTERVAL)
    return _line(f"{count} interval schedules every 60 s, second minute", fired, passes, before, _cpu(connection))


def herd(connection: Redis, settings: Settings, count: int) -> str:
    boundary = _store_herd(connection, count)
    before = _cpu(connection)
    fired = passes = 0
    while steps := firing.fire_due(connection, settings, boundary + 0.001).steps:
        fired, passes = fired + len(steps), passes + 1
    return _line(f"herd of {count} cron schedules due at one boundary", fired, passes, before, _cpu(connection))


def staged_herd(connection: Redis, settings: Settings, count: int) -> str:
    """The same herd staged ahead (workers/schedules/herds.py), then released at the boundary: both measured."""
    boundary = _store_herd(connection, count)
    herds = Herds(connection, settings)
    before = _cpu(connection)
    while herds.stage(boundary - herds_module.LEAD + 1, ""):
        pass
    ahead = _cpu(connection)
    released = len(herds.release(boundary + 0.001, ""))
    passes = 1
    while steps := firing.fire_due(connection, settings, boundary + 0.001).steps:  # none left as a rule
        released, passes = released + len(steps), passes + 1
    staging = _line(f"herd of {count} staged ahead", released, 0, before, ahead)
    return (
        staging + "\n" + _line(f"herd of {count} released at the boundary", released, passes, ahead, _cpu(connection))
    )


def _store_herd(connection: Redis, count: int) -> float:
    specs = [
        ScheduleSpec(name=f"herd-{i:06d}", task="examples.noop", cron="* * * * *", timezone="Europe/Berlin", queue="h")
        for i in range(count)
    ]
    bulk_upsert(connection, specs, time.time())
    return _earliest(connection)


def _minute(connection: Redis, settings: Settings, start: float) -> tuple[int, int]:
    """Fire through [start, start + INTERVAL) as the loop would: each pass at the time the last one named."""
    fired = passes = 0
    now = start
    while now < start + INTERVAL:
        done = firing.fire_due(connection, settings, now)
        fired, passes = fired + len(done.steps), passes + 1
        now += firing.PASS_GAP if done.next_due is None else max(firing.PASS_GAP, min(done.next_due - now, 1.0))
    return fired, passes


def _earliest(connection: Redis) -> float:
    return float(connection.zrange(keys.SCHEDULES_DUE, 0, 0, withscores=True)[0][1])


def _cpu(connection: Redis) -> tuple[float, float]:
    info = connection.info("cpu")
    return time.process_time(), float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _line(what: str, fired: int, passes: int, before: tuple[float, float], after: tuple[float, float]) -> str:
    python, redis = after[0] - before[0], after[1] - before[1]
    per_run = f"{python / fired * 1e6:.1f} / {redis / fired * 1e6:.1f} us" if fired else "-"
    return f"{what}: {fired} runs in {passes} passes; CPU python {python:.2f} s, redis {redis:.2f} s; a run {per_run}"


if __name__ == "__main__":
    main()
