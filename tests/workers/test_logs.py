"""Every log line, whoever logs it, keeps job data and Redis credentials out."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from workers.core.logs import configure_logging, log_soon

SECRET = "s3cret-value"


@pytest.fixture
def root_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def logged(capsys: pytest.CaptureFixture[str], fmt: str, *args: object, **kwargs: object) -> str:
    configure_logging("DEBUG", fmt)
    logging.getLogger("rq.worker").error(*args, **kwargs)  # type: ignore[arg-type]
    return capsys.readouterr().err


FORMATS = pytest.mark.parametrize("fmt", ["text", "json"])


@FORMATS
@pytest.mark.usefixtures("root_restored")
def test_rq_failure_extras_are_dropped(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    extra = {"arguments": ["t", [SECRET], {}], "kwargs": {"k": SECRET}, "job_id": "j1"}
    assert SECRET not in logged(capsys, fmt, "job %s failed", "j1", extra=extra)


@pytest.mark.usefixtures("root_restored")
def test_harmless_extras_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    line = logged(capsys, "json", "job %s failed", "j1", extra={"job_id": "j1", "arguments": [SECRET]})
    assert json.loads(line)["job_id"] == "j1"


@FORMATS
@pytest.mark.usefixtures("root_restored")
def test_a_result_named_in_the_message_is_hidden(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    assert SECRET not in logged(capsys, fmt, "Worker %s: result: %r", "w1", SECRET)


@pytest.mark.usefixtures("root_restored")
def test_values_before_the_job_data_are_shown(capsys: pytest.CaptureFixture[str]) -> None:
    assert "Worker w1: result" in logged(capsys, "text", "Worker %s: result: %r", "w1", SECRET)


@FORMATS
@pytest.mark.usefixtures("root_restored")
def test_a_job_description_is_shortened(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    description = f'\x1b[34mtests.echo("{SECRET}", key=1)\x1b[0m'
    assert "tests.echo(...)" in logged(capsys, fmt, "%s: %s (%s)", "default", description, "j1")


@FORMATS
@pytest.mark.usefixtures("root_restored")
def test_a_job_description_loses_its_arguments(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    assert SECRET not in logged(capsys, fmt, "%s: %s (%s)", "default", f'tests.echo("{SECRET}")', "j1")


@FORMATS
@pytest.mark.usefixtures("root_restored")
def test_redis_passwords_in_messages_are_masked(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    assert SECRET not in logged(capsys, fmt, "cannot reach %s", f"redis://h:6390/0?password={SECRET}")


@FORMATS
@pytest.mark.usefixtures("root_restored")
def test_redis_passwords_in_tracebacks_are_masked(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    try:
        raise ConnectionError(f"Error connecting to redis://:{SECRET}@h:6390/0")
    except ConnectionError:
        assert SECRET not in logged(capsys, fmt, "failed", exc_info=True)


@pytest.mark.usefixtures("root_restored")
def test_a_logger_with_its_own_handler_goes_through_root_too(capsys: pytest.CaptureFixture[str]) -> None:
    own = logging.getLogger("tests.own_handler")
    own.addHandler(logging.StreamHandler())
    own.propagate = False
    configure_logging("INFO", "text")
    own.error("result: %s", SECRET)
    assert SECRET not in capsys.readouterr().err


@FORMATS
@pytest.mark.usefixtures("root_restored")
def test_a_line_logged_soon_reads_as_one_logged_now(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    lines = []
    for buffered in (False, True):
        configure_logging("INFO", fmt, buffered=buffered)
        logger = logging.getLogger("workers.worker.metering")
        log_soon(logger, logging.INFO, "job %s started: %s", "j1", "noop", extra={"job_id": "j1", "arguments": SECRET})
        log_soon(logger, logging.DEBUG, "not at INFO")
        for handler in logging.getLogger().handlers:
            handler.flush()
        lines.append(capsys.readouterr().err)
    plain, deferred = ([line.split(" ", 2)[2] if fmt == "text" else line for line in out.splitlines()] for out in lines)
    if fmt == "json":
        plain, deferred = (
            [{k: v for k, v in json.loads(x).items() if k != "ts"} for x in out] for out in (plain, deferred)
        )
    assert deferred == plain
    assert len(plain) == 1 and SECRET not in lines[1]
