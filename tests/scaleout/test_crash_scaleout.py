"""Scale-out mode killed mid-burst, or its broker emptied: nothing is lost or doubled.

The short version of ``bench/crash.py --mode scaleout``: the web process and the Celery worker
get SIGKILL during a burst of new-ticket webhooks and are started again; or the Redis broker is
killed and comes back empty. Counted against a fake Zendesk on 127.0.0.1 and the database once
everything is processed.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from bench import crash
from tests.cluster import REDIS_SKIP

EVENTS = 60


@pytest.fixture
def fast_relay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leases and the relay in seconds, so the test waits seconds for what a kill left."""
    if shutil.which("redis-server") is None:
        pytest.skip(REDIS_SKIP)
    monkeypatch.setattr(crash, "LEASES", {**crash.LEASES, "ESCALADE_EVENT_LEASE_SECONDS": "2",
                                          "ESCALADE_OUTBOX_LEASE_SECONDS": "2"})
    monkeypatch.setattr(crash, "SCALEOUT_LEASES", {**crash.SCALEOUT_LEASES,
                                                   "ESCALADE_RELAY_SECONDS": "2"})


def _run(argv: list[str], folder: Path) -> dict[str, Any]:
    with ExitStack() as stack:
        return crash.run(crash.parse_args(argv), stack, folder)


def _nothing_lost_or_doubled(counts: dict[str, Any]) -> None:
    assert counts["acknowledged"] == counts["events"] == EVENTS, counts
    assert counts["lost"] == 0 and counts["answers_500"] == 0, counts
    assert counts["stuck"] == 0 and counts["failed"] == 0, counts
    assert counts["decided_events"] == EVENTS, counts
    assert counts["duplicate_decisions"] == 0, counts
    assert counts["tickets_written"] == EVENTS, counts
    assert counts["duplicate_comments"] == 0, counts


@pytest.mark.usefixtures("fast_relay")
def test_killed_web_and_worker_lose_and_double_nothing(pg_base: str, tmp_path: Path) -> None:
    counts = _run(["--mode", "scaleout", "--database-url", pg_base, "--rate", "20",
                   "--seconds", "3", "--kills", "1", "--drain-seconds", "120"], tmp_path)
    assert counts["mode"] == "scaleout" and counts["kills"] == 1
    _nothing_lost_or_doubled(counts)


@pytest.mark.usefixtures("fast_relay")
def test_an_emptied_broker_loses_nothing(pg_base: str, tmp_path: Path) -> None:
    counts = _run(["--mode", "scaleout", "--scenario", "broker-outage", "--database-url",
                   pg_base, "--rate", "20", "--seconds", "3", "--outage-seconds", "2",
                   "--drain-seconds", "120"], tmp_path)
    # The web process stores and answers while the broker is away: no webhook waits for it.
    assert counts["answers"].get("202") == EVENTS, counts
    _nothing_lost_or_doubled(counts)
