"""The knowledge store: documents per workspace and source, a version that moves only on change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integration import store
from integration.answer.types import DocKind, KnowledgeDoc
from integration.store.knowledge import (
    IMPORT_SOURCE,
    KnowledgeCounts,
    KnowledgeDocRow,
    knowledge_cursor,
    knowledge_docs,
    knowledge_summary,
    knowledge_version,
    record_sync_failure,
    replace_documents,
    retire_other_sources,
)

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _doc(doc_id: str, body: str = "Click Forgot password?", *,
         kind: DocKind = DocKind.ARTICLE) -> KnowledgeDoc:
    return KnowledgeDoc(id=doc_id, kind=kind, title=f"Doc {doc_id}", body=body,
                        url=f"https://help.example.com/{doc_id}", section="Account", locale="en")


@pytest.fixture
def tenant_id(runtime: Any) -> int:
    with store.session_scope(runtime.sessions) as s:
        row = store.add_tenant(s, slug="acme", name="Acme", helpdesk="zendesk",
                               base_url="https://acme.zendesk.com",
                               secrets={"email": "a@b.example", "api_token": "t"}, settings={},
                               cipher=runtime.cipher)
        return row.id


def _replace(runtime: Any, tenant_id: int, docs: list[KnowledgeDoc], *,
             source: str = "zendesk", when: datetime = NOW, **kwargs: Any) -> KnowledgeCounts:
    with store.session_scope(runtime.sessions) as s:
        return replace_documents(s, tenant_id=tenant_id, source=source, docs=docs, now=when,
                                 **kwargs)


def _version(runtime: Any, tenant_id: int) -> int:
    with store.session_scope(runtime.sessions) as s:
        return knowledge_version(s, tenant_id)


def test_the_version_changes_exactly_when_the_documents_do(runtime: Any, tenant_id: int) -> None:
    start = _version(runtime, tenant_id)
    first = _replace(runtime, tenant_id, [_doc("1"), _doc("2")], cursor="c1")
    after_first = _version(runtime, tenant_id)

    same = _replace(runtime, tenant_id, [_doc("1"), _doc("2")], cursor="c2",
                    when=NOW + timedelta(hours=1))
    after_same = _version(runtime, tenant_id)

    edited = _replace(runtime, tenant_id, [_doc("1", "Click Reset password")], cursor="c3")

    assert first == KnowledgeCounts(added=2)
    assert after_first != start
    assert same == KnowledgeCounts(unchanged=2)
    assert after_same == after_first  # nothing changed: the answer index is not rebuilt
    assert edited == KnowledgeCounts(changed=1)
    assert _version(runtime, tenant_id) != after_same
    with store.session_scope(runtime.sessions) as s:
        assert knowledge_cursor(s, tenant_id, "zendesk") == "c3"


def test_unchanged_content_leaves_its_row_alone(runtime: Any, tenant_id: int) -> None:
    _replace(runtime, tenant_id, [_doc("1")])
    _replace(runtime, tenant_id, [_doc("1")], when=NOW + timedelta(days=1))

    with store.session_scope(runtime.sessions) as s:
        (row,) = s.query(KnowledgeDocRow).all()
        assert row.updated_at == NOW


def test_removed_ids_and_whole_listings_delete_what_is_gone(runtime: Any, tenant_id: int) -> None:
    _replace(runtime, tenant_id, [_doc("1"), _doc("2"), _doc("3"),
                                  _doc("9", kind=DocKind.MACRO)])

    drafted = _replace(runtime, tenant_id, [], removed=[(DocKind.ARTICLE, "2")])
    # A whole listing of macros that no longer has macro 9; articles are not touched.
    listed = _replace(runtime, tenant_id, [_doc("1")], complete=[DocKind.MACRO])
    whole = _replace(runtime, tenant_id, [_doc("1")], complete=[DocKind.ARTICLE])

    assert drafted == KnowledgeCounts(removed=1)
    assert listed == KnowledgeCounts(removed=1, unchanged=1)
    assert whole == KnowledgeCounts(removed=1, unchanged=1)
    with store.session_scope(runtime.sessions) as s:
        assert [d.id for d in knowledge_docs(s, tenant_id)] == ["1"]


def test_an_import_is_its_own_source_that_a_sync_never_deletes(runtime: Any,
                                                               tenant_id: int) -> None:
    _replace(runtime, tenant_id, [_doc("kb-1")], source=IMPORT_SOURCE,
             complete=tuple(DocKind))
    synced = _replace(runtime, tenant_id, [_doc("1")], complete=tuple(DocKind), cursor="c9")

    assert synced == KnowledgeCounts(added=1)
    with store.session_scope(runtime.sessions) as s:
        assert sorted(d.id for d in knowledge_docs(s, tenant_id)) == ["1", "kb-1"]
        # A helpdesk the workspace left: its documents go, the import stays.
        version = knowledge_version(s, tenant_id)
        assert retire_other_sources(s, tenant_id=tenant_id, keep=("intercom", IMPORT_SOURCE)) == 1
        assert [d.id for d in knowledge_docs(s, tenant_id)] == ["kb-1"]
        assert knowledge_version(s, tenant_id) != version
        # Coming back to that helpdesk later reads it from the start, not from an old cursor.
        assert knowledge_cursor(s, tenant_id, "zendesk") is None


def test_documents_come_back_as_they_were_given(runtime: Any, tenant_id: int) -> None:
    doc = KnowledgeDoc(id="25", kind=DocKind.MACRO, title="Extra seat price",
                       body="Hi {{ticket.requester.first_name}},\n\n1. Open Billing", url=None,
                       section="Billing", locale=None)
    _replace(runtime, tenant_id, [doc])

    with store.session_scope(runtime.sessions) as s:
        assert knowledge_docs(s, tenant_id) == [doc]


def test_a_failure_is_kept_until_the_next_good_sync(runtime: Any, tenant_id: int) -> None:
    with store.session_scope(runtime.sessions) as s:
        first = record_sync_failure(s, tenant_id=tenant_id, source="zendesk",
                                    error="zendesk: unreachable", now=NOW)
        again = record_sync_failure(s, tenant_id=tenant_id, source="zendesk",
                                    error="zendesk: unreachable", now=NOW)
        failing = knowledge_summary(s, tenant_id, "zendesk")
    _replace(runtime, tenant_id, [_doc("1"), _doc("2", kind=DocKind.MACRO)])
    with store.session_scope(runtime.sessions) as s:
        good = knowledge_summary(s, tenant_id, "zendesk")

    assert (first, again) == (True, False)  # said once, not at every run
    assert (failing.error, failing.failed_at) == ("zendesk: unreachable", NOW)
    assert (good.articles, good.macros, good.synced_at, good.error) == (1, 1, NOW, None)


def test_one_workspace_never_sees_anothers_documents(runtime: Any, tenant_id: int) -> None:
    with store.session_scope(runtime.sessions) as s:
        other = store.add_tenant(s, slug="globex", name="Globex", helpdesk="zendesk",
                                 base_url="https://globex.zendesk.com",
                                 secrets={"email": "a@b.example", "api_token": "t"},
                                 settings={}, cipher=runtime.cipher).id
    _replace(runtime, tenant_id, [_doc("1")])
    _replace(runtime, other, [_doc("1", "Globex's own words")], complete=tuple(DocKind))

    with store.session_scope(runtime.sessions) as s:
        assert [d.body for d in knowledge_docs(s, tenant_id)] == ["Click Forgot password?"]
        assert [d.body for d in knowledge_docs(s, other)] == ["Globex's own words"]
