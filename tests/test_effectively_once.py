"""Write-backs land once through the outbox, on every helpdesk, even when the answer is lost.

The vendors are the stateful fakes of ``tests/fake_helpdesks.py``: behind ``responses`` for a
lost answer (the vendor applied the write, then the call timed out), and as a real HTTP
server on 127.0.0.1 for a worker process killed with SIGKILL between the vendor's answer and
the commit. Either way exactly one note and one reply may land.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import select

from integration import outbox, store
from integration.models import Action, ActionKind
from tests.adapters.test_writeback import TIER_2, group_writes, validate
from tests.fake_helpdesks import FAKES, FakeHelpdesk, mount, serve
from tests.work import drain, run_once

pytestmark = pytest.mark.scaleout

ROOT = Path(__file__).resolve().parents[1]
# Real time: a part queued again is due after the runtime's own clock.
NOW = datetime.now(UTC)
GROUPS = {"support_tier_2": 3001, "escalations": 3002}


@pytest.fixture(params=tuple(FAKES))
def fake(request: pytest.FixtureRequest) -> FakeHelpdesk:
    """Each vendor's fake in turn."""
    return FAKES[request.param]()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """A transport that refuses anything not routed to a fake."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def connect(runtime: Any, fake: FakeHelpdesk, *, base_url: str | None = None,
            group_ids: dict[str, int] = GROUPS) -> int:
    """Tenant ``acme`` on the fake vendor; returns its id."""
    with store.session_scope(runtime.sessions) as s:
        row = store.add_tenant(s, slug="acme", name="Acme", cipher=runtime.cipher,
                               **fake.tenant(base_url, group_ids=group_ids))
        return row.id


def queue(runtime: Any, tenant_id: int, fake: FakeHelpdesk,
          actions: Sequence[Action] = TIER_2, *, now: datetime = NOW) -> int:
    """One helpdesk row, as a decision writes it."""
    with store.session_scope(runtime.sessions) as s:
        row = outbox.enqueue(
            s, tenant_id=tenant_id, target="helpdesk", ticket_external_id=fake.ticket_id,
            actions=actions, idempotency_key=f"acme:{fake.ticket_id}:1:helpdesk", now=now,
        )
        assert row is not None
        return row.id


def rows(runtime: Any) -> list[store.OutboxRow]:
    """Every outbox row, oldest first."""
    with store.session_scope(runtime.sessions) as s:
        return list(s.scalars(select(store.OutboxRow).order_by(store.OutboxRow.id)))


def lose_first(kind_lost: str, log: list[str]) -> Any:
    """A hook that loses the answer to the first write of ``kind_lost``."""

    def hook(kind: str) -> bool:
        if kind == kind_lost and not log:
            log.append(kind)
            return True
        return False

    return hook


# --- a lost answer ----------------------------------------------------------------------------


@pytest.mark.parametrize("lost", ["note", "reply"])
def test_a_write_whose_answer_was_lost_is_not_written_again(
    runtime: Any, fake: FakeHelpdesk, rsps: responses.RequestsMock, lost: str
) -> None:
    losses: list[str] = []
    mount(rsps, fake, lose_answer=lose_first(lost, losses))
    queue(runtime, connect(runtime, fake), fake)

    first = run_once(runtime, now=NOW)
    assert losses == [lost]
    assert first.failed == 0
    assert any(r.uncertain for r in rows(runtime) if r.status == "pending")

    drain(runtime, now=NOW + timedelta(hours=1))

    assert len(fake.notes()) == 1, fake.notes()
    assert len(fake.replies()) == 1, fake.replies()
    assert {r.status for r in rows(runtime)} == {"delivered"}
    # Intercom shows each assignment in the conversation: that one is checked too.
    assert len(group_writes(fake)) == 1 or fake.identifier != "intercom"
    validate(fake, rsps)


def test_a_reply_queued_again_keeps_its_ref(
    runtime: Any, fake: FakeHelpdesk, rsps: responses.RequestsMock
) -> None:
    losses: list[str] = []
    mount(rsps, fake, lose_answer=lose_first("reply", losses))
    queue(runtime, connect(runtime, fake), fake)
    run_once(runtime, now=NOW)
    drain(runtime, now=NOW + timedelta(hours=1))

    [reply] = fake.replies()
    sent = outbox.with_refs(TIER_2, f"acme:{fake.ticket_id}:1:helpdesk")
    ref = next(a.payload["ref"] for a in sent if a.kind is ActionKind.PUBLIC_REPLY)
    assert f"ref {ref}" in reply
    for row in rows(runtime):
        refs = [a["payload"].get("ref") for a in row.actions if a["kind"] == "public_reply"]
        assert refs in ([], [None], [ref])


# --- a missing group mapping --------------------------------------------------------------------


def test_a_missing_group_mapping_delivers_the_rest_and_says_so(
    runtime: Any, fake: FakeHelpdesk, rsps: responses.RequestsMock
) -> None:
    mount(rsps, fake)
    queue(runtime, connect(runtime, fake, group_ids={}), fake,
          [a for a in TIER_2 if a.kind is not ActionKind.INTERNAL_NOTE])

    report = run_once(runtime, now=NOW)

    assert (report.delivered, report.failed) == (1, 0)
    [row] = rows(runtime)
    assert row.status == "delivered"
    # The outbox page shows it beside the row; the customer's reply never mentions it.
    assert row.last_error is not None
    assert row.last_error.startswith("Not moved to group 'support_tier_2'")
    assert row.result is not None and row.result["detail"]["warnings"] == [row.last_error]
    assert "support_tier_2" not in fake.replies()[0]


# --- a worker killed between the vendor call and the commit -------------------------------------


@pytest.mark.parametrize("killed_after", ["note", "reply"])
def test_a_worker_killed_after_the_vendor_call_writes_each_note_and_reply_once(
    runtime: Any, app_config: dict[str, Any], fake: FakeHelpdesk, killed_after: str
) -> None:
    landed, release = threading.Event(), threading.Event()

    def hold(kind: str) -> bool:
        if kind == killed_after and not landed.is_set():
            landed.set()
            release.wait(60)  # the worker is killed meanwhile; nobody reads the answer
            return True
        return False

    with serve(fake, after_write=hold) as base_url:
        outbox_id = queue(runtime, connect(runtime, fake, base_url=base_url), fake,
                          now=datetime.now(UTC))
        env = {**os.environ, "ESCALADE_DATABASE_URL": app_config["DATABASE_URL"],
               "ESCALADE_VAR_DIR": str(app_config["VAR_DIR"]),
               "ESCALADE_SECRET_KEY": app_config["SECRET_KEY"], "ESCALADE_LOG_LEVEL": "WARNING",
               "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        worker = subprocess.Popen([sys.executable, "-m", "integration.cli", "work"], cwd=ROOT,
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            if not landed.wait(120):
                worker.kill()
                pytest.fail(f"the worker never wrote the {killed_after}: {worker.communicate()}")
            os.kill(worker.pid, signal.SIGKILL)
            worker.communicate(timeout=30)
        finally:
            release.set()
            if worker.poll() is None:
                worker.kill()
                worker.communicate(timeout=30)
        assert worker.returncode == -signal.SIGKILL
        # It died between the vendor's answer and the commit: the row is still in flight.
        [row] = rows(runtime)
        assert (row.id, row.status) == (outbox_id, "inflight")

        # Restarted once the dead worker's lease has run out.
        drain(runtime, now=datetime.now(UTC) + timedelta(minutes=5))

    assert len(fake.notes()) == 1, fake.notes()
    assert len(fake.replies()) == 1, fake.replies()
    assert {r.status for r in rows(runtime)} == {"delivered"}
    # Intercom shows each assignment in the conversation: that one is checked too.
    assert len(group_writes(fake)) == 1 or fake.identifier != "intercom"
