"""RQ's routine per-job INFO lines are skipped before they become records, only where they would be dropped anyway."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from workers.core.logs import configure_logging
from workers.rq_seam.worker_log import RoutineInfoSkipped

ROUTINE = "Worker %s: %s: %s (%s)"  # rq's "Job OK" line
SHUTDOWN = "Worker %s: warm shut down requested"


@pytest.fixture
def rq_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[logging.Logger, list[str]]]:
    """rq's worker logger, counting the records it builds; the root logger restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logger = logging.getLogger("rq.worker")
    built: list[str] = []
    make_record = logger.makeRecord

    def counting(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)  # type: ignore[arg-type]
        built.append(str(record.msg))
        return record

    monkeypatch.setattr(logger, "makeRecord", counting)
    yield logger, built
    root.handlers[:], root.level = handlers, level


def test_a_routine_line_at_info_builds_no_record(
    rq_logger: tuple[logging.Logger, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    logger, built = rq_logger
    configure_logging("INFO")
    RoutineInfoSkipped(logger).info(ROUTINE, "w1", "default", "Job OK", "j1")
    assert built == []
    assert capsys.readouterr().err == ""


def test_a_shutdown_line_is_still_logged(
    rq_logger: tuple[logging.Logger, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    logger, built = rq_logger
    configure_logging("INFO")
    RoutineInfoSkipped(logger).info(SHUTDOWN, "w1")
    assert built == [SHUTDOWN]
    assert "Worker w1: warm shut down requested" in capsys.readouterr().err


def test_routine_lines_still_show_at_debug(
    rq_logger: tuple[logging.Logger, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    logger, _ = rq_logger
    configure_logging("DEBUG")
    RoutineInfoSkipped(logger).info(ROUTINE, "w1", "default", "Job OK", "j1")
    assert "Worker w1: default: Job OK (j1)" in capsys.readouterr().err


def test_a_handler_that_does_not_demote_still_gets_routine_lines(
    rq_logger: tuple[logging.Logger, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """A process that did not set up our logging (say `rq worker -w ...`) keeps RQ's lines."""
    logger, built = rq_logger
    configure_logging("INFO")
    plain = logging.StreamHandler()
    logging.getLogger().addHandler(plain)
    RoutineInfoSkipped(logger).info(ROUTINE, "w1", "default", "Job OK", "j1")
    assert built == [ROUTINE]
    assert "Job OK" in capsys.readouterr().err


def test_other_levels_and_attributes_are_rqs_logger(rq_logger: tuple[logging.Logger, list[str]]) -> None:
    logger, built = rq_logger
    configure_logging("INFO")
    wrapped = RoutineInfoSkipped(logger)
    wrapped.warning("Worker %s: cold shut down", "w1")
    assert built == ["Worker %s: cold shut down"]
    assert wrapped.level == logger.level
    assert wrapped.name == "rq.worker"
