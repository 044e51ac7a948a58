"""Queue names rq's own keys cannot collide with, refused at start as well as in requests."""

import pytest
from pydantic import ValidationError

from workers.core.settings import Settings
from workers.tasks.registry import task

BAD = ["default:intermediate", "a.b", "", "x" * 65]


@pytest.mark.parametrize("name", BAD)
def test_a_bad_name_in_queues_stops_the_start(name: str) -> None:
    with pytest.raises(ValidationError, match="queue"):
        Settings(queues=["default", name] if name else "default,:")


@pytest.mark.parametrize("name", BAD)
def test_a_bad_default_queue_stops_the_start(name: str) -> None:
    with pytest.raises(ValidationError, match="queue"):
        Settings(default_queue=name)


@pytest.mark.parametrize("name", BAD)
def test_a_task_on_a_bad_queue_is_not_registered(name: str) -> None:
    with pytest.raises(ValueError, match="queue"):
        task(name="tests.never_registered", queue=name)


def test_good_names_pass() -> None:
    assert Settings(queues="high,default_2,low-1").queues == ["high", "default_2", "low-1"]
