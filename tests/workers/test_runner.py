import pytest

from workers.core.errors import TaskNotFoundError
from workers.runner import run_task


def test_sync_and_async_tasks() -> None:
    assert run_task("examples.add", [2, 3]) == 5
    assert run_task("tests.async_double", [21]) == 42
    assert run_task("tests.async_double", kwargs={"value": 2}) == 4


def test_unknown_name_runs_nothing() -> None:
    with pytest.raises(TaskNotFoundError):
        run_task("os.remove", ["/tmp/whatever"])
