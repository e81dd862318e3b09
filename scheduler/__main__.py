"""``python -m scheduler``: SLA sweeps alone, beside ``escalade serve --no-scheduler``."""

from __future__ import annotations

import logging
import signal
import threading

from integration.web import create_app
from scheduler import scheduler_init_app


def main() -> None:
    """Start the scheduler for the configured database and block until SIGINT / SIGTERM."""
    app = create_app()
    scheduler = scheduler_init_app(app)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    scheduler.start()
    logging.getLogger(__name__).info(
        "scheduler: SLA sweep every %ss", app.config["SLA_SWEEP_SECONDS"]
    )
    stop.wait()
    scheduler.shutdown(wait=True)


if __name__ == "__main__":
    main()
