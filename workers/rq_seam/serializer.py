"""JSON as the only serializer any rq code path can reach, and pickle refused outright.

rq falls back to pickle wherever a caller passes no serializer (`Job.fetch(id)`,
`requeue_job`, rq-dashboard's job page), so one forgotten argument is enough to run
code written into Redis by anyone who can reach it. Rather than trust every call
site, the fallback itself is made JSON; and in the service's processes an audit
hook refuses the step every malicious pickle needs (resolving a global by name).
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import rq.job
import rq.queue
import rq.registry
import rq.results
import rq.serializers
from rq.serializers import JSONSerializer

SERIALIZER = JSONSerializer
_RQ_RESOLVE = rq.serializers.resolve_serializer


class PickleRefusedError(RuntimeError):
    """Something tried to unpickle a global in a process that never unpickles."""


def make_json_the_only_serializer() -> None:
    """Point rq's default (pickle) serializer, and its 'pickle' alias, at JSON."""
    rq.serializers.DefaultSerializer.dumps = staticmethod(SERIALIZER.dumps)  # type: ignore[assignment]
    rq.serializers.DefaultSerializer.loads = staticmethod(SERIALIZER.loads)  # type: ignore[assignment]
    rq.serializers.SERIALIZER_ALIASES["pickle"] = SERIALIZER


def _resolve(serializer: Any = None) -> Any:
    """rq's `resolve_serializer`, answering at once for the JSON serializer it would accept anyway.

    rq resolves the serializer again for every job, queue, registry and result object it
    builds, each time through a `typing.Protocol` isinstance check (about 11 µs on
    Python 3.11, several times per run); anything but JSON still takes rq's own check.
    """
    if serializer is SERIALIZER:
        return SERIALIZER
    return _RQ_RESOLVE(serializer)


for _module in (rq.job, rq.queue, rq.registry, rq.results):  # the modules that resolve per object
    _module.resolve_serializer = _resolve  # type: ignore[attr-defined]


def _refuse_pickle_globals(event: str, args: tuple[Any, ...]) -> None:
    if event == "pickle.find_class":
        raise PickleRefusedError(f"refusing to unpickle {args[0]}.{args[1]}: this process reads JSON only")


@functools.cache
def refuse_unpickling() -> None:
    """Install, once per process, an audit hook that stops any unpickling of code.

    Entry points call it (web, worker, scheduler), not the test process, since an
    audit hook cannot be removed again.
    """
    sys.addaudithook(_refuse_pickle_globals)
