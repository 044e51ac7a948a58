"""Which callback URLs are accepted (CALLBACK_HOSTS), the settings that go with them, signing and backoff."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest
from pydantic import ValidationError

from workers.callbacks.backoff import retry_delay
from workers.callbacks.hosts import REFUSED, AllowedHost, Target, check_url, parse_hosts
from workers.callbacks.signing import headers, signature, verify
from workers.core.errors import InvalidJobError
from workers.core.settings import Settings

SECRET = "s" * 16


def allowed(*entries: str) -> frozenset[AllowedHost]:
    return parse_hosts(entries)


def test_entries_with_and_without_a_port() -> None:
    hosts = allowed("Hooks.Example.com.", "api.example.com:8443", "[::1]:9000", "10.0.0.5")
    assert hosts == {
        AllowedHost("hooks.example.com"),
        AllowedHost("api.example.com", 8443),
        AllowedHost("::1", 9000),
        AllowedHost("10.0.0.5"),
    }


@pytest.mark.parametrize("entry", ["", "a.com/path", "user@a.com", "a.com:99999", "a.com:x", "http://a.com", "a b"])
def test_a_bad_entry_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="CALLBACK_HOSTS entry"):
        parse_hosts([entry])


def test_a_listed_host_is_the_target_exactly() -> None:
    hosts = allowed("hooks.example.com", "api.example.com:8443")
    expected = Target("https", "hooks.example.com", 443, "/a/b?x=1")
    assert check_url("https://HOOKS.example.com./a/b?x=1", hosts) == expected
    assert check_url("http://hooks.example.com:8080", hosts) == Target("http", "hooks.example.com", 8080, "/")
    assert check_url("https://api.example.com:8443/h", hosts).port == 8443


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/h",
        "https://api.example.com/h",  # listed on 8443 only
        "https://hooks.example.com.evil.com/h",
        "http://127.0.0.1/h",
        "http://[::1]/h",
    ],
)
def test_an_unlisted_host_or_port_is_refused(url: str) -> None:
    with pytest.raises(InvalidJobError, match="not listed in CALLBACK_HOSTS"):
        check_url(url, allowed("hooks.example.com", "api.example.com:8443"))


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://hooks.example.com/h", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("https://hooks.example.com@evil.com/h", "user info"),
        ("https://evil.com\\@hooks.example.com/h", "printable ASCII"),
        ("https://hooks.example.com/h#x", "fragment"),
        ("https://hooks.example.com/ h", "printable ASCII"),
        ("https://hooks.example.com:0x50/h", "does not parse"),
        ("https:///h", "no host"),
        ("https://hooks.example.com/" + "a" * 2100, "longer than 2048"),
    ],
)
def test_a_malformed_url_is_refused_saying_why(url: str, words: str) -> None:
    with pytest.raises(InvalidJobError, match=words):
        check_url(url, allowed("hooks.example.com"))


def test_no_hosts_refuses_every_url() -> None:
    with pytest.raises(InvalidJobError) as refused:
        check_url("https://hooks.example.com/h", frozenset())
    assert str(refused.value) == REFUSED


def test_hosts_need_a_secret_of_16_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_HOSTS", "hooks.example.com, api.example.com:8443")
    with pytest.raises(ValidationError, match="CALLBACK_SECRET must be set"):
        Settings()
    monkeypatch.setenv("CALLBACK_SECRET", "short-secret")
    with pytest.raises(ValidationError) as short:
        Settings()
    assert "short-secret" not in str(short.value)
    monkeypatch.setenv("CALLBACK_SECRET", SECRET)
    settings = Settings()
    assert settings.allowed_callback_hosts == allowed("hooks.example.com", "api.example.com:8443")
    assert settings.callback_max_attempts == 9
    assert settings.callback_retry_base_seconds == 15


def test_a_bad_hosts_entry_stops_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_HOSTS", "hooks.example.com/path")
    monkeypatch.setenv("CALLBACK_SECRET", SECRET)
    with pytest.raises(ValidationError, match="is not a host name"):
        Settings()


def test_the_signature_is_hmac_sha256_of_the_exact_body() -> None:
    # RFC 4231-style known answer, computed independently of the code under test
    known = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    assert signature(b"The quick brown fox jumps over the lazy dog", "key") == f"sha256={known}"
    body = b'{"id":"j1","status":"finished"}'
    sent = headers(body, SECRET, "d-1", 2)
    assert sent["X-RQS-Signature"] == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert (sent["X-RQS-Delivery"], sent["X-RQS-Attempt"]) == ("d-1", "2")
    assert verify(body, SECRET, sent["X-RQS-Signature"])
    assert not verify(body + b" ", SECRET, sent["X-RQS-Signature"])
    assert not verify(body, SECRET + "x", sent["X-RQS-Signature"])


def test_backoff_doubles_with_jitter_and_the_first_retry_is_within_the_base() -> None:
    rand = random.Random(7)
    for attempt in range(1, 9):
        full = 15 * 2 ** (attempt - 1)
        delays = [retry_delay(attempt, 15, rand) for _ in range(50)]
        assert all(full / 2 <= delay <= full for delay in delays)
        assert len(set(delays)) > 1
    assert retry_delay(1, 15) <= 15 < 30  # the contract: the first retry within 30 s
    assert retry_delay(40, 15) <= 6 * 3600
