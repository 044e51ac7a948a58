"""Credentials in Redis URLs are masked in every form they can take."""

from __future__ import annotations

import pytest

from workers.core.redact import mask_url, mask_urls_in

SECRET = "s3cr3t-pw"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"redis://user:{SECRET}@host:6390/0", "redis://***:***@host:6390/0"),
        (f"redis://:{SECRET}@host:6390/0", "redis://***:***@host:6390/0"),
        (f"rediss://user:{SECRET}@host:6380/0", "rediss://***:***@host:6380/0"),
        (f"redis://host:6390/0?password={SECRET}", "redis://host:6390/0?password=***"),
        (f"redis://host/0?username=admin&password={SECRET}", "redis://host/0?username=***&password=***"),
        (f"redis://host/0?PassWord={SECRET}", "redis://host/0?PassWord=***"),
        (f"redis://host/0?auth_token={SECRET}", "redis://host/0?auth_token=***"),
        (f"unix:///run/redis.sock?db=0&password={SECRET}", "unix:///run/redis.sock?db=0&password=***"),
        (f"unix://user:{SECRET}@/run/redis.sock", "unix://***:***@/run/redis.sock"),
        (f"redis://host/0#{SECRET}", "redis://host/0#***"),
    ],
)
def test_each_form_is_masked(url: str, expected: str) -> None:
    assert mask_url(url) == expected


@pytest.mark.parametrize("password", ["ab#cd", "ab/cd", "12/34", "a?b"])
def test_a_password_that_breaks_parsing_is_not_shown(password: str) -> None:
    assert password[-2:] not in mask_url(f"redis://:{password}@host/0")


def test_a_url_without_credentials_is_unchanged() -> None:
    assert mask_url("redis://127.0.0.1:6390/0?socket_timeout=1") == "redis://127.0.0.1:6390/0?socket_timeout=1"


def test_urls_inside_text_are_masked() -> None:
    text = f"Error connecting to redis://:{SECRET}@host:6390/0. (also 'rediss://h/0?password={SECRET}')"
    assert SECRET not in mask_urls_in(text)


def test_text_around_a_url_is_kept() -> None:
    assert mask_urls_in("at redis://:pw@h/0 now") == "at redis://***:***@h/0 now"
