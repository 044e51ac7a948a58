"""The Lua steps of the limits: each decides and records atomically, so hosts need nothing else to agree.

Concurrency: a sorted set per task of slot holders (job ids) scored by their lease's
end; a lease not renewed (its worker died) ends by itself. Rate: a sorted set per
task of start times in the sliding window, and a line of the jobs it refused, each
given its own later start: the k-th in line gets the start the (k mod rate)-th start
of this window frees, k div rate windows on, so a backlog comes back a window's worth
at a time instead of all at once whenever the window reopens. Time is Redis's own
(TIME), so the hosts' clocks need not agree.
"""

NOW_MS = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""

# KEYS[1]: the task's slot set, KEYS[2]: its start log, KEYS[3]: its line. ARGV: (unused),
# concurrency (0: none), lease ms, holder (job id and a token of this run), rate count (0:
# none), window ms, a unique start id, the job id. Returns {1, the admission time in ms}
# when admitted (a slot taken, a start logged), else {0, ms to wait} ({0, -1}: no slot free).
ACQUIRE = (
    NOW_MS
    + """
local concurrency = tonumber(ARGV[2])
local rate = tonumber(ARGV[5])
local window = tonumber(ARGV[6])
if concurrency > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) >= concurrency then
    return {0, -1}
  end
end
if rate > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  local was_in_line = redis.call('ZREM', KEYS[3], ARGV[8]) == 1
  if redis.call('ZCARD', KEYS[2]) >= rate then
    -- a job whose start came and went (deleted, or still on its way back) holds no place
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
    local k = 0  -- one back from its start goes to the front: else a steady stream of new jobs starves it
    if not was_in_line then k = redis.call('ZCOUNT', KEYS[3], now, '+inf') end
    local starts = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
    local at = tonumber(starts[2 * (k % rate) + 2]) + window * (1 + math.floor(k / rate))
    redis.call('ZADD', KEYS[3], at, ARGV[8])
    redis.call('PEXPIRE', KEYS[3], at - now + window)
    return {0, math.max(1, at - now)}
  end
  redis.call('ZADD', KEYS[2], now, ARGV[7])
  redis.call('PEXPIRE', KEYS[2], window)
end
if concurrency > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return {1, now}
"""
)

# KEYS[1]: the task's slot set. ARGV: (unused), lease ms, holder. Only a slot still held is renewed.
RENEW = (
    NOW_MS
    + """
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
"""
)
