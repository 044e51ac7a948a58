"""The Lua steps that release runs staged ahead (workers/schedules/herds.py): cheap enough for a herd at its instant.

A staged run's job hash is written before its due time (status `scheduled`, no queue entry),
and everything else its firing writes is planned then too and packed as RESP. At the due time
`release`, one call per batch under the scheduler's lock, per run:

- checks the schedule is still due at that time and unchanged (its `updated_at`), as the fire
  step does; a run whose schedule changed is left out, and its staged job deleted unless it has
  moved on (fired by the fire step meanwhile), so it never runs;
- sets the job `queued` with its `enqueued_at` and pushes it (RPUSH, or LPUSH at front), as
  RQ's enqueue of a scheduled job does; a staged job canceled meanwhile is recorded, not pushed;
  one that is gone, or a key of the wrong type, leaves the run to the fire step;
- moves the schedule to its next due time and sets its last run, runs total and runs kept;
- appends the run to SCHEDULES_RECORDING, in the same call.

`record` then writes, for each run on that list, what else the fire step writes for a fired run:
its ledger entry, counters and lateness histogram, the release of the run that falls out of the
kept ones and the compaction of older results streams. It takes its entries off the list in the
call that writes them, so whichever scheduler runs it (the one that released, or one that took
over after a crash in between) records each run once; until then a run shows in the schedule's
last run but not yet in `/runs`. Splitting the two halves the work between the due time and
the last job on its queue. Only `fired_at` (one per call) is not known ahead: the ledger entry,
the lateness and `last_run_at` are computed from it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from redis import Redis

from workers.core import keys
from workers.jobs import writer
from workers.observability.metrics import SCHEDULE_LATENESS, SCHEDULE_RUNS, lateness_buckets
from workers.schedules.fire_script import RUN_CLEANUP, Packed, answers, call
from workers.schedules.store import RUNS_KEPT

SEP = "\x1f"  # between the parts of a recording entry (no key, name or JSON field holds it)

RELEASE_SCRIPT = """
-- KEYS: 1 the lock, 2 the due set, 3 the recording list.
-- ARGV: 1 the lock owner's token ('' = no lock check), 2 fired_at, 3 enqueued_at (RQ's format);
--   then each run: name, schedule key, due, updated_at, job key, job id, queue key, push (RPUSH or
--   LPUSH), next due ('' = none), runs_total, kept, its recording entry but for fired_at.
-- Answers one per run: 1 released, 0 left out, or why it was refused.
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'not-owner' end
local stamp, CHUNK = ARGV[3], 1000
local checked, answers, pushes, order, advanced, recorded = {}, {}, {}, {}, {}, {}
local function wrong(key, want)
  if checked[key] then return nil end
  local kind = redis.call('TYPE', key)['ok']
  if kind ~= 'none' and kind ~= want then return 'WRONGTYPE ' .. key .. ' holds a ' .. kind .. ': not released' end
  if kind ~= 'none' then checked[key] = true end
  return nil
