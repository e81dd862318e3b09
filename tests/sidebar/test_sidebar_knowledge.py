"""The sidebar's help-centre section: the automatic answer, or the articles to insert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete

from integration import store
from integration.answer import DocKind, Suggestion
from integration.answer.respond import AnswerRecord
from integration.matrix.schema import AnswerMode
from tests.sidebar.test_sidebar_page import Demo, demo, sidebar_url, token_for

__all__ = ["demo"]

AT = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)
GOOD = Suggestion(doc_id="art-1", kind=DocKind.ARTICLE, title="Export a report to CSV",
                  url="https://help.example.com/articles/1", confidence=0.82,
                  excerpt="Open the report, then choose Export > CSV.")
FAINT = Suggestion(doc_id="art-2", kind=DocKind.ARTICLE, title="Reports overview", url=None,
                   confidence=0.05, excerpt="")


def store_answer(runtime: Any, ticket_id: str, record: AnswerRecord) -> None:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        row = store.get_ticket(s, tenant.id, "sandbox", ticket_id)
        assert row is not None
        # The demo read its tickets against its help centre: start this one afresh.
        s.execute(delete(store.answers.TicketAnswerRow)
                  .where(store.answers.TicketAnswerRow.ticket_id == row.id))
        assert store.answers.save_answer(s, tenant_id=tenant.id, ticket_id=row.id, record=record)
        # Once per ticket: a second record for the same ticket is not stored.
        assert not store.answers.save_answer(s, tenant_id=tenant.id, ticket_id=row.id,
                                             record=record)


def page(client: Any, runtime: Any, ticket_id: str) -> str:
    response = client.get(sidebar_url(ticket_id, token_for(runtime)))
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def test_suggestions_show_with_insert_and_copy(client: Any, runtime: Any, demo: Demo) -> None:
    store_answer(runtime, demo.ticket_id, AnswerRecord(
        mode=AnswerMode.ANSWER, answered=False, doc_id=None, doc_title=None, doc_url=None,
        confidence=0.82, why="it is a Tier 3 matter", at=AT, suggestions=(GOOD, FAINT)))
    html = page(client, runtime, demo.ticket_id)
    assert 'id="knowledge"' in html
    assert "Not answered automatically: it is a Tier 3 matter." in html
    assert "Export a report to CSV" in html and "82% sure" in html
    assert "Reports overview" not in html
    assert 'data-insert="Open the report, then choose Export &gt; CSV.' in html
    assert "Insert into reply" in html and ">Copy<" in html


def test_an_automatic_answer_is_said_with_its_article(client: Any, runtime: Any,
                                                      demo: Demo) -> None:
    store_answer(runtime, demo.ticket_id, AnswerRecord(
        mode=AnswerMode.ANSWER, answered=True, doc_id="art-1", doc_title=GOOD.title,
        doc_url=GOOD.url, confidence=0.93, why="", at=AT, suggestions=(GOOD,)))
    html = page(client, runtime, demo.ticket_id)
    assert "Answered automatically with “Export a report to CSV” (93%)" in html
    assert "wrote back" not in html
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        row = store.get_ticket(s, tenant.id, "sandbox", demo.ticket_id)
        assert row is not None
        assert store.answers.mark_declined(s, ticket_id=row.id, at=AT)
        assert not store.answers.mark_declined(s, ticket_id=row.id, at=AT)  # the first time only
    assert "The customer wrote back" in page(client, runtime, demo.ticket_id)


def test_the_demo_tickets_were_read_against_its_help_centre(client: Any, runtime: Any,
                                                            demo: Demo) -> None:
    assert 'id="knowledge"' in page(client, runtime, demo.ticket_id)
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        row = store.get_ticket(s, tenant.id, "sandbox", demo.ticket_id)
        assert row is not None
        s.execute(delete(store.answers.TicketAnswerRow)
                  .where(store.answers.TicketAnswerRow.ticket_id == row.id))
    assert 'id="knowledge"' not in page(client, runtime, demo.ticket_id)
