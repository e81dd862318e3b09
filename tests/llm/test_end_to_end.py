"""A tenant with a language model: webhook → second reading → decision, note and sidebar say so."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from integration import store
from tests.conftest import SANDBOX_SECRET, make_ticket, post_sandbox, sandbox_body
from tests.llm.openai_server import KEY, FakeOpenAI, Reply, fake_openai
from tests.work import drain

pytestmark = pytest.mark.scaleout

# A condition the local reader still takes as live, so only a second reading can settle it.
HYPOTHETICAL = ("Our finance team wants to know the notice period if we cancel our "
                "subscription. Reach me at dana@bigco.example.")
READING = {"category": "other", "category_quote": "", "intent": None,
           "triggers": [{"id": "churn", "reading": "mentioned",
                         "quote": "if we cancel our subscription"}],
           "why": "They ask about notice periods; nobody is cancelling."}


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai() as server:
        server.answer = lambda body: Reply(
            content=json.dumps(READING) if body.get("response_format")
            else "Dana asks what notice period applies if they ever cancel.")
        yield server


def _tenant(runtime: Any, fake: FakeOpenAI, *, key_from_env: bool = False, **llm: Any) -> None:
    # The key is a stored secret, or (key_from_env) read from ESCALADE_LLM_TEST_KEY.
    key: dict[str, Any] = (
        {"api_key_env": "ESCALADE_LLM_TEST_KEY"} if key_from_env else {"api_key_secret": True}
    )
    settings = {"summary_provider": "llm",
                "llm": {"base_url": fake.url, "model": "test-model", "second_reading": True,
                        **key, **llm}}
    secrets = {"webhook_secret": SANDBOX_SECRET}
    if not key_from_env:
        secrets["llm.api_key"] = KEY
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="demo", name="Demo", helpdesk="sandbox", base_url=None,
                         secrets=secrets, settings=settings, cipher=runtime.cipher)


def _post(client: Any, runtime: Any, body: str) -> None:
    ticket = make_ticket(id="7", subject="Contract question", messages=[
        {"id": "m1", "author": "customer", "public": True, "body": body,
         "created_at": "2026-11-02T09:14:00Z"}])
    assert post_sandbox(client, sandbox_body(ticket, delivery_id="d1")).status_code == 202
    assert drain(runtime).decided == 1


def test_the_decision_the_note_and_the_sidebar_say_what_the_model_did(
    client: Any, runtime: Any, fake: FakeOpenAI
) -> None:
    _tenant(runtime, fake)
    _post(client, runtime, HYPOTHETICAL)
    with store.session_scope(runtime.sessions) as s:
        decision = s.scalars(select(store.DecisionRow)).one()
        rules = {r["rule_id"]: r["reason"] for r in decision.rules}
        row = s.scalars(select(store.OutboxRow)).one()
        note = next(a["payload"]["body"] for a in row.actions if a["kind"] == "internal_note")
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        s.expunge(tenant)
    assert rules["second_reading"].startswith(
        'second reading by test-model: "churn" is only mentioned, not meant: "if we cancel '
        'our subscription"')
    assert "Summary written by test-model: Dana asks what notice period applies" in note
    assert "second reading by test-model" in note
    assert fake.keys == [KEY, KEY]
    assert "dana@bigco.example" not in fake.sent  # redacted by default

    link = runtime.tenant_context(tenant).ticket_link("7")
    page = client.get(urlsplit(link).path + "?" + urlsplit(link).query)
    assert page.status_code == 200
    assert "Summary written by test-model: Dana asks" in page.text
    assert "second reading by test-model" in page.text


def test_a_model_that_is_down_changes_nothing(client: Any, runtime: Any,
                                             fake: FakeOpenAI) -> None:
    fake.answer = lambda _body: Reply(status=500)
    _tenant(runtime, fake)
    _post(client, runtime, HYPOTHETICAL)
    with store.session_scope(runtime.sessions) as s:
        decision = s.scalars(select(store.DecisionRow)).one()
        row = s.scalars(select(store.OutboxRow)).one()
        note = next(a["payload"]["body"] for a in row.actions if a["kind"] == "internal_note")
    assert decision.tier == 3
    assert all(r["rule_id"] != "second_reading" for r in decision.rules)
    assert "written by" not in note
    assert len(fake.requests) == 2  # one question each, no retries


def test_a_missing_key_reads_as_off(client: Any, runtime: Any, fake: FakeOpenAI,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESCALADE_LLM_TEST_KEY", raising=False)
    _tenant(runtime, fake, key_from_env=True, second_reading=False)
    _post(client, runtime, HYPOTHETICAL)
    assert fake.requests == []


def test_with_no_setting_the_openai_package_is_never_imported(tmp_path: Any) -> None:
    # A fresh process: the triage of a tenant without the setting, then a look at what loaded.
    code = f"""
import sys
from types import SimpleNamespace
from integration.runtime import Runtime
from integration.cli.root import main
runtime = Runtime(config={{"DATABASE_URL": "sqlite:///{tmp_path}/e.db", "VAR_DIR": "{tmp_path}",
                          "SECRET_KEY": ""}})
tenant = SimpleNamespace(slug="acme", settings={{"summary_provider": "extractive"}}, secrets=b"")
assert runtime.llm_reader(tenant) is None
assert runtime._summarizer(tenant, None).name == "extractive"
assert "openai" not in sys.modules, "openai was imported"
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr


def test_the_key_can_come_from_the_environment(client: Any, runtime: Any, fake: FakeOpenAI,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCALADE_LLM_TEST_KEY", "sk-from-the-environment")
    _tenant(runtime, fake, key_from_env=True, second_reading=False)
    _post(client, runtime, HYPOTHETICAL)
    assert fake.keys == ["sk-from-the-environment"]  # the summary; no second reading asked
