import pytest

from workers.core.errors import DuplicateTaskError, TaskNotFoundError
from workers.tasks.registry import RetryPolicy, registry, task


def test_defaults_and_parameters() -> None:
    @task()
    def my_task(a: int, b: str = "x") -> None:
        """Does a thing.

        More text."""

    found = registry.get("tests.workers.test_registry.my_task")
    assert found.queue is None
    assert found.timeout is None
    assert found.retry is None
    assert found.description == "Does a thing."
    assert found.parameters() == [
        {"name": "a", "kind": "positional_or_keyword", "annotation": "int"},
        {"name": "b", "kind": "positional_or_keyword", "annotation": "str", "default": "'x'"},
    ]


def test_async_task_is_marked() -> None:
    @task(name="tests.registry.async", queue="high", timeout=5, retry={"max": 2, "backoff": 3})
    async def coro() -> None: ...

    found = registry.get("tests.registry.async")
    assert found.is_async
    assert found.queue == "high"
    assert found.timeout == 5
    assert found.retry == RetryPolicy(max=2, backoff=(3,))


def test_duplicate_names_are_refused() -> None:
    @task(name="tests.registry.dup")
    def first() -> None: ...

    with pytest.raises(DuplicateTaskError):

        @task(name="tests.registry.dup")
        def second() -> None: ...


def test_unknown_name() -> None:
    with pytest.raises(TaskNotFoundError):
        registry.get("os.remove")
    assert "os.remove" not in registry


def test_retry_policy_parse() -> None:
    assert RetryPolicy.parse(3) == RetryPolicy(max=3, backoff=(0,))
    assert RetryPolicy.parse({"max": 2, "backoff": [1, 2]}) == RetryPolicy(max=2, backoff=(1, 2))
    assert RetryPolicy.parse(None) is None
