"""The fire step's one Lua call per batch: every due schedule's writes, each guarded, under the lock's owner.

A MULTI/EXEC of ten commands per run (job, ledger, counters, advance) cost the scheduler more
CPU packing and parsing commands than planning the runs, and one schedule changed by the API
meanwhile (a WATCH failure) sent the whole batch back one schedule at a time. Here the
batch is ONE script call, and each schedule's writes (a *block*) apply only when

- the scheduler still owns its lock (checked once, first: a lost lock writes nothing), and
- the schedule is still due at the time read and its definition was not changed since
  (its `updated_at`): a block whose schedule moved is left out, the others apply.

Every key a block writes is type-checked before the block writes anything, so a key of the
wrong type refuses that block (answered with the reason) instead of half-applying it.
`Block` records commands with the pipeline methods the metrics and ledger helpers call, so
they queue on a block as they would on a MULTI.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from hiredis import pack_command
from redis import Redis
from redis.exceptions import ConnectionError, NoScriptError, TimeoutError

from workers.core.keys import callback_key

FIRE_SCRIPT = """
-- KEYS: 1 the lock, 2 the due set, then every key the blocks write.
-- ARGV: 1 the lock owner's token ('' = no lock check), 2 the number of templates, then each
--   template as: field count, fields (a job hash's fields shared by many runs); then blocks:
--   name, schedule key index, due score, updated_at ('' = none), command count,
--   then each command as: name, key index, argument count, arguments.
-- Custom command HSETT: HSET of a template's fields (args[1]: its number) and then args[2..].
-- Custom command RELEASE (key: a run's job hash): args = ttl, job id, results key index,
--   then registry key indexes. A finished run's job, result and registry entries go now;
--   one still queued or running is handed back to `ttl` (it expires like any job).
-- Custom command COMPACT (key: a run's results stream): Redis preallocates 4 KB for a new stream
--   node, so a one-entry results stream costs ~4.7 KB; DUMP and RESTORE (its TTL kept) rewrite it
--   at its size (~0.9 KB). Only a large one is rewritten, so doing it twice costs little.
-- Answers one entry per block: 1 applied, 0 moved (left out), or a reason string (refused).
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'not-owner' end
local TYPES = {HSET = 'hash', HSETT = 'hash', HINCRBY = 'hash', HINCRBYFLOAT = 'hash', RPUSH = 'list', LPUSH = 'list',
  LTRIM = 'list', ZADD = 'zset', ZREM = 'zset', SADD = 'set', RELEASE = 'hash', COMPACT = 'stream'}
local DONE = {finished = true, failed = true, stopped = true, canceled = true}
local answers, checked, templates, i = {}, {}, {}, 3
for t = 1, tonumber(ARGV[2]) do
  local n = tonumber(ARGV[i])
  templates[t] = {i + 1, i + n}
  i = i + 1 + n
end
local function release(key, args)
  -- args: RESULT_TTL, the job id, its callback's key, its results key, its registries
  local status = redis.call('HGET', key, 'status')
  if status and not DONE[status] then
    redis.call('HSET', key, 'result_ttl', args[1])
    return
  end
  local ttl, results = tonumber(args[1]), KEYS[tonumber(args[4])]
  if ttl ~= 0 and redis.call('HGET', KEYS[tonumber(args[3])], 'status') == 'pending' then
    -- its webhook has not read it yet: it lives RESULT_TTL instead, as any job's result does
    local at = '+inf'
    if ttl > 0 then
      redis.call('EXPIRE', key, ttl)
      redis.call('EXPIRE', results, ttl)
      at = tonumber(redis.call('TIME')[1]) + ttl
    end
    for r = 5, #args do redis.call('ZADD', KEYS[tonumber(args[r])], 'XX', at, args[2]) end
    return
  end
  redis.call('DEL', key, results)
  for r = 5, #args do redis.call('ZREM', KEYS[tonumber(args[r])], args[2]) end
end
local function compact(key)
  local size = redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')
  if not size or size < 2048 then return end
  local ttl = redis.call('PTTL', key)
  redis.call('RESTORE', key, ttl > 0 and ttl or 0, redis.call('DUMP', key), 'REPLACE')
end
while i <= #ARGV do
  local name, skey, due, updated = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3]
  local count = tonumber(ARGV[i + 4])
  i = i + 5
  local commands, refused = {}, nil
  for _ = 1, count do
    local op, key, n = ARGV[i], KEYS[tonumber(ARGV[i + 1])], tonumber(ARGV[i + 2])
    if not refused and not checked[key] then
      local kind = redis.call('TYPE', key)['ok']
      if kind ~= 'none' and kind ~= TYPES[op] then
        refused = 'WRONGTYPE ' .. key .. ' holds a ' .. kind .. ': this run was not written'
      elseif kind ~= 'none' then
        checked[key] = true
      end
    end
    commands[#commands + 1] = {op, key, i + 3, n}
    i = i + 3 + n
  end
  local score = redis.call('ZSCORE', KEYS[2], name)
  local stamp = redis.call('HGET', skey, 'updated_at') or ''
  if not score or tonumber(score) ~= tonumber(due) or stamp ~= updated then
    answers[#answers + 1] = 0
  elseif refused then
    answers[#answers + 1] = refused
  else
    for _, c in ipairs(commands) do
      if c[1] == 'RELEASE' then
        release(c[2], {unpack(ARGV, c[3], c[3] + c[4] - 1)})
      elseif c[1] == 'COMPACT' then
        compact(c[2])
      elseif c[1] == 'HSETT' then
        local t = templates[tonumber(ARGV[c[3]])]
        redis.call('HSET', c[2], unpack(ARGV, t[1], t[2]))
        redis.call('HSET', c[2], unpack(ARGV, c[3] + 1, c[3] + c[4] - 1))
      else
        redis.call(c[1], c[2], unpack(ARGV, c[3], c[3] + c[4] - 1))
      end
    end
    answers[#answers + 1] = 1
  end
end
return answers
"""

SCRIPT_SHA = hashlib.sha1(FIRE_SCRIPT.encode()).hexdigest()

READ_SCRIPT = """
-- KEYS: 1 the due set. ARGV: now, how many, the schedule key prefix, then the fields to read.
-- Answers {due (name, score, ...), the first later (name, score) or {}, each due one's fields}.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])
local later = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local fields = {}
for j = 1, #due, 2 do
  fields[#fields + 1] = redis.call('HMGET', ARGV[3] .. due[j], unpack(ARGV, 4))
end
return {due, later, fields}
"""
READ_SHA = hashlib.sha1(READ_SCRIPT.encode()).hexdigest()
APPLIED, MOVED = 1, 0
REFERRING = frozenset(("HSETT", "RELEASE"))  # the commands whose arguments name keys or templates (as tuples)


class LockLost(Exception):
    """The scheduler no longer owns its lock: nothing of the batch was written."""


@dataclass
class Block:
    """One schedule's writes, recorded with the pipeline methods the ledger and metrics helpers call."""

    name: str
    schedule_key: str
    due: float
    updated_at: bytes
    commands: list[tuple[str, str, tuple[Any, ...]]] = field(default_factory=list)

    def add(self, name: str, key: str, *args: Any) -> None:
        self.commands.append((name, key, args))

    def hset(self, key: str, mapping: dict[str, Any]) -> None:
        self.add("HSET", key, *(part for item in mapping.items() for part in item))

    def hincrby(self, key: str, field_name: str, amount: int = 1) -> None:
        self.add("HINCRBY", key, field_name, amount)

    def hincrbyfloat(self, key: str, field_name: str, amount: float) -> None:
        self.add("HINCRBYFLOAT", key, field_name, amount)

    def lpush(self, key: str, *values: Any) -> None:
        self.add("LPUSH", key, *values)

    def ltrim(self, key: str, start: int, end: int) -> None:
        self.add("LTRIM", key, start, end)

    def zadd(self, key: str, mapping: dict[str, float]) -> None:
        self.add("ZADD", key, *(part for name, score in mapping.items() for part in (score, name)))

    def zrem(self, key: str, *names: str) -> None:
        self.add("ZREM", key, *names)

    def release(self, job_key: str, ttl: int, job_id: str, results_key: str, registries: Iterable[str]) -> None:
        """Drop a run's job that fell out of the kept ones; hand it to `ttl` instead while it is busy
        or its webhook is still to be delivered (the delivery reads the job)."""
        indexed = (("key", callback_key(job_id)), ("key", results_key), *(("key", registry) for registry in registries))
        self.commands.append(("RELEASE", job_key, (ttl, job_id, *indexed)))

    def compact(self, results_key: str) -> None:
        """Rewrite a finished run's results stream at its size (see COMPACT in the script)."""
        self.commands.append(("COMPACT", results_key, ()))

    def mark(self) -> int:
        return len(self.commands)

    def undo(self, mark: int) -> None:
        """Forget what was recorded after `mark` (a step that failed half-way must not half-happen)."""
        del self.commands[mark:]


class Packed(NamedTuple):
    """Arguments packed once as RESP (a template's job fields), sent as they are."""

    data: bytes
    count: int


def packed(args: tuple[Any, ...]) -> Packed:
    return Packed(_packed(list(args))[len(b"*%d\r\n" % len(args)) :], len(args))


def command(lock_key: str, token: str, due_key: str, blocks: list[Block]) -> list[Any]:
    """The arguments of the one EVALSHA for `blocks` (without the script or its SHA)."""
    index: dict[str, int] = {lock_key: 1, due_key: 2}
    templates: dict[Packed, int] = {}

    def key(name: str) -> int:
        return index.setdefault(name, len(index) + 1)

    def ref(arg: tuple[str, Any]) -> int:
        if arg[0] == "key":
            return key(arg[1])
        return templates.setdefault(arg[1], len(templates) + 1)

    body: list[Any] = []
    for block in blocks:
        body.extend((block.name, key(block.schedule_key), repr(block.due), block.updated_at, len(block.commands)))
        for name, target, args in block.commands:
            if name in REFERRING:
                args = tuple([ref(arg) if type(arg) is tuple else arg for arg in args])
            body.extend((name, key(target), len(args), *args))
    head: list[Any] = [token, len(templates)]
    for template in templates:
        head.extend((template.count, template))
    return [len(index), *index, *head, *body]


def send(connection: Redis, lock_key: str, token: str, due_key: str, blocks: list[Block]) -> list[int | str]:
    """Run the batch; one answer per block (APPLIED, MOVED or why it was refused). Raises LockLost.

    The call carries some 40 arguments per run: packed here in one pass (redis-py's
    general packer cost more than planning the runs), sent on a connection of the pool.
    """
    args = command(lock_key, token, due_key, blocks)
    try:
        reply = _call(connection, ["EVALSHA", SCRIPT_SHA, *args])
    except NoScriptError:
        reply = _call(connection, ["EVAL", FIRE_SCRIPT, *args])
    if reply in (b"not-owner", "not-owner"):
        raise LockLost("the scheduler lock is held by another process")
    return [answer.decode() if isinstance(answer, bytes) else answer for answer in reply]


def read(
    connection: Redis, due_key: str, prefix: str, now: float, limit: int, fields: tuple[str, ...]
) -> tuple[list[tuple[str, float, list[bytes | None]]], float | None]:
    """What is due at `now` (up to `limit`: name, score and `fields` of its hash) and the first due time after.

    One round trip for a pass's reads: the due set's two ranges and the schedules' hashes.
    """
    args = [1, due_key, repr(now), limit, prefix, *fields]
    try:
        due, later, values = connection.execute_command("EVALSHA", READ_SHA, *args)
    except NoScriptError:
        due, later, values = connection.execute_command("EVAL", READ_SCRIPT, *args)
    found = [(due[j].decode(), float(due[j + 1]), values[j // 2]) for j in range(0, len(due), 2)]
    return found, float(later[1]) if later else None


def _call(connection: Redis, args: list[Any]) -> Any:
    pool = connection.connection_pool
    link = pool.get_connection()
    try:
        link.send_packed_command([_packed(args)])
        return link.read_response()
    except (ConnectionError, TimeoutError, OSError):
        link.disconnect()  # a half-read reply must not reach the next caller
        raise
    finally:
        pool.release(link)


def _packed(args: list[Any]) -> bytes:
    """RESP for `args` (str, bytes, int, float, or Packed), as redis-py encodes them.

    hiredis's C packer (redis-py's own dependency here) encodes the runs between Packed
    parts: floats as repr, str as UTF-8, like redis-py; a type it refuses takes the Python path.
    """
    cuts = [at for at, arg in enumerate(args) if type(arg) is Packed]
    count = len(args) + sum(args[at].count - 1 for at in cuts)
    out = [b"*%d\r\n" % count]
    start = 0
    for at in [*cuts, len(args)]:
        if at > start:
            out.append(_bulk(args[start:at]))
        if at < len(args):
            out.append(args[at].data)
        start = at + 1
    return b"".join(out)


def _bulk(run: list[Any]) -> bytes:
    """RESP bulk strings for `run`, without the array header."""
    try:
        data: bytes = pack_command(tuple(run))
    except TypeError:
        return _bulk_python(run)
    return data[data.index(b"\n") + 1 :]


def _bulk_python(run: list[Any]) -> bytes:
    parts = [
        arg
        if type(arg) is bytes
        else (arg if type(arg) is str else repr(arg) if type(arg) is not int else str(arg)).encode()
        for arg in run
    ]
    return b"".join(b"$%d\r\n%s\r\n" % (len(data), data) for data in parts)
