"""Client for the rq-service HTTP API: `Client` (sync), `AsyncClient`, and the `rqs` command."""

from rqs.aio import AsyncClient
from rqs.errors import ApiError
from rqs.sync import Client

__all__ = ["ApiError", "AsyncClient", "Client"]
