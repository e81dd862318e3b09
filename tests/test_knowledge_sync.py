"""Syncing a workspace's knowledge end to end: helpdesk -> store -> the runtime's cached copy,
and the scheduler's job over every workspace."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from integration import store
from integration.answer.types import DocKind, KnowledgeDoc
from integration.errors import ServerError
from integration.knowledge_sync import import_documents, sync_all, sync_workspace
from integration.store.knowledge import KnowledgeCounts, knowledge_cursor, knowledge_summary
from tests.adapters import kit

API = "https://acme.zendesk.com/api/v2"
ZD = kit.Fixtures("zendesk")


def _tenant(runtime: Any, slug: str, helpdesk: str, **settings: Any) -> Any:
    secrets = {"zendesk": {"email": "bot@acme.example", "api_token": "t0ken"},
               "sandbox": {"webhook_secret": "s" * 32}}[helpdesk]
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug=slug, name=slug.title(), helpdesk=helpdesk,
                         base_url="https://acme.zendesk.com" if helpdesk == "zendesk" else None,
                         secrets=secrets, settings=settings, cipher=runtime.cipher)
        row = store.get_tenant(s, slug)
        s.expunge(row)
    return row


def _docs(runtime: Any, tenant: Any) -> dict[tuple[DocKind, str], KnowledgeDoc]:
    docs, _ = runtime.knowledge_for(tenant)
    return {(d.kind, d.id): d for d in docs}


def _zendesk_first_sync() -> None:
    responses.get(f"{API}/help_center/incremental/articles.json",
                  json=ZD.load("hc_articles_incremental_page1.json"),
                  match=[matchers.query_param_matcher({"start_time": "0"})])
    responses.get(f"{API}/help_center/incremental/articles.json",
                  json=ZD.load("hc_articles_incremental_page2.json"),
                  match=[matchers.query_param_matcher({"start_time": "1764496800"})])
    responses.get(f"{API}/help_center/sections.json", json=ZD.load("hc_sections.json"))
    _zendesk_macros()


def _zendesk_macros() -> None:
    responses.get(f"{API}/macros/active.json", json=ZD.load("macros_active_page1.json"),
                  match=[matchers.query_param_matcher({})])
    responses.get(f"{API}/macros/active.json", json=ZD.load("macros_active_page2.json"),
                  match=[matchers.query_param_matcher({"page": "2"})])


@responses.activate
def test_a_zendesk_workspace_syncs_then_asks_only_for_changes_and_loses_a_drafted_article(
    runtime: Any,
) -> None:
    acme = _tenant(runtime, "acme", "zendesk")
    _zendesk_first_sync()

    first = sync_workspace(runtime, acme)
    docs, version = runtime.knowledge_for(acme)

    assert first == KnowledgeCounts(added=4)
    assert {(d.kind, d.id) for d in docs} == {
        (DocKind.ARTICLE, "360001001"), (DocKind.ARTICLE, "360001004"),
        (DocKind.MACRO, "25"), (DocKind.MACRO, "28")}

    responses.reset()
    responses.get(f"{API}/help_center/incremental/articles.json",
                  json=ZD.load("hc_articles_incremental_changed.json"),
                  match=[matchers.query_param_matcher({"start_time": "1764576000"})])
    responses.get(f"{API}/help_center/sections.json", json=ZD.load("hc_sections.json"))
    _zendesk_macros()

    second = sync_workspace(runtime, acme)

    assert second == KnowledgeCounts(changed=1, removed=1, unchanged=2)
    now = _docs(runtime, acme)
    assert (DocKind.ARTICLE, "360001001") not in now  # drafted in Zendesk: gone
    assert "14 EUR" in now[(DocKind.ARTICLE, "360001004")].body
    assert runtime.knowledge_for(acme)[1] != version


@responses.activate
def test_a_sync_that_fails_half_way_stores_nothing_and_resumes_from_the_same_place(
    runtime: Any,
) -> None:
    acme = _tenant(runtime, "acme", "zendesk")
    _zendesk_first_sync()
    sync_workspace(runtime, acme)
    with store.session_scope(runtime.sessions) as s:
        cursor = knowledge_cursor(s, acme.id, "zendesk")
    before = runtime.knowledge_for(acme)

    responses.reset()
    responses.get(f"{API}/help_center/incremental/articles.json",
                  json=ZD.load("hc_articles_incremental_changed.json"))
    responses.get(f"{API}/help_center/sections.json", json=ZD.load("hc_sections.json"))
    responses.get(f"{API}/macros/active.json", status=503, json={"error": "Unavailable"})

    with pytest.raises(ServerError):
        sync_workspace(runtime, acme)

    assert runtime.knowledge_for(acme) == before  # the changed article was not half-stored
    with store.session_scope(runtime.sessions) as s:
        assert knowledge_cursor(s, acme.id, "zendesk") == cursor
        assert "503" in (knowledge_summary(s, acme.id, "zendesk").error or "")


def test_the_sandbox_serves_the_demo_help_centre_and_the_runtime_caches_it_per_version(
    runtime: Any,
) -> None:
    demo = _tenant(runtime, "demo", "sandbox")

    assert sync_workspace(runtime, demo).added >= 25
    docs, version = runtime.knowledge_for(demo)
    again, same = runtime.knowledge_for(demo)
    unchanged = sync_workspace(runtime, demo)

    titles = {d.title for d in docs}
    assert {"Reset your password", "Schedule, change or cancel an email report",
            "Share a dashboard with people outside your company"} <= titles
    assert {d.kind for d in docs} == {DocKind.ARTICLE, DocKind.MACRO}
    assert again is docs and same == version  # nothing changed: nothing re-read
    assert unchanged.touched is False
    assert runtime.knowledge_for(demo)[0] is docs

    extra = KnowledgeDoc(id="faq-1", kind=DocKind.ARTICLE, title="Office hours",
                         body="We answer 9:00-18:00 CET.")
    assert import_documents(runtime, demo, [extra]) == KnowledgeCounts(added=1)
    docs_now, version_now = runtime.knowledge_for(demo)
    assert version_now != version and extra in docs_now
    # A sync of the helpdesk leaves the imported document alone.
    sync_workspace(runtime, demo)
    assert extra in runtime.knowledge_for(demo)[0]


def test_a_sandbox_knowledge_file_is_synced_whole(runtime: Any, tmp_path: Path) -> None:
    path = tmp_path / "kb.jsonl"
    rows = [{"id": "a", "kind": "article", "title": "A", "body": "<p>not parsed: text</p>"},
            {"id": "m", "kind": "macro", "title": "M", "body": "Hi"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    tenant = _tenant(runtime, "sandy", "sandbox", knowledge_file=str(path))

    assert sync_workspace(runtime, tenant) == KnowledgeCounts(added=2)
    path.write_text(json.dumps(rows[1]) + "\n", encoding="utf-8")
    assert sync_workspace(runtime, tenant) == KnowledgeCounts(removed=1, unchanged=1)


@responses.activate
def test_the_scheduled_sync_goes_on_past_an_unreachable_helpdesk_and_says_so_once(
    runtime: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    from scheduler import KNOWLEDGE_JOB, build_scheduler

    acme = _tenant(runtime, "acme", "zendesk")
    demo = _tenant(runtime, "demo", "sandbox")
    responses.get(f"{API}/help_center/incremental/articles.json",
                  body=requests.ConnectionError("connection refused"))
    job = build_scheduler(runtime, sweep_seconds=60).get_job(KNOWLEDGE_JOB)
    assert job is not None and job.trigger.interval.total_seconds() == 30 * 60

    with caplog.at_level(logging.INFO, logger="integration.knowledge_sync"):
        first = job.func()
        second = job.func()

    assert [(o.tenant, o.error is not None) for o in first] == [("acme", True), ("demo", False)]
    assert "unreachable" in (first[0].error or "") or "refused" in (first[0].error or "")
    assert second[1].counts == KnowledgeCounts(unchanged=second[1].counts.unchanged)
    assert len(runtime.knowledge_for(demo)[0]) >= 25
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "acme" in warnings[0].getMessage()

    responses.reset()
    _zendesk_first_sync()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="integration.knowledge_sync"):
        back = sync_all(runtime)
    assert back[0].counts == KnowledgeCounts(added=4)
    assert [r.getMessage() for r in caplog.records] == ["knowledge sync for acme works again"]
    with store.session_scope(runtime.sessions) as s:
        assert knowledge_summary(s, acme.id, "zendesk").error is None


def test_a_zero_interval_turns_the_scheduled_sync_off(app_config: dict[str, Any]) -> None:
    from integration.runtime import Runtime
    from scheduler import KNOWLEDGE_JOB, build_scheduler

    runtime = Runtime(config={**app_config, "KB_SYNC_MINUTES": 0})
    try:
        assert build_scheduler(runtime, sweep_seconds=60).get_job(KNOWLEDGE_JOB) is None
    finally:
        runtime.engine.dispose()
