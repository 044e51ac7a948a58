"""The Sentinel form of `REDIS_URL`, parsed once: which sentinels, which master group, which db, TLS or not.

`redis+sentinel://[[user]:password@]host:port[,host:port...]/<master-name>[/<db>]` (the
`redis-sentinel-url` convention; `rediss+sentinel://` for TLS to the master). The password
is the master's; sentinels that require auth take `REDIS_SENTINEL_PASSWORD`. A URL that
does not fit says what is wrong at start-up, with its credentials masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}  # scheme -> TLS to the master
DEFAULT_SENTINEL_PORT = 26379
SERVICE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
BRACKETED = re.compile(r"^\[(?P<host>[0-9A-Fa-f:.]+)\](?::(?P<port>[^:]*))?$")
FORM = "redis+sentinel://[:password@]host:port[,host:port...]/<master-name>[/<db>]"


class SentinelUrlError(ValueError):
    """A `redis+sentinel://` URL that cannot be used; the message never quotes a password."""


@dataclass(frozen=True)
class SentinelUrl:
    sentinels: tuple[tuple[str, int], ...]
    service_name: str
    db: int
    tls: bool
    username: str | None
    password: str | None

    def shown(self) -> str:
        """The URL with its credentials masked, for banners and logs."""
        scheme = "rediss+sentinel" if self.tls else "redis+sentinel"
        userinfo = "***@" if self.password or self.username else ""
        hosts = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.sentinels)
        return f"{scheme}://{userinfo}{hosts}/{self.service_name}/{self.db}"


def is_sentinel_url(url: str) -> bool:
    return url.partition("://")[0].lower() in SCHEMES


def parse_sentinel_url(url: str) -> SentinelUrl:
    """The parts of a Sentinel `REDIS_URL`; SentinelUrlError names what is wrong (never the password)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise SentinelUrlError(f"REDIS_URL: not a Sentinel URL; expected {FORM}")
    if "?" in rest or "#" in rest:
        raise SentinelUrlError(f"REDIS_URL: a Sentinel URL takes no query or fragment; expected {FORM}")
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username, password = _credentials(userinfo) if at else (None, None)
    sentinels = tuple(_host_port(part) for part in hosts.split(","))
    service_name, db = _path(path)
    return SentinelUrl(sentinels, service_name, db, SCHEMES[scheme.lower()], username, password)


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    user, colon, password = userinfo.partition(":")
    if not colon:  # `secret@host`: most likely a password missing its leading colon
        raise SentinelUrlError(f"REDIS_URL: credentials must be `:password@` or `user:password@`; expected {FORM}")
    return (unquote(user) or None), (unquote(password) or None)


def _host_port(part: str) -> tuple[str, int]:
    part = part.strip()
    if not part:
        raise SentinelUrlError(f"REDIS_URL: an empty sentinel address in the host list; expected {FORM}")
    bracketed = BRACKETED.match(part)
    if bracketed:
        host, port = bracketed.group("host"), bracketed.group("port")
    else:
        host, colon, port = part.partition(":")
        port = port if colon else None
        if ":" in (port or "") or not host:
            raise SentinelUrlError(f"REDIS_URL: sentinel address {part!r} is not host:port; expected {FORM}")
    if port is None or port == "":
        return host, DEFAULT_SENTINEL_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SentinelUrlError(f"REDIS_URL: sentinel {host!r} has port {port!r}, not a number in 1-65535")
    return host, int(port)


def _path(path: str) -> tuple[str, int]:
    parts = path.split("/") if path else []
    if not parts or not parts[0]:
        raise SentinelUrlError(f"REDIS_URL: a Sentinel URL must name the master group after the hosts; expected {FORM}")
    if len(parts) > 2 or (len(parts) == 2 and not parts[1]):
        raise SentinelUrlError(f"REDIS_URL: too many path parts after the hosts; expected {FORM}")
    service_name = unquote(parts[0])
    if not SERVICE_NAME.match(service_name):
        raise SentinelUrlError(f"REDIS_URL: master group name {service_name!r} may use only letters, digits, . _ -")
    if len(parts) == 1:
        return service_name, 0
    if not parts[1].isdigit():
        raise SentinelUrlError(f"REDIS_URL: database {parts[1]!r} after the master group is not a number")
    return service_name, int(parts[1])
