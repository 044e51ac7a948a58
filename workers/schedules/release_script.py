"""The Lua step that releases runs staged ahead (workers/schedules/herds.py): cheap enough for a herd at its instant.

A staged run's job hash is written before its due time (status `scheduled`, no queue entry),
and everything else its firing writes is planned then too and packed as RESP. At the due time
one call per batch, under the scheduler's lock, per run:

- checks the schedule is still due at that time and unchanged (its `updated_at`), as the fire
  step does; a run whose schedule changed is left out, and its staged job deleted unless it has
  moved on (fired by the fire step meanwhile), so it never runs;
- checks the type of every key it writes before writing any (a wrong one refuses that run);
- sets the job `queued` with its `enqueued_at` and pushes it (RPUSH, or LPUSH at front), as
  RQ's enqueue of a scheduled job does; a staged job canceled meanwhile is recorded, not pushed;
  one that is gone is left out (the fire step then writes it afresh);
- writes what the fire step writes for a fired run: ledger entry, the schedule's last run and
  runs kept, the counters and lateness histogram, the move to the next due time, the release of
  the run that falls out of the kept ones and the compaction of older results streams.

Only `fired_at` (one per call) is not known ahead: the ledger entry, the lateness and the
schedule's `last_run_at` are computed from it here.
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

RELEASE_SCRIPT = (
    RUN_CLEANUP
    + """
-- KEYS: 1 the lock, 2 the due set, 3 the runs counters, 4 the lateness histogram.
-- ARGV: 1 the lock owner's token ('' = no lock check), 2 fired_at, 3 enqueued_at (RQ's format),
--   4 ledger entries kept, 5 n buckets, then n bounds and n + 1 bucket texts (the last +Inf);
--   then each run: name, schedule key, due, updated_at, job key, job id, queue key, push (RPUSH or
--   LPUSH), ledger key, ledger entry up to its lateness, next due ('' = none), runs_total, kept,
--   runs counter field, lateness field up to its bucket, extra count, then each extra as
--   'R', job key, ttl, job id, results key, registry count, registries (a run released) or 'C', key.
-- Answers one per run: 1 released, 0 left out, or why it was refused.
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'not-owner' end
local fired, stamp, ledger_kept, n = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local bounds, texts = {}, {}
for b = 1, n do bounds[b] = tonumber(ARGV[5 + b]) end
for b = 1, n + 1 do texts[b] = ARGV[5 + n + b] end
local checked, answers, entries, i = {}, {}, {}, 7 + 2 * n
local pushes, order, advanced, CHUNK = {}, {}, {}, 1000
local function wrong(key, want)
  if checked[key] then return nil end
  local kind = redis.call('TYPE', key)['ok']
  if kind ~= 'none' and kind ~= want then
    return 'WRONGTYPE ' .. key .. ' holds a ' .. kind .. ': not released'
  end
  if kind ~= 'none' then checked[key] = true end
  return nil
end
local shared = wrong(KEYS[2], 'zset') or wrong(KEYS[3], 'hash') or wrong(KEYS[4], 'hash')
if shared then return redis.error_reply(shared) end
local function decimal(x)  -- like Python's repr(round(x, 6)), read back with float()
  local text = string.format('%.6f', x):gsub('0+$', '')
  if text:sub(-1) == '.' then text = text .. '0' end
  return text
end
while i <= #ARGV do
  local name, skey, due, updated, jkey, jid, qkey, push = unpack(ARGV, i, i + 7)
  local rkey, entry, following, runs, kept, rfield, lfield, extra = unpack(ARGV, i + 8, i + 15)
  i = i + 16
  local extras = {}
  for _ = 1, tonumber(extra) do
    if ARGV[i] == 'R' then
      local count = tonumber(ARGV[i + 5])
      extras[#extras + 1] = {ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], {unpack(ARGV, i + 6, i + 5 + count)}}
      i = i + 6 + count
    else
      extras[#extras + 1] = {ARGV[i + 1]}
      i = i + 2
    end
  end
  local status = redis.pcall('HGET', jkey, 'status')
  local current = redis.pcall('HGET', skey, 'updated_at')
  local score = redis.call('ZSCORE', KEYS[2], name)
  local refused = wrong(qkey, 'list')
  for _, e in ipairs(extras) do refused = refused or wrong(e[1], e[2] and 'hash' or 'stream') end
  if type(status) == 'table' or type(current) == 'table' then refused = 'WRONGTYPE ' .. jkey .. ' or ' .. skey end
  if refused then
    answers[#answers + 1] = refused
  elseif not score or tonumber(score) ~= tonumber(due) or (current or '') ~= updated then
    if status == 'scheduled' then redis.call('DEL', jkey) end
    answers[#answers + 1] = 0
  elseif not status then
    answers[#answers + 1] = 0
  else
    local late = fired - tonumber(due)
    local text = entries[due]  -- a herd's runs share their due time, and so their lateness and its bucket
    if not text then
      local b = 1
      while b <= n and late > bounds[b] do b = b + 1 end
      text = {decimal(late), texts[b] .. ']'}
      entries[due] = text
    end
    local length = redis.pcall('LPUSH', rkey, entry .. text[1])  -- the first write: a wrong type refuses the run
    if type(length) == 'table' then
      answers[#answers + 1] = 'WRONGTYPE ' .. rkey .. ': this run was not released'
    else
      if length > ledger_kept then redis.call('LTRIM', rkey, 0, ledger_kept - 1) end
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
      redis.call('HINCRBY', KEYS[3], rfield, 1)
      redis.call('HINCRBY', KEYS[4], lfield .. text[2], 1)
      redis.call('HINCRBYFLOAT', KEYS[4], lfield .. '"sum"]', late)
      for _, e in ipairs(extras) do
        if e[2] then release_run(e[1], e[2], e[3], e[4], e[5]) else compact(e[1]) end
      end
      answers[#answers + 1] = 1
    end
  end
end
-- The pushes and the moves to the next due time, a command per queue (in order) and per call.
for _, p in ipairs(order) do
  local ids = pushes[p[3]]
  for c = 1, #ids, CHUNK do redis.call(p[1], p[2], unpack(ids, c, math.min(c + CHUNK - 1, #ids))) end
end
for c = 1, #advanced, 2 * CHUNK do
  redis.call('ZADD', KEYS[2], unpack(advanced, c, math.min(c + 2 * CHUNK - 1, #advanced)))
end
return answers
"""
)
RELEASE_SHA = hashlib.sha1(RELEASE_SCRIPT.encode()).hexdigest()
_BOUNDS, _TEXTS = lateness_buckets()
_HEAD = (len(_BOUNDS), *(repr(float(bound)) for bound in _BOUNDS), *_TEXTS)


def load(connection: Redis) -> None:
    """Have Redis compile the script ahead (staging does), so the release's first call sends its arguments once."""
    connection.script_load(RELEASE_SCRIPT)


def release(connection: Redis, token: str, fired_at: float, runs: list[Packed]) -> list[int | str]:
    """Release staged runs (each packed by `herds`: ARGV of one run) at `fired_at`; one answer per run.

    Raises LockLost when the lock is another process's (nothing written).
    """
    stamp = writer.rq_time(datetime.fromtimestamp(fired_at, UTC))
    lock, due = keys.SCHEDULER_LOCK, keys.SCHEDULES_DUE
    args: list[Any] = [4, lock, due, SCHEDULE_RUNS.key, SCHEDULE_LATENESS.key, token, repr(fired_at), stamp, RUNS_KEPT]
    return answers(call(connection, RELEASE_SCRIPT, RELEASE_SHA, [*args, *_HEAD, *runs]))
