"""API keys with scopes, compared in constant time."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum


class Scope(IntEnum):
    """Each scope allows everything the smaller ones do."""

    read = 1
    write = 2
    admin = 3


@dataclass(frozen=True)
class ApiKey:
    name: str
    scope: Scope
    secret: str


def parse_keys(entries: list[str]) -> list[ApiKey]:
    """`KEY` is an admin key named by position; `name:scope:KEY` names its scope.

    An entry with a colon must be the second form: a mistyped scope would otherwise
    silently become an admin key, so it stops the start instead.
    """
    return [parse_entry(index + 1, entry) for index, entry in enumerate(entries)]


def parse_entry(position: int, entry: str) -> ApiKey:
    """One `API_KEYS` entry; the error names its position, never its text (it may be a key)."""
    if ":" not in entry:
        return ApiKey(f"key{position}", Scope.admin, entry)
    name, _, rest = entry.partition(":")
    scope, _, secret = rest.partition(":")
    if not name or scope not in Scope.__members__ or not secret:
        raise ValueError(
            f"API_KEYS entry {position} is neither a plain key (no colons) nor name:scope:KEY with scope "
            "read, write or admin; a plain key may not contain colons"
        )
    return ApiKey(name, Scope[scope], secret)


def find_key(keys: list[ApiKey], presented: str | None) -> ApiKey | None:
    """The key matching `presented`; every key is compared, so timing tells nothing."""
    if not presented:
        return None
    found = None
    for key in keys:
        if hmac.compare_digest(key.secret.encode(), presented.encode()):
            found = key
    return found


def presented_key(headers: Mapping[str, str], allow_basic: bool = False) -> str | None:
    """The key from `Authorization: Bearer`, `X-API-Key` or (dashboard) basic auth's password."""
    if headers.get("x-api-key"):
        return headers["x-api-key"]
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if allow_basic and scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None