end
local shared = wrong(KEYS[2], 'zset') or wrong(KEYS[3], 'list')
if shared then return redis.error_reply(shared) end
for i = 4, #ARGV, 12 do
  local name, skey, due, updated, jkey, jid, qkey, push, following, runs, kept, record = unpack(ARGV, i, i + 11)
  local status = redis.pcall('HGET', jkey, 'status')
  local current = redis.pcall('HGET', skey, 'updated_at')
  local score = redis.call('ZSCORE', KEYS[2], name)
  local refused = wrong(qkey, 'list')
  if type(status) == 'table' or type(current) == 'table' then refused = 'WRONGTYPE ' .. jkey .. ' or ' .. skey end
  if refused then
    answers[#answers + 1] = refused
  elseif not score or tonumber(score) ~= tonumber(due) or (current or '') ~= updated then
    if status == 'scheduled' then redis.call('DEL', jkey) end
    answers[#answers + 1] = 0
  elseif not status then
    answers[#answers + 1] = 0
  else
    if status == 'scheduled' then
      redis.call('HSET', jkey, 'status', 'queued', 'enqueued_at', stamp)
      redis.call('PERSIST', jkey)
      local key = push .. ' ' .. qkey
      if not pushes[key] then
        pushes[key] = {}
        order[#order + 1] = {push, qkey, key}
      end
      table.insert(pushes[key], jid)
    end
    redis.call('HSET', skey, 'last_run_at', ARGV[2], 'last_due_at', due, 'last_job_id', jid, 'runs_total', runs,
      'kept', kept)
    if following == '' then
      redis.call('ZREM', KEYS[2], name)
    else
      advanced[#advanced + 1] = following
      advanced[#advanced + 1] = name
    end
    recorded[#recorded + 1] = ARGV[2] .. record
    answers[#answers + 1] = 1
  end
end
-- The pushes, the moves to the next due time and the recording entries: a command per queue and per call.
local function each(command, key, items, step)
  for c = 1, #items, step * CHUNK do
    redis.call(command, key, unpack(items, c, math.min(c + step * CHUNK - 1, #items)))
  end
end
for _, p in ipairs(order) do each(p[1], p[2], pushes[p[3]], 1) end
each('ZADD', KEYS[2], advanced, 2)
each('RPUSH', KEYS[3], recorded, 1)
return answers
"""

RECORD_SCRIPT = (
    RUN_CLEANUP
    + """
-- KEYS: 1 the recording list, 2 the runs counters, 3 the lateness histogram.
-- ARGV: 1 how many entries, 2 ledger entries kept, 3 n buckets, then n bounds and n + 1 bucket texts
--   (the last +Inf). An entry: fired_at, due, schedule key, ledger key, ledger entry up to its lateness,
--   runs counter field, lateness field up to its bucket, then extras: 'R', job key, ttl, job id,
--   callback key, results key, registry count, registries (a run released by count) or 'C', key (compacted).
-- Answers how many entries it recorded.
for _, key in ipairs({KEYS[2], KEYS[3]}) do
  local kind = redis.call('TYPE', key)['ok']
  if kind ~= 'none' and kind ~= 'hash' then return redis.error_reply('WRONGTYPE ' .. key .. ': nothing recorded') end
end
local entries = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
redis.call('LTRIM', KEYS[1], #entries, -1)
local ledger_kept, n = tonumber(ARGV[2]), tonumber(ARGV[3])
local bounds, texts, lateness = {}, {}, {}
for b = 1, n do bounds[b] = tonumber(ARGV[3 + b]) end
for b = 1, n + 1 do texts[b] = ARGV[3 + n + b] end
local function decimal(x)  -- like Python's repr(round(x, 6)), read back with float()
  local text = string.format('%.6f', x):gsub('0+$', '')
  if text:sub(-1) == '.' then text = text .. '0' end
  return text
end
local function kind_of(key, want)
  local kind = redis.call('TYPE', key)['ok']
  return kind == 'none' or kind == want
end
for _, raw in ipairs(entries) do
  local f = {}
  for part in string.gmatch(raw, '[^\\031]+') do f[#f + 1] = part end
  local key = f[1] .. ' ' .. f[2]  -- a herd's runs share their times, and so their lateness and its bucket
  local late = lateness[key]
  if not late then
    local value = tonumber(f[1]) - tonumber(f[2])
    local b = 1
    while b <= n and value > bounds[b] do b = b + 1 end
    late = {value, decimal(value), texts[b] .. ']'}
    lateness[key] = late
  end
  if redis.call('EXISTS', f[3]) == 1 then  -- a schedule deleted meanwhile gets no ledger again
    local length = redis.pcall('LPUSH', f[4], f[5] .. late[2])
    if type(length) == 'number' and length > ledger_kept then redis.call('LTRIM', f[4], 0, ledger_kept - 1) end
  end
  redis.call('HINCRBY', KEYS[2], f[6], 1)
  redis.call('HINCRBY', KEYS[3], f[7] .. late[3], 1)
  redis.call('HINCRBYFLOAT', KEYS[3], f[7] .. '"sum"]', late[1])
  local i = 8
  while i <= #f do
    if f[i] == 'R' then
      local count = tonumber(f[i + 6])
      if kind_of(f[i + 1], 'hash') and kind_of(f[i + 4], 'hash') and kind_of(f[i + 5], 'stream') then
        release_run(f[i + 1], f[i + 2], f[i + 3], f[i + 4], f[i + 5], {unpack(f, i + 7, i + 6 + count)})
      end
      i = i + 7 + count
    else
      if kind_of(f[i + 1], 'stream') then compact(f[i + 1]) end
      i = i + 2
    end
  end
end
return #entries
"""
)
RELEASE_SHA = hashlib.sha1(RELEASE_SCRIPT.encode()).hexdigest()
RECORD_SHA = hashlib.sha1(RECORD_SCRIPT.encode()).hexdigest()
RECORD_BATCH = 1000
_BOUNDS, _TEXTS = lateness_buckets()
_HEAD = (len(_BOUNDS), *(repr(float(bound)) for bound in _BOUNDS), *_TEXTS)


def load(connection: Redis) -> None:
    """Have Redis compile the scripts ahead (staging does), so the release's first call sends its arguments once."""
    connection.script_load(RELEASE_SCRIPT)
    connection.script_load(RECORD_SCRIPT)


def entry(*parts: object) -> str:
    """A run's recording entry (due, schedule key, ledger key, ledger entry, counter and lateness fields,
    extras) but for its leading fired_at, which the release adds."""
    return SEP + SEP.join(str(part) for part in parts)


def release(connection: Redis, token: str, fired_at: float, runs: list[Packed]) -> list[int | str]:
    """Release staged runs (each packed by `herds`: ARGV of one run) at `fired_at`; one answer per run.

    Raises LockLost when the lock is another process's (nothing written).
    """
    stamp = writer.rq_time(datetime.fromtimestamp(fired_at, UTC))
    head: list[Any] = [
        3,
        keys.SCHEDULER_LOCK,
        keys.SCHEDULES_DUE,
        keys.SCHEDULES_RECORDING,
        token,
        repr(fired_at),
        stamp,
    ]
    return answers(call(connection, RELEASE_SCRIPT, RELEASE_SHA, [*head, *runs]))


def record(connection: Redis) -> int:
    """Record (ledger, metrics, runs kept) every released run on SCHEDULES_RECORDING; how many it recorded."""
    done = 0
    while True:
        args = [3, keys.SCHEDULES_RECORDING, SCHEDULE_RUNS.key, SCHEDULE_LATENESS.key, RECORD_BATCH, RUNS_KEPT, *_HEAD]
        count = int(call(connection, RECORD_SCRIPT, RECORD_SHA, args))
        done += count
        if count < RECORD_BATCH:
            return done


def waiting(connection: Redis) -> int:
    """Runs released and not yet recorded (a scheduler that died in between left them)."""
    return int(connection.llen(keys.SCHEDULES_RECORDING))
