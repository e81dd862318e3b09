"""Zendesk knowledge: Help Center articles read incrementally, macros whole, as plain text.

Macros are checked against Zendesk's published API description (../shared/specs); the Help
Center API is not in it, so its calls are checked against the small schemas below, written
from developer.zendesk.com (incremental article export, list sections).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import pytest
import responses
from responses import matchers

from adapters.helpdesk.base import KnowledgePage
from adapters.helpdesk.zendesk.knowledge import FULL_EVERY, KnowledgeCursor
from integration.answer.types import DocKind, KnowledgeDoc
from integration.errors import RateLimited
from integration.knowledge_sync import collect
from tests import recorded
from tests.adapters import kit

API = "https://acme.zendesk.com/api/v2"
ZENDESK = kit.Install(helpdesk="zendesk", base_url="https://acme.zendesk.com",
                      credentials={"email": "bot@acme.example", "api_token": "t0ken"},
                      webhook_secret="w" * 32)
FIX = kit.Fixtures("zendesk")

# https://developer.zendesk.com/api-reference/help_center/help-center-api/articles/#list-articles
_ARTICLE = {
    "type": "object",
    "required": ["id", "title", "body", "locale", "draft", "section_id", "html_url",
                 "user_segment_id", "updated_at"],
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"},
        "body": {"type": ["string", "null"]}, "locale": {"type": "string"},
        "draft": {"type": "boolean"}, "section_id": {"type": "integer"},
        "html_url": {"type": "string", "format": "uri"},
        "user_segment_id": {"type": ["integer", "null"]},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
INCREMENTAL_ARTICLES = {
    "type": "object",
    "required": ["articles", "next_page", "end_time"],
    "properties": {
        "articles": {"type": "array", "items": _ARTICLE, "maxItems": 1000},
        "next_page": {"type": ["string", "null"]},
        "end_time": {"type": "integer"},
        "count": {"type": "integer"},
    },
}
# https://developer.zendesk.com/api-reference/help_center/help-center-api/sections/#list-sections
SECTIONS = {
    "type": "object",
    "required": ["sections", "next_page"],
    "properties": {
        "sections": {"type": "array", "items": {
            "type": "object", "required": ["id", "name"],
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}},
        "next_page": {"type": ["string", "null"]},
    },
}
_HELP_CENTER = {
    "/api/v2/help_center/incremental/articles.json": ({"start_time"}, INCREMENTAL_ARTICLES),
    "/api/v2/help_center/sections.json": ({"page", "per_page"}, SECTIONS),
}


def _validate(calls: Sequence[responses.Call]) -> None:
    """Help Center calls against the schemas above, macros against the published spec."""
    macros = []
    for call in calls:
        url = urlsplit(str(call.request.url))
        assert call.request.method == "GET" and not call.request.body
        if url.path in _HELP_CENTER:
            allowed, schema = _HELP_CENTER[url.path]
            assert {name for name, _ in parse_qsl(url.query)} <= allowed, url.query
            if url.path.endswith("incremental/articles.json"):
                start = dict(parse_qsl(url.query))["start_time"]
                assert start.isdigit(), start  # Unix seconds
            jsonschema.validate(recorded.answer(call).json(), schema,
                                format_checker=jsonschema.FormatChecker())
        else:
            macros.append(call)
    assert macros, "no macro listing was read"
    kit.validate_calls("zendesk", macros)


def _first_sync_responses() -> None:
    responses.get(f"{API}/help_center/incremental/articles.json",
                  json=FIX.load("hc_articles_incremental_page1.json"),
                  match=[matchers.query_param_matcher({"start_time": "0"})])
    responses.get(f"{API}/help_center/incremental/articles.json",
                  json=FIX.load("hc_articles_incremental_page2.json"),
                  match=[matchers.query_param_matcher({"start_time": "1764496800"})])
    responses.get(f"{API}/help_center/sections.json", json=FIX.load("hc_sections.json"))
    _macro_responses()


def _macro_responses() -> None:
    responses.get(f"{API}/macros/active.json", json=FIX.load("macros_active_page1.json"),
                  match=[matchers.query_param_matcher({})])
    responses.get(f"{API}/macros/active.json", json=FIX.load("macros_active_page2.json"),
                  match=[matchers.query_param_matcher({"page": "2"})])


def _sync(cursor: str | None) -> list[KnowledgePage]:
    return list(ZENDESK.adapter().fetch_knowledge(cursor=cursor))


@responses.activate
def test_the_first_sync_reads_every_article_page_and_every_macro_page() -> None:
    _first_sync_responses()

    pages = _sync(None)

    folded = collect(pages, cursor=None)
    by_key = {(d.kind, d.id): d for d in folded.docs}
    assert set(by_key) == {(DocKind.ARTICLE, "360001001"), (DocKind.ARTICLE, "360001004"),
                           (DocKind.MACRO, "25"), (DocKind.MACRO, "28")}
    reset = by_key[(DocKind.ARTICLE, "360001001")]
    assert reset == KnowledgeDoc(
        id="360001001", kind=DocKind.ARTICLE, title="Reset your password",
        body=("Forgot your password?\n\nYou can reset it yourself:\n\n"
              "1. Click Forgot password? on the sign-in page.\n"
              "2. Enter your work email.\n"
              "3. Open the link we email you (valid 60 minutes).\n\n"
              "Signing in with SSO? Reset it with your identity provider."),
        url="https://acme.zendesk.com/hc/en-us/articles/360001001",
        section="Account & sign-in", locale="en-us")
    assert by_key[(DocKind.ARTICLE, "360001004")].section == "Billing"
    assert by_key[(DocKind.ARTICLE, "360001004")].body == (
        "Extra seats:\n\n- Starter: 12 EUR\n- Pro: 25 EUR")
    seat = by_key[(DocKind.MACRO, "25")]
    # The macro's own id (to apply it later), its folder, and its placeholders kept for later.
    assert (seat.title, seat.section) == ("Extra seat price", "Billing")
    assert seat.body == ("Hi {{ticket.requester.first_name}},\n\n"
                         "an extra seat costs 12 EUR a month on Starter.")
    # The restricted article and the draft are retired, not stored.
    assert set(folded.removed) == {(DocKind.ARTICLE, "360001002"),
                                   (DocKind.ARTICLE, "360001003")}
    # Read from the start: a stored article or macro no longer listed is gone.
    assert set(folded.complete) == {DocKind.ARTICLE, DocKind.MACRO}
    assert folded.cursor == KnowledgeCursor(start_time=1764576000, full_at=1764576000).encode()
    _validate(responses.calls)


@responses.activate
def test_the_next_sync_asks_only_for_what_changed_since_its_cursor() -> None:
    responses.get(f"{API}/help_center/incremental/articles.json",
                  json=FIX.load("hc_articles_incremental_changed.json"),
                  match=[matchers.query_param_matcher({"start_time": "1764576000"})])
    responses.get(f"{API}/help_center/sections.json", json=FIX.load("hc_sections.json"))
    _macro_responses()

    folded = collect(_sync("1764576000|1764576000"), cursor=None)

    changed = {(d.kind, d.id): d for d in folded.docs}
    assert changed[(DocKind.ARTICLE, "360001004")].body.endswith("- Starter: 14 EUR\n- Pro: 25 EUR")
    # Drafted since: it goes; the articles listing was not whole, so nothing else does.
    assert folded.removed == ((DocKind.ARTICLE, "360001001"),)
    assert folded.complete == (DocKind.MACRO,)
    assert folded.cursor == "1764666000|1764576000"
    _validate(responses.calls)


@responses.activate
def test_once_a_day_the_export_is_read_from_the_start_so_archived_articles_go() -> None:
    last_full = 1764576000
    responses.get(f"{API}/help_center/incremental/articles.json",
                  json=FIX.load("hc_articles_full_later.json"),
                  match=[matchers.query_param_matcher({"start_time": "0"})])
    responses.get(f"{API}/help_center/sections.json", json=FIX.load("hc_sections.json"))
    _macro_responses()

    cursor = KnowledgeCursor(start_time=last_full + FULL_EVERY, full_at=last_full).encode()
    folded = collect(_sync(cursor), cursor=cursor)

    assert DocKind.ARTICLE in folded.complete
    assert [d.id for d in folded.docs if d.kind is DocKind.ARTICLE] == ["360001004"]
    assert folded.cursor == "1764800000|1764800000"


@responses.activate
def test_a_rate_limit_while_syncing_is_raised_without_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kit.refuse_sleep(monkeypatch)
    responses.get(f"{API}/help_center/incremental/articles.json", status=429,
                  headers={"Retry-After": "42"}, json={"error": "TooManyRequests"})

    with pytest.raises(RateLimited) as raised:
        _sync(None)

    assert raised.value.retry_after == 42


def test_a_cursor_that_is_not_ours_is_refused() -> None:
    from integration.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="not a knowledge cursor"):
        KnowledgeCursor.decode("yesterday")

