"""The one check of free-form JSON a caller gives us: what is accepted must read back everywhere.

Every reader (the API's answers, rq's JSON, rq-dashboard's pages, clients in other
languages) must be able to take back a value we store, so a value is refused when
it nests deeper than MAX_DEPTH, is larger than MAX_BYTES, or holds what is not
JSON at all: NaN or Infinity, or a string with a lone surrogate (not Unicode text).
Integers of any size are JSON and read back in Python; beyond 4300 digits the parser
itself refuses them (Python's int_max_str_digits), as malformed JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
MAX_BYTES = 64 * 1024


class JsonValueError(ValueError):
    """A value that is not portable JSON; the message starts with where it is."""


class JsonDepthError(JsonValueError):
    """A value nested deeper than allowed."""


def check_json_value(value: Any, where: str, max_depth: int = MAX_DEPTH, max_bytes: int | None = MAX_BYTES) -> None:
    """Raise JsonValueError naming `where` (and the path inside it) for what a reader could not take back."""
    _walk(value, where, max_depth, max_depth)
    if max_bytes is not None and not _empty_container(value):  # `{}` and `[]` (most kwargs and metas): 2 bytes
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > max_bytes:
            raise JsonValueError(f"{where} is {size} bytes as JSON; the limit is {max_bytes}")


def _empty_container(value: Any) -> bool:
    return isinstance(value, dict | list) and not value


def _walk(value: Any, path: str, depth_left: int, limit: int) -> None:
    """Depth-first, with the depth bounded before it is spent, so no value can exhaust the stack."""
    if isinstance(value, dict | list) and depth_left <= 0:
        raise JsonDepthError(f"{path or 'the body'} nests deeper than the limit of {limit} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise JsonValueError(f"{path} has a key that is not a string: {key!r}")
            _check_text(key, f"{path} key")
            _walk(item, f"{path}.{key}" if path else key, depth_left - 1, limit)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", depth_left - 1, limit)
    else:
        _check_scalar(value, path)


def _check_scalar(value: Any, path: str) -> None:
    if isinstance(value, bool | int) or value is None:
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise JsonValueError(f"{path}: NaN and Infinity are not JSON numbers")
    elif isinstance(value, str):
        _check_text(value, path)
    else:
        raise JsonValueError(f"{path}: {type(value).__name__} is not a JSON value")


def _check_text(text: str, path: str) -> None:
    try:
        text.encode()
    except UnicodeEncodeError:
        raise JsonValueError(f"{path}: a string holds a lone surrogate, which is not Unicode text") from None
