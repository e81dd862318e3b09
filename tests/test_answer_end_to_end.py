"""Answering from the help centre, per helpdesk: a signed webhook for a how-to question, the
answer written back as a public reply, the customer writing that it did not help, and the
ticket at Tier 2 with a note saying what was tried; in suggest mode, only an internal note."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from integration import store
from integration.answer import DocKind, KnowledgeDoc
from integration.knowledge_sync import import_documents
from integration.matrix.loader import DEFAULT_PATH
from integration.web import create_app
from tests.adapters.contract import KITS, ContractKit, load_kit
from tests.fake_helpdesks import FAKES, FakeHelpdesk, mount
from tests.work import run_once

pytestmark = pytest.mark.scaleout

ARTICLE = KnowledgeDoc(
    id="360001", kind=DocKind.ARTICLE, title="Export a report to CSV",
    body=("You can download any report as a CSV file.\n\n1. Open Reports and choose the "
          "report.\n2. Click Export in the top right corner.\n3. Choose CSV and click Download."
          "\n\nNote: exports include at most 50,000 rows."),
    url="https://help.acme.example/articles/360001", section="Reports")
OTHERS = (
    KnowledgeDoc(id="360003", kind=DocKind.ARTICLE, title="Reset your password",
                 body="1. On the sign-in page click Forgot password.\n2. Enter your email "
                      "address.\n3. Follow the link in the email within 30 minutes."),
    KnowledgeDoc(id="360004", kind=DocKind.ARTICLE, title="Invite a teammate",
                 body="Admins can invite teammates.\n\n1. Open Settings > Team.\n2. Click "
                      "Invite and enter their email address.\n3. Choose a role, click Send."),
)
QUESTION = "Hi, how do I download one of our reports as a CSV file? Thanks, Dana"
NOT_ENOUGH = "That didn't help, the Export button is greyed out for me."


def matrix_file(tmp_path: Path, mode: str) -> Path:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert "answers:\n  mode: suggest\n" in text
    path = tmp_path / f"matrix-{mode}.yaml"
    path.write_text(text.replace("answers:\n  mode: suggest\n", f"answers:\n  mode: {mode}\n"))
    return path


@pytest.fixture(params=KITS)
def kit(request: pytest.FixtureRequest) -> ContractKit:
    """Each helpdesk's contract kit: its signed webhook events."""
    return load_kit(request.param)


def app_for(app_config: dict[str, Any], tmp_path: Path, kit: ContractKit,
            mode: str) -> Iterator[Any]:
    store.upgrade(app_config["DATABASE_URL"])
    app = create_app({**app_config, "MATRIX_PATH": matrix_file(tmp_path, mode)})
    runtime = app.extensions["escalade"]
    config = kit.make_adapter(requests.Session()).config
    with store.session_scope(runtime.sessions) as s:
        row = store.add_tenant(
            s, slug=config.tenant, name=config.tenant, helpdesk=kit.identifier,
            base_url=config.base_url,
            secrets={**config.credentials, "webhook_secret": config.webhook_secret or ""},
            settings=dict(config.options), cipher=runtime.cipher)
        s.expunge(row)
    import_documents(runtime, row, (ARTICLE, *OTHERS), now=datetime.now(UTC))
    yield app
    runtime.engine.dispose()


@pytest.fixture
def answering(app_config: dict[str, Any], tmp_path: Path, kit: ContractKit) -> Iterator[Any]:
    """The app with answer mode on, a workspace on the kit's helpdesk, and its help centre."""
    yield from app_for(app_config, tmp_path, kit, "answer")


@pytest.fixture
def suggesting(app_config: dict[str, Any], tmp_path: Path, kit: ContractKit) -> Iterator[Any]:
    """The same with the default suggest mode."""
    yield from app_for(app_config, tmp_path, kit, "suggest")


def deliver(app: Any, kit: ContractKit, fake: FakeHelpdesk, event: bytes) -> None:
    runtime = app.extensions["escalade"]
    tenant = kit.make_adapter(requests.Session()).config.tenant
    headers = {"Content-Type": "application/json", **kit.sign(event, datetime.now(UTC))}
    answer = app.test_client().post(f"/webhooks/{kit.identifier}/{tenant}", data=event,
                                    headers=headers)
    assert answer.status_code == 202, answer.json
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mount(rsps, fake)
        report = run_once(runtime)
    assert (report.decided, report.failed) == (1, 0)


def tier_of(app: Any, kit: ContractKit, fake: FakeHelpdesk) -> int | None:
    runtime = app.extensions["escalade"]
    with store.session_scope(runtime.sessions) as s:
        (tenant,) = store.list_tenants(s)
        row = store.get_ticket(s, tenant.id, kit.identifier, fake.ticket_id)
        assert row is not None
        return row.tier


def test_answered_then_handed_over_when_it_did_not_help(answering: Any, kit: ContractKit) -> None:
    fake = FAKES[kit.identifier]()
    fake.ask("Export to CSV", QUESTION)
    first, second = list(kit.events.values())[:2]

    deliver(answering, kit, fake, first)

    assert tier_of(answering, kit, fake) == 1
    (reply,) = fake.replies()
    assert "2. Click Export in the top right corner." in reply
    assert "https://help.acme.example/articles/360001" in reply
    assert "a person will pick it up" in reply
    assert any("Escalade answered this from “Export a report to CSV”" in n
               for n in fake.notes())

    fake.customer_writes(NOT_ENOUGH)
    deliver(answering, kit, fake, second)

    assert tier_of(answering, kit, fake) == 2
    # Not answered a second time: the only new reply is Tier 2's acknowledgment.
    assert [r for r in fake.replies() if "Click Export" in r] == [reply]
    handoff = fake.notes()[-1]
    assert "Escalade answered automatically with “Export a report to CSV”" in handoff
    assert "greyed out" in handoff


def test_suggest_mode_writes_only_an_internal_note(suggesting: Any, kit: ContractKit) -> None:
    fake = FAKES[kit.identifier]()
    fake.ask("Export to CSV", QUESTION)

    deliver(suggesting, kit, fake, next(iter(kit.events.values())))

    assert fake.replies() == []
    assert any("Help-centre articles that may answer this:" in n
               and "Export a report to CSV" in n for n in fake.notes())
    assert tier_of(suggesting, kit, fake) == 1
