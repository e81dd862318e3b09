"""Intercom knowledge: the Help Center's published articles, checked against Intercom 2.14."""

from __future__ import annotations

import pytest
import responses
from responses import matchers

from integration.answer.types import DocKind, KnowledgeDoc
from integration.knowledge_sync import collect
from tests.adapters import kit

API = "https://api.intercom.io"
INTERCOM = kit.Install(helpdesk="intercom", base_url=None,
                       credentials={"access_token": "ic-token"}, webhook_secret="w" * 32)
FIX = kit.Fixtures("intercom")


@responses.activate
def test_a_sync_reads_every_page_of_articles_and_keeps_the_published_ones() -> None:
    responses.get(f"{API}/help_center/collections",
                  json=FIX.load("help_center_collections.json"))
    for page in (1, 2):
        responses.get(f"{API}/articles", json=FIX.load(f"articles_page{page}.json"),
                      match=[matchers.query_param_matcher({"page": str(page), "per_page": "50"})])

    folded = collect(INTERCOM.adapter().fetch_knowledge(cursor=None), cursor=None)

    assert folded.docs == (
        KnowledgeDoc(id="39", kind=DocKind.ARTICLE, title="Seat prices",
                     body="Extra seats cost:\n\n- 12 EUR on Starter\n- 25 EUR on Pro",
                     url="https://help.acme.example/en/articles/39-seat-prices",
                     section="Billing", locale="en"),
        KnowledgeDoc(id="41", kind=DocKind.ARTICLE, title="Change your invoice address",
                     body="Open Settings > Billing and edit the address.",
                     url="https://help.acme.example/en/articles/41-change-your-invoice-address",
                     locale="en"),
    )
    # The whole listing was read: the draft, and anything no longer listed, go when stored.
    assert folded.complete == (DocKind.ARTICLE,)
    assert {call.request.headers["Intercom-Version"] for call in responses.calls} == {"2.14"}
    kit.validate_calls("intercom", responses.calls)


@responses.activate
def test_a_listing_cut_short_claims_nothing_is_gone() -> None:
    from integration.errors import ServerError

    responses.get(f"{API}/help_center/collections",
                  json=FIX.load("help_center_collections.json"))
    responses.get(f"{API}/articles", json=FIX.load("articles_page1.json"),
                  match=[matchers.query_param_matcher({"page": "1", "per_page": "50"})])
    responses.get(f"{API}/articles", status=503, json={"type": "error.list", "errors": []},
                  match=[matchers.query_param_matcher({"page": "2", "per_page": "50"})])

    pages = INTERCOM.adapter().fetch_knowledge(cursor=None)

    # No page is handed over before the listing is whole, so no article is taken for gone.
    with pytest.raises(ServerError):
        next(iter(pages))
