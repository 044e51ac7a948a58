"""`python -m workers.worker`: an RQ worker on QUEUES (in priority order) until SIGTERM.

RQ's own scheduler runs alongside, so delays and retry backoff fire. The worker class
is `workers.rq_seam.worker.ServiceWorker`.
"""

from __future__ import annotations

from workers.callbacks.delivery import DeliveryLoop
from workers.core.settings import Settings
from workers.core.startup import start_process
from workers.rq_seam.queue import get_queue
from workers.rq_seam.worker import ServiceWorker
from workers.worker.lifecycle import work_until_stopped
from workers.worker.naming import worker_name


def main() -> None:
    """Run a worker on QUEUES (in priority order) until SIGTERM."""
    started = start_process("worker", listening, buffered_logs=True)  # two lines per job: written in batches
    settings, connection = started.settings, started.connection
    queues = [get_queue(name, connection) for name in settings.queues]

    def build_worker() -> ServiceWorker:
        return ServiceWorker(
            queues,
            name=worker_name(),
            connection=connection,
            shutdown_grace=settings.worker_shutdown_grace,
            concurrency=settings.worker_concurrency,
        )

    deliveries = DeliveryLoop(connection, settings).start()  # completion callbacks, from every worker process
    try:
        work_until_stopped(build_worker, connection, settings.log_level)
    finally:
        deliveries.stop()


def listening(settings: Settings) -> str:
    return f"queues {', '.join(settings.queues)} (in priority order), up to {settings.worker_concurrency} jobs at once"


if __name__ == "__main__":
    main()
