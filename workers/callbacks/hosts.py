"""Which callback URLs may be called: the `CALLBACK_HOSTS` entries and the one check every URL passes.

The check runs at submit (a 422) and again before every POST, on the worker's own
settings. A listed host is called whatever address it resolves to; any other host never
is. The URL is parsed once, here, and the sender connects to exactly the host and port
this parse found: no second parser (urllib's, a proxy's) can read another host out of it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from workers.core.errors import InvalidJobError

URL_MAX = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
REFUSED = "callbacks are off on this service (CALLBACK_HOSTS is empty), so no callback_url is accepted"


@dataclass(frozen=True)
class AllowedHost:
    """One `CALLBACK_HOSTS` entry: a host name (or IP literal), on one port or (None) on any."""

    host: str
    port: int | None = None

    def allows(self, host: str, port: int) -> bool:
        return self.host == host and self.port in (None, port)


@dataclass(frozen=True)
class Target:
    """Where one callback goes: exactly what the sender connects to and asks for."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as the request line carries them


def parse_hosts(entries: Iterable[str]) -> frozenset[AllowedHost]:
    """Every entry of `CALLBACK_HOSTS` (`host`, `host:port`, `[v6]:port`); ValueError naming a bad one."""
    return frozenset(parse_entry(entry) for entry in entries)


def parse_entry(entry: str) -> AllowedHost:
    text = entry.strip()
    if not text or not _plain(text) or any(c in text for c in "/?#@"):
        raise ValueError(f"CALLBACK_HOSTS entry {entry!r} is not a host name or host:port")
    try:
        parts = urlsplit(f"//{text}")
        port = parts.port
    except ValueError:
        raise ValueError(f"CALLBACK_HOSTS entry {entry!r} has a bad port") from None
    if not parts.hostname:
        raise ValueError(f"CALLBACK_HOSTS entry {entry!r} has no host name")
    return AllowedHost(_normal(parts.hostname), port)


def check_url(url: str, allowed: Collection[AllowedHost]) -> Target:
    """The target of `url` if it may be called, else InvalidJobError saying why."""
    if not allowed:
        raise InvalidJobError(REFUSED)
    target = parse_url(url)
    if not any(entry.allows(target.host, target.port) for entry in allowed):
        shown = target.host if ":" not in target.host else f"[{target.host}]"
        raise InvalidJobError(f"callback_url host {shown}:{target.port} is not listed in CALLBACK_HOSTS")
    return target


def parse_url(url: str) -> Target:
    """An absolute http(s) URL without user info or fragment, in printable ASCII; InvalidJobError otherwise."""
    if len(url) > URL_MAX:
        raise InvalidJobError(f"callback_url is longer than {URL_MAX} characters")
    if not _plain(url):
        raise InvalidJobError("callback_url may hold only printable ASCII, without spaces or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidJobError(f"callback_url does not parse: {error}") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise InvalidJobError("callback_url must be an http:// or https:// URL")
    if "@" in parts.netloc:
        raise InvalidJobError("callback_url must not carry user info (user:password@)")
    if "#" in url:
        raise InvalidJobError("callback_url must not have a #fragment")
    if not parts.hostname:
        raise InvalidJobError("callback_url has no host")
    path = parts.path or "/"
    return Target(parts.scheme, _normal(parts.hostname), port or DEFAULT_PORTS[parts.scheme], _query(path, parts.query))


def _query(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def _plain(text: str) -> bool:
    return all(33 <= ord(c) <= 126 for c in text) and "\\" not in text


def _normal(host: str) -> str:
    """Lower case without a trailing dot, so `Hooks.Example.com.` is the entry `hooks.example.com`."""
    return host.lower().rstrip(".")
