"""One POST of a callback, with the standard library, to exactly the checked host and port.

No redirect is followed (a 3xx is a failed attempt: a redirect could point anywhere) and
no proxy from the environment is used: the connection goes to the target `hosts.check_url`
returned, nowhere else.
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass

from workers.callbacks.hosts import Target

ERROR_MAX = 300  # characters of an error kept on the delivery record


@dataclass(frozen=True)
class Response:
    """What one attempt got: a status code, or the error that kept it from getting one."""

    status: int | None
    error: str

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Response:
    """POST `body` to `target`; any answer but a 2xx is a failed attempt, described in `error`."""
    connection = _connection(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read(64 * 1024)  # drain a little, never a whole large answer
    except (OSError, http.client.HTTPException) as error:
        return Response(None, _short(f"{type(error).__name__}: {error}"))
    finally:
        connection.close()
    if 200 <= answer.status < 300:
        return Response(answer.status, "")
    return Response(answer.status, _short(f"HTTP {answer.status} {answer.reason}".strip()))


def _connection(target: Target, timeout: float) -> http.client.HTTPConnection:
    if target.scheme == "https":
        return http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    return http.client.HTTPConnection(target.host, target.port, timeout=timeout)


def _short(text: str) -> str:
    return text if len(text) <= ERROR_MAX else text[: ERROR_MAX - 3] + "..."
