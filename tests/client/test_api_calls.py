"""The shared request module: what each call sends, whichever client sends it."""

from __future__ import annotations

import httpx2 as httpx
import pytest
from rqs import ApiError, api


def test_only_the_options_given_are_sent() -> None:
    assert api.job_body("t", [1], None, queue=None, delay=5) == {"task": "t", "args": [1], "kwargs": {}, "delay": 5}


def test_a_callback_url_is_sent_in_the_body() -> None:
    body = api.job_body("t", None, None, callback_url="https://hooks.example.com/h")
    assert body["callback_url"] == "https://hooks.example.com/h"


def test_the_idempotency_key_is_a_header() -> None:
    assert api.submit({"task": "t"}, "k").headers == {"Idempotency-Key": "k"}


def test_no_idempotency_key_no_header() -> None:
    assert api.submit({"task": "t"}).headers == {}


def test_a_long_wait_is_asked_in_server_sized_steps() -> None:
    assert api.job_result("j", 3600).params == {"wait": api.MAX_SERVER_WAIT}


def test_a_passed_deadline_asks_no_wait() -> None:
    assert api.job_result("j", -1).params == {"wait": 0.0}


def test_a_name_is_one_escaped_path_segment() -> None:
    assert api.schedule_action("a/../b", "pause").path == "/schedules/a%2F..%2Fb/pause"


def test_list_filters_left_out_are_not_sent() -> None:
    assert api.list_jobs(status="failed").params == {"status": "failed", "limit": 50, "offset": 0}


def test_an_error_without_a_json_detail_carries_its_text() -> None:
    with pytest.raises(ApiError) as error:
        api.read(httpx.Response(502, text="Bad Gateway"))
    assert (error.value.status, error.value.detail) == (502, "Bad Gateway")


def test_an_empty_answer_reads_as_none() -> None:
    assert api.read(httpx.Response(204)) is None
