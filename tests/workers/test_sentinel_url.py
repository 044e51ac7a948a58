"""The Sentinel form of REDIS_URL: what parses, and what stops the start with a clear message."""

from __future__ import annotations

import ssl

import pytest

from workers.core.connection import connect
from workers.core.sentinel_url import DEFAULT_SENTINEL_PORT, SentinelUrlError, is_sentinel_url, parse_sentinel_url
from workers.core.settings import Settings


def test_hosts_master_group_and_db() -> None:
    url = parse_sentinel_url("redis+sentinel://:s3cret@h1:26390,h2:26380,h3/mymaster/2")
    assert url.sentinels == (("h1", 26390), ("h2", 26380), ("h3", DEFAULT_SENTINEL_PORT))
    assert (url.service_name, url.db, url.tls, url.password, url.username) == ("mymaster", 2, False, "s3cret", None)


def test_tls_scheme_user_and_default_db() -> None:
    url = parse_sentinel_url("rediss+sentinel://app:p%40ss@[::1]:5000/mymaster")
    assert url.sentinels == (("::1", 5000),)
    assert (url.tls, url.db, url.username, url.password) == (True, 0, "app", "p@ss")


def test_shown_form_masks_the_password() -> None:
    shown = parse_sentinel_url("redis+sentinel://:s3cret@h1:1,h2:2/m/1").shown()
    assert shown == "redis+sentinel://***@h1:1,h2:2/m/1"


def test_only_the_sentinel_schemes_are_sentinel_urls() -> None:
    assert is_sentinel_url("REDIS+SENTINEL://h:1/m")
    assert not is_sentinel_url("redis://h:1/0")
    assert not is_sentinel_url("rediss://h:1/0")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://h1:26390", "must name the master group"),
        ("redis+sentinel://h1:26390/", "must name the master group"),
        ("redis+sentinel://h1:26390/m/x", "database 'x'"),
        ("redis+sentinel://h1:26390/m/0/extra", "too many path parts"),
        ("redis+sentinel://h1:port/m", "port 'port'"),
        ("redis+sentinel://h1:70000/m", "1-65535"),
        ("redis+sentinel://h1:1,,h2:2/m", "empty sentinel address"),
        ("redis+sentinel://h1:1/m?db=1", "no query"),
        ("redis+sentinel://s3cret@h1:1/m", "credentials must be"),
        ("redis+sentinel://h1:1/bad name", "master group name"),
    ],
)
def test_bad_forms_name_the_problem(url: str, says: str) -> None:
    with pytest.raises(SentinelUrlError, match=says):
        parse_sentinel_url(url)


def test_a_bad_sentinel_url_stops_the_client_build_without_quoting_the_password() -> None:
    with pytest.raises(SentinelUrlError) as raised:
        connect(Settings(redis_url="redis+sentinel://:hunter2@h1:port/m"))
    assert "hunter2" not in str(raised.value)


def test_ack_timeout_must_be_below_the_socket_timeout() -> None:
    with pytest.raises(ValueError, match="less than REDIS_TIMEOUT"):
        Settings(redis_timeout=1.0, redis_min_replicas_ack_timeout=1.0)
    with pytest.raises(ValueError):
        Settings(redis_min_replicas_ack=-1)
    assert Settings(redis_min_replicas_ack=1).redis_min_replicas_ack_timeout == 1.0


def test_logged_sentinel_urls_are_masked() -> None:
    from workers.core.redact import mask_url, mask_urls_in

    assert mask_url("redis+sentinel://:pw@h1:1,h2:2/m") == "redis+sentinel://***@h1:1,h2:2/m/0"
    assert mask_url("redis+sentinel://:p@w@h1:x/m") == "redis+sentinel://***@h1:x/m"
    assert mask_url("redis+sentinel://h1:x/m?password=pw") == "redis+sentinel://***"
    assert (
        mask_urls_in("Redis redis+sentinel://:pw@h1:1,h2:2/m/0; 3 tasks")
        == "Redis redis+sentinel://***@h1:1,h2:2/m/0; 3 tasks"
    )
    assert (
        mask_urls_in("Redis redis+sentinel://h1:1,h2:2/m/0; 3 tasks") == "Redis redis+sentinel://h1:1,h2:2/m/0; 3 tasks"
    )


def test_rediss_sentinel_connects_to_the_master_over_tls_with_the_verify_setting() -> None:
    from redis.asyncio.sentinel import SentinelManagedSSLConnection as AsyncSsl
    from redis.sentinel import SentinelManagedSSLConnection

    from workers.core.connection import connect_async

    settings = Settings(redis_url="rediss+sentinel://127.0.0.1:1/m/2", redis_tls_verify=False)
    pool = connect(settings).connection_pool
    assert pool.connection_class is SentinelManagedSSLConnection
    assert pool.connection_kwargs["ssl_cert_reqs"] == ssl.CERT_NONE
    assert pool.connection_kwargs["db"] == 2
    async_pool = connect_async(settings, 1.0, max_connections=2).connection_pool
    assert async_pool.connection_class is AsyncSsl
    assert async_pool.max_connections == 2
