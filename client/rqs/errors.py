"""The one exception the client raises for an answer the server refused."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A 4xx/5xx answer: its status and the server's `detail` (the body itself when it has none)."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
