"""Every log line, whoever logs it, keeps job data and Redis credentials out."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from workers.core.logs import configure_logging, log_soon, quick_line

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


QUICK_CASES = [
    ("job %s started: %s on %s", ("j1", "examples.noop", "default"), {"job_id": "j1", "task": "examples.noop"}),
    ("job %s %s after %.3fs: %s on %s", ("j1", "finished", 0.0123456, "t", "q"), {"duration": 0.01, "wait": None}),
    ("called %s with result: %r", ("task(1, 2)", SECRET), {"arguments": SECRET, "kwargs": {"k": SECRET}}),
    ("connect to %s", ("redis://user:" + SECRET + "@host:6380/0",), None),
    ("no values at all %%", (), {"queue": "ü-queue"}),
]


@FORMATS
@pytest.mark.parametrize(("msg", "args", "extra"), QUICK_CASES)
@pytest.mark.usefixtures("root_restored")
def test_a_quick_line_is_the_line_the_record_would_give(
    fmt: str, msg: str, args: tuple[object, ...], extra: dict[str, object] | None
) -> None:
    configure_logging("INFO", fmt, buffered=True)
    handler = logging.getLogger().handlers[0]
    logger = logging.getLogger("workers.worker.metering")
    created = 1765098000.987654
    record = logger.makeRecord(logger.name, logging.INFO, "", 0, msg, args, None, None, extra)
    record.created, record.msecs = created, (created - int(created)) * 1000
    assert handler.filter(record)
    assert quick_line(handler, logger, logging.INFO, created, msg, args, extra) == handler.format(record)
    assert SECRET not in handler.format(record)


@pytest.mark.usefixtures("root_restored")
def test_a_quick_line_leaves_others_lines_to_the_record() -> None:
    configure_logging("WARNING", "text", buffered=True)
    handler = logging.getLogger().handlers[0]
    ours, rqs = logging.getLogger("workers.worker.metering"), logging.getLogger("rq.worker")
    assert quick_line(handler, ours, logging.INFO, 0.0, "below the root's level", (), None) == ""
    assert quick_line(handler, rqs, logging.WARNING, 0.0, "rq's: demoted or not", (), None) is None
    handler.addFilter(logging.Filter("someone-elses"))
    assert quick_line(handler, ours, logging.WARNING, 0.0, "another filter", (), None) is None
