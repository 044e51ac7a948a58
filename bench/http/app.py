"""The API under test plus a bare endpoint in the same process, as the HTTP benchmark's baseline.

`uvicorn --factory bench.http.app:create_bench_app` serves it; settings come
from the environment (REDIS_URL, API_KEYS) exactly as for the real service.
"""

from __future__ import annotations

from fastapi import FastAPI

from service.app import create_app


def create_bench_app() -> FastAPI:
    """Our app, unchanged, with `POST /bare` added: no auth, no body model, no Redis."""
    app = create_app()

    @app.post("/bare")
    async def bare() -> dict[str, str]:
        return {"status": "ok"}

    return app
