"""The rq-dashboard names `list_configured_queues` rebinds and overrides, pinned at the installed versions."""

from __future__ import annotations

import inspect

import rq_dashboard.web
from rq import Queue

from workers.rq_seam.dashboard import ConfiguredQueue, list_configured_queues


def test_rq_dashboard_names_queue_from_its_module() -> None:
    list_configured_queues()
    assert rq_dashboard.web.Queue is ConfiguredQueue


def test_queue_all_has_the_pinned_signature() -> None:
    parameters = list(inspect.signature(Queue.all).parameters)
    assert parameters == ["connection", "job_class", "serializer", "death_penalty_class"]
