"""Freshdesk knowledge: published solution articles and shared canned responses, read whole.

Requests and faked answers are checked against the schemas written from Freshdesk's
reference (``freshdesk_schemas``); rate limits are Freshdesk's own headers.
"""

from __future__ import annotations

import pytest
import responses
from responses import matchers

from adapters.helpdesk.base import KnowledgePage
from integration.answer.types import DocKind, KnowledgeDoc
from integration.errors import RateLimited
from integration.knowledge_sync import collect
from tests import recorded
from tests.adapters import kit

API = "https://acme.freshdesk.com/api/v2"
FRESHDESK = kit.Install(helpdesk="freshdesk", base_url="https://acme.freshdesk.com",
                        credentials={"api_key": "fd-key"}, webhook_secret="w" * 32)
FIX = kit.Fixtures("freshdesk")
PLENTY = {"X-RateLimit-Total": "200", "X-RateLimit-Remaining": "180"}


def _answers(articles: list[str], *, headers: dict[str, str] | None = None) -> None:
    headers = headers or PLENTY
    responses.get(f"{API}/solutions/categories", json=FIX.load("solution_categories.json"),
                  headers=headers)
    responses.get(f"{API}/solutions/categories/101/folders",
                  json=FIX.load("solution_folders.json"), headers=headers)
    for page, name in enumerate(articles, start=1):
        link = {} if page == len(articles) else {
            "Link": f'<{API}/solutions/folders/201/articles?per_page=100&page={page + 1}>; '
                    'rel="next"'}
        responses.get(f"{API}/solutions/folders/201/articles", json=FIX.load(name),
                      headers={**headers, **link},
                      match=[matchers.query_param_matcher({"per_page": "100",
                                                           "page": str(page)})])
    responses.get(f"{API}/canned_response_folders", json=FIX.load("canned_response_folders.json"),
                  headers=headers)
    responses.get(f"{API}/canned_response_folders/401/responses",
                  json=FIX.load("canned_responses.json"), headers=headers)


def _sync() -> list[KnowledgePage]:
    return list(FRESHDESK.adapter().fetch_knowledge(cursor=None))


@responses.activate
def test_a_sync_reads_every_published_article_across_pages_and_the_shared_canned_responses(
) -> None:
    _answers(["solution_articles_page1.json", "solution_articles_page2.json"])

    folded = collect(_sync(), cursor=None)

    assert folded.docs == (
        KnowledgeDoc(id="301", kind=DocKind.ARTICLE, title="Reset your password",
                     body="To reset it:\n\n1. Click Forgot password?\n2. Follow the emailed link.",
                     url="https://acme.freshdesk.com/support/solutions/articles/301",
                     section="Getting started / Account"),
        KnowledgeDoc(id="303", kind=DocKind.ARTICLE, title="Export to CSV",
                     body="Open a dashboard, then Export \u2192 CSV.",
                     url="https://acme.freshdesk.com/support/solutions/articles/303",
                     section="Getting started / Account"),
        KnowledgeDoc(id="501", kind=DocKind.MACRO, title="Refund policy",
                     body=("Hi {{ticket.requester.name}},\n\n"
                           "we refund unused seats at the end of the period."),
                     section="Billing"),
    )
    # Whole listings: the draft (302) and anything no longer listed go at store time.
    assert set(folded.complete) == {DocKind.ARTICLE, DocKind.MACRO}
    paths = [call.request.path_url for call in responses.calls]
    # The agents-only folder and the personal canned-response folder are never read.
    assert not [p for p in paths if "/folders/202/" in p or "/canned_response_folders/402" in p]
    kit.validate_calls("freshdesk", responses.calls)
    assert all(recorded.header(call.request, "Authorization").startswith("Basic ")
               for call in responses.calls)


@responses.activate
def test_a_later_sync_lists_what_is_there_now() -> None:
    _answers(["solution_articles_later.json"])

    folded = collect(_sync(), cursor=None)

    assert [d.id for d in folded.docs if d.kind is DocKind.ARTICLE] == ["301"]
    assert folded.docs[0].body.endswith("2. Follow the emailed link (valid 1 hour).")
    kit.validate_calls("freshdesk", responses.calls)


@responses.activate
def test_the_sync_stops_before_it_spends_the_budget_ticket_updates_need(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kit.refuse_sleep(monkeypatch)
    _answers(["solution_articles_page1.json"],
             headers={"X-RateLimit-Total": "200", "X-RateLimit-Remaining": "15"})

    with pytest.raises(RateLimited, match="left this minute"):
        _sync()

    assert len(responses.calls) == 1


@responses.activate
def test_a_429_is_raised_with_its_retry_after_and_nothing_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kit.refuse_sleep(monkeypatch)
    responses.get(f"{API}/solutions/categories", status=429, headers={"Retry-After": "30"},
                  json={"code": "rate_limit", "message": "You have exceeded the limit"})

    with pytest.raises(RateLimited) as raised:
        _sync()

    assert raised.value.retry_after == 30
