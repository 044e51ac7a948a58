"""API keys with scopes, compared in constant time."""

from __future__ import annotations

import base64
import hmac
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
    """`KEY` is an admin key named by position; `name:scope:KEY` names its scope."""
    keys = []
    for index, entry in enumerate(entries):
        parts = entry.split(":", 2)
        if len(parts) == 3 and parts[1] in Scope.__members__:
            keys.append(ApiKey(parts[0], Scope[parts[1]], parts[2]))
        else:
            keys.append(ApiKey(f"key{index + 1}", Scope.admin, entry))
    return keys


def find_key(keys: list[ApiKey], presented: str | None) -> ApiKey | None:
    """The key matching `presented`; every key is compared, so timing tells nothing."""
    if not presented:
        return None
    found = None
    for key in keys:
        if hmac.compare_digest(key.secret.encode(), presented.encode()):
            found = key
    return found


def presented_key(headers: dict[str, str], allow_basic: bool = False) -> str | None:
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
