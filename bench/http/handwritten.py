"""The baseline a user would write instead of running this service: FastAPI calling RQ's `queue.enqueue`.

A sync `def` (FastAPI runs it in its thread pool), no auth, no audit, no idempotency,
one Redis client, JSON serializer (as ours; rq's default pickle would be no faster).
`uvicorn --factory bench.http.handwritten:create_handwritten_app` serves it on its own,
so it pays none of our middleware.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from workers.runner import RUNNER_PATH


class Submission(BaseModel):
    task: str
    args: list[Any] = []
    kwargs: dict[str, Any] = {}


def create_handwritten_app() -> FastAPI:
    app = FastAPI()
    queue = Queue("default", connection=Redis.from_url(os.environ["REDIS_URL"]), serializer=JSONSerializer)

    @app.post("/jobs", status_code=202)
    def submit(body: Submission) -> dict[str, str]:
        job = queue.enqueue(RUNNER_PATH, body.task, body.args, body.kwargs)
        return {"id": job.id, "status": "queued"}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
