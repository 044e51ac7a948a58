"""Refuse request bodies over MAX_BODY_BYTES before they are read whole."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """ASGI middleware: 413 on a declared or streamed body larger than `limit` bytes.

    Only a body without Content-Length (chunked) is counted as it streams in.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value  # the last one, if a client sent several
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.limit:
                await refuse(send, self.limit)
            else:  # the server hands the app no more body than the length it was told
                await self.app(scope, receive, send)
            return
        guard = _StreamGuard(receive, send, self.limit)
        try:
            await self.app(scope, guard.receive, guard.send)
        except Exception:
            if not guard.overflowed:
                raise
        await guard.finish()


class _StreamGuard:
    """Counts body bytes as they arrive; past the limit the app's answer becomes a 413."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive = receive
        self._send = send
        self.limit = limit
        self.received = 0
        self.overflowed = False
        self.refused = False

    async def receive(self) -> Message:
        message = await self._receive()
        self.received += len(message.get("body", b""))
        if self.received > self.limit:
            self.overflowed = True
            return {"type": "http.disconnect"}  # the app stops reading here
        return message

    async def send(self, message: Message) -> None:
        if not self.overflowed:
            await self._send(message)
        else:
            await self.finish()

    async def finish(self) -> None:
        if self.overflowed and not self.refused:
            self.refused = True
            await refuse(self._send, self.limit)


async def refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body is larger than {limit} bytes"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
