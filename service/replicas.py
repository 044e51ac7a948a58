"""Every accepted write (a 2xx to POST, PUT, PATCH or DELETE) leaves only once the replicas have it.

Applied once, in the guarded route class, so every mutating route gets it: submissions,
batches, schedule changes, cancel and requeue. With REDIS_MIN_REPLICAS_ACK=0 (the default)
nothing is added.
"""

from __future__ import annotations

from fastapi import Request, Response

from service.errors import redis_unavailable
from workers.core.replication import ReplicasNotConfirmed, confirm_async, required

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def replicated(request: Request, response: Response) -> Response:
    """`response` once REDIS_MIN_REPLICAS_ACK replicas confirmed; a 503 saying the write may still exist if not."""
    settings = request.app.state.settings
    if request.method not in WRITES or not 200 <= response.status_code < 300 or not required(settings):
        return response
    try:
        await confirm_async(request.app.state.async_redis, settings)
    except ReplicasNotConfirmed as error:
        return redis_unavailable(str(error))
    return response
