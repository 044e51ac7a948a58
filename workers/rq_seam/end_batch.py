"""Job ends that finish close together, sent to Redis as one script call.

With jobs running on several threads, their ends arrive in bursts (a batch started
together ends together). Each end is a block of commands (fast_end.py) that must be
written atomically, and only while its run still owns its job. The first thread to
arrive sends its block at once; the ends arriving while that call is in flight wait
and go together in the next call, sent by the first of them (leader and followers,
no thread of its own): one round trip, one packing and one script run for the lot,
each block checked and applied on its own. A thread returns once its own end is
written (or refused), as it did when it sent its end itself.

Only one call is in flight at a time, so the calls go on one connection held for the
purpose (workers/core/held_script.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError

from workers.core.held_script import HeldScript

RECORDED, LATE, RQ_PATH = b"ok", b"late", b"dependents"  # RQ_PATH: not this script's to record

# ARGV: per block: the started registry's key, the run's `<job>:<execution>` member, the
# job's dependents key, the number of commands, then each command as its argument count
# and its arguments. A block is applied only while the member is in the registry and the
# job has no dependents (RQ's own end enqueues those). Answers one verdict per block. As in
# a MULTI/EXEC, a command that fails does not stop the others: the block's verdict is then
# the first error, which its sender raises.
END_SCRIPT = """
local verdicts, i = {}, 1
while i <= #ARGV do
  local commands, verdict = tonumber(ARGV[i + 3]), 'ok'
  if not redis.call('ZSCORE', ARGV[i], ARGV[i + 1]) then
    verdict = 'late'
  elseif redis.call('EXISTS', ARGV[i + 2]) == 1 then
    verdict = 'dependents'
  end
  local apply = verdict == 'ok'
  i = i + 4
  for _ = 1, commands do
    local count = tonumber(ARGV[i])
    if apply then
      local reply = redis.pcall(unpack(ARGV, i + 1, i + count))
      if type(reply) == 'table' and reply.err and verdict == 'ok' then verdict = 'error ' .. reply.err end
    end
    i = i + count + 1
  end
  verdicts[#verdicts + 1] = verdict
end
return verdicts
"""
FAILED = b"error "


@dataclass(eq=False)
class EndBlock:
    """One run's end on its way: its script arguments, then its verdict (or the call's error)."""

    args: list[Any]
    verdict: bytes | None = None
    error: BaseException | None = None
    lead: bool = False  # woken to send the waiting blocks itself
    _woken: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._woken.acquire()  # held until this block is answered or made leader

    def wake(self) -> None:
        self._woken.release()

    def wait(self) -> None:
        self._woken.acquire()


class EndBatches:
    """Sends end blocks through END_SCRIPT, those waiting together."""

    def __init__(self, connection: Redis) -> None:
        self._script = HeldScript(connection, END_SCRIPT)  # only the sending thread calls it
        self._lock = threading.Lock()
        self._waiting: list[EndBlock] = []
        self._sending = False

    def send(self, block: EndBlock) -> bytes:
        """RECORDED, LATE or RQ_PATH for this block; raises what the call raised (Redis away)."""
        with self._lock:
            self._waiting.append(block)
            block.lead = not self._sending
            self._sending = True
        if not block.lead:
            block.wait()
        if block.lead:
            self._send_waiting()
        if block.error is not None:
            raise block.error
        assert block.verdict is not None
        return block.verdict

    def _send_waiting(self) -> None:
        with self._lock:
            blocks, self._waiting = self._waiting, []
        try:
            args = [arg for block in blocks for arg in block.args]
            verdicts = self._script([], args)
            for block, verdict in zip(blocks, verdicts, strict=True):
                block.verdict = verdict
                if verdict.startswith(FAILED):
                    block.error = ResponseError(verdict.removeprefix(FAILED).decode(errors="replace"))
        except BaseException as error:  # noqa: BLE001 - every sender of the call sees why its end was not written
            for block in blocks:
                block.error = error
        finally:
            self._hand_on(blocks)

    def _hand_on(self, sent: list[EndBlock]) -> None:
        """Wake the answered blocks' threads, and make the first block that waits meanwhile the next sender."""
        with self._lock:
            leader = self._waiting[0] if self._waiting else None
            self._sending = leader is not None
            if leader is not None:
                leader.lead = True
        for block in sent:
            if not block.lead:
                block.wake()
        if leader is not None:
            leader.wake()
