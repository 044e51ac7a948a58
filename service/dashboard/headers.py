"""Security headers on every dashboard answer, with a script policy rq-dashboard's pages can live with.

rq-dashboard runs each page from one inline <script> (rendered with the job id, the
instance and the URL prefix) and draws job data, such as the description with its args
and the exception text, through unescaped templates into innerHTML. `script-src 'self'`
alone blocks that script, so the pages stay empty; `'unsafe-inline'` would also run an
`<img onerror>` carried in a job's args. So an HTML page is held until complete and the
SHA-256 of each inline script the server rendered is allowed: markup that job data
injects later never matches one, and inline event handlers stay blocked.

`'unsafe-eval'` is there because underscore compiles rq-dashboard's own templates with
`new Function`; those templates are server text, and job data only ever reaches them as
values (rq-dashboard's scripts never evaluate a string built from data).
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import Headers
from starlette.types import Message, Send

CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SCRIPT = re.compile(rb"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
SRC = re.compile(rb"(?:^|\s)src\s*=", re.IGNORECASE)
TYPE = re.compile(rb"(?:^|\s)type\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)


def policy(page: bytes) -> str:
    """The CSP for `page`: ours, plus a hash for each inline JavaScript block in it."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
        for attributes, body in SCRIPT.findall(page)
        if _inline_javascript(attributes)
    )
    return CSP.format(hashes=hashes)


def _inline_javascript(attributes: bytes) -> bool:
    """Not loaded from a URL, and JavaScript (not rq-dashboard's `text/template` blocks)."""
    kind = TYPE.search(attributes)
    return not SRC.search(attributes) and (kind is None or b"javascript" in kind.group(1).lower())


def security_headers(page: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", policy(page).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
    ]


class SecuredAnswer:
    """An ASGI `send` that adds the headers; an HTML answer is held whole to hash its scripts."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._start: Message | None = None
        self._body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if Headers(raw=message.get("headers", [])).get("content-type", "").startswith("text/html"):
                self._start = message
                return
            await self._send(_with_headers(message, b""))
        elif message["type"] == "http.response.body" and self._start is not None:
            self._body += message.get("body", b"")
            if not message.get("more_body", False):
                page = bytes(self._body)
                await self._send(_with_headers(self._start, page))
                await self._send({"type": "http.response.body", "body": page})
        else:
            await self._send(message)


def _with_headers(start: Message, page: bytes) -> Message:
    return {**start, "headers": [*start.get("headers", []), *security_headers(page)]}
