"""``escalade serve`` killed with SIGKILL mid-burst and started again: nothing is lost or doubled.

The short version of ``bench/crash.py``: one kill during a burst of new-ticket webhooks from a
sender that retries what was not answered 2xx, as helpdesks do; counted against a fake
Zendesk on 127.0.0.1 and the database once everything is processed.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from bench import crash

EVENTS = 60


def test_a_killed_server_loses_and_doubles_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crash, "LEASES", {**crash.LEASES, "ESCALADE_EVENT_LEASE_SECONDS": "2",
                                          "ESCALADE_OUTBOX_LEASE_SECONDS": "2"})
    args = crash.parse_args(["--rate", "20", "--seconds", "3", "--kills", "1",
                             "--drain-seconds", "90"])
    with ExitStack() as stack:
        counts = crash.run(args, stack, tmp_path)
    assert counts["kills"] == 1
    # The kill cut requests off (the sender saw it) and every delivery was answered in the end.
    assert counts["acknowledged"] == counts["events"] == EVENTS, counts
    assert counts["lost"] == 0, counts
    assert counts["answers_500"] == 0, counts
    # Events the dead process had taken were taken again once its lease ran out.
    assert counts["stuck"] == 0 and counts["failed"] == 0, counts
    assert counts["decided_events"] == EVENTS, counts
    assert counts["duplicate_decisions"] == 0, counts
    assert counts["tickets_written"] == EVENTS, counts
    assert counts["duplicate_comments"] == 0, counts
