"""Freshdesk knowledge: published solution articles and shared canned responses.

Freshdesk has no "changed since" listing for either, so every sync reads both whole and the
store keeps what did not change untouched:
- solutions: ``GET /api/v2/solutions/categories`` -> ``/categories/{id}/folders`` ->
  ``/folders/{id}/articles`` (100 a page, ``Link: rel="next"``); only ``status`` 2
  (published) in a folder every visitor can open (``visibility`` 1) is knowledge,
  ``description`` is the HTML body;
  https://developers.freshdesk.com/api/#solutions
- canned responses: ``GET /api/v2/canned_response_folders`` ->
  ``/canned_response_folders/{id}/responses``; a personal folder is one agent's own.
  https://developers.freshdesk.com/api/#canned-responses

Each folder is one request, and they all count against the account's per-minute budget:
when ``X-RateLimit-Remaining`` falls to ``RESERVE`` the sync stops with a ``RateLimited``
(nothing is stored, the next run tries again) so ticket write-backs keep their share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from adapters.helpdesk.base import KnowledgePage
from adapters.helpdesk.common import mappings
from adapters.helpdesk.freshdesk.common import freshdesk_id
from adapters.helpdesk.knowledge import article_text
from integration.answer.types import DocKind, KnowledgeDoc
from integration.errors import FatalError, RateLimited

__all__ = ["PUBLIC_FOLDER", "PUBLISHED", "RESERVE", "FreshdeskKnowledge", "to_article",
           "to_canned_response"]

Get = Callable[[str, Mapping[str, Any] | None], requests.Response]
PUBLISHED = 2
# Folder visibility 1 is "all users"; 2 logged-in users, 3 agents, 4 selected companies: a
# customer must never be answered from an article they could not open.
PUBLIC_FOLDER = 1
# Requests left in the minute's budget below which the sync stops for write-backs' sake.
RESERVE = 20
PAGE_SIZE = 100
MAX_PAGES = 100


def to_article(raw: Mapping[str, Any], *, section: str | None, root: str,
               path: str) -> KnowledgeDoc:
    """One published solution article as a document."""
    article_id = freshdesk_id(raw.get("id"), f"{path}.id")
    html = raw.get("description")
    body = article_text(str(html)) if html else str(raw.get("description_text") or "").strip()
    return KnowledgeDoc(
        id=article_id,
        kind=DocKind.ARTICLE,
        title=str(raw.get("title") or "").strip() or "(untitled)",
        body=body,
        url=f"{root}/support/solutions/articles/{article_id}",
        section=section,
    )


def to_canned_response(raw: Mapping[str, Any], *, section: str | None,
                       path: str) -> KnowledgeDoc | None:
    """One canned response as a (macro) document; None when it has no text."""
    html = raw.get("content_html")
    body = article_text(str(html)) if html else str(raw.get("content") or "").strip()
    if not body:
        return None
    return KnowledgeDoc(
        id=freshdesk_id(raw.get("id"), f"{path}.id"),
        kind=DocKind.MACRO,
        title=str(raw.get("title") or "").strip() or "(untitled)",
        body=body,
        section=section,
    )


class FreshdeskKnowledge:
    """Reads one Freshdesk account's knowledge through the adapter's checked ``get``."""

    def __init__(self, *, get: Get, api_root: str, root: str,
                 remaining: Callable[[], int | None]) -> None:
        self._get = get
        self._api_root = api_root
        self._root = root
        self._remaining = remaining

    def pages(self) -> Iterator[KnowledgePage]:
        """One page per solution folder, then one per canned-response folder; the last page
        says both listings were whole."""
        for category in self._list(f"{self._api_root}/solutions/categories", "categories"):
            category_id = freshdesk_id(category.get("id"), "categories[].id")
            url = f"{self._api_root}/solutions/categories/{category_id}/folders"
            for folder in self._list(url, "folders"):
                if folder.get("visibility", PUBLIC_FOLDER) != PUBLIC_FOLDER:
                    continue
                yield KnowledgePage(docs=tuple(self._folder_articles(category, folder)),
                                    cursor=None)
        canned: list[KnowledgeDoc] = []
        for folder in self._list(f"{self._api_root}/canned_response_folders", "folders"):
            if folder.get("personal"):
                continue
            folder_id = freshdesk_id(folder.get("id"), "canned_response_folders[].id")
            url = f"{self._api_root}/canned_response_folders/{folder_id}/responses"
            for i, raw in enumerate(self._list(url, "responses")):
                doc = to_canned_response(raw, section=_name(folder), path=f"responses[{i}]")
                if doc is not None:
                    canned.append(doc)
        yield KnowledgePage(docs=tuple(canned), cursor=None,
                            complete=(DocKind.ARTICLE, DocKind.MACRO))

    def _folder_articles(self, category: Mapping[str, Any],
                         folder: Mapping[str, Any]) -> Iterator[KnowledgeDoc]:
        folder_id = freshdesk_id(folder.get("id"), "folders[].id")
        section = " / ".join(n for n in (_name(category), _name(folder)) if n) or None
        url = f"{self._api_root}/solutions/folders/{folder_id}/articles"
        for i, raw in enumerate(self._list(url, "articles", paged=True)):
            if raw.get("status") == PUBLISHED:
                yield to_article(raw, section=section, root=self._root, path=f"articles[{i}]")

    def _list(self, url: str, what: str, *, paged: bool = False) -> list[Mapping[str, Any]]:
        """Every item of a JSON-array listing, following ``Link: rel="next"``."""
        params: Mapping[str, Any] | None = {"per_page": PAGE_SIZE, "page": 1} if paged else None
        items: list[Mapping[str, Any]] = []
        for _ in range(MAX_PAGES):
            response = self._get(url, params)
            self._check_budget()
            try:
                data = response.json()
            except ValueError as err:
                raise FatalError(f"freshdesk: {url} did not answer JSON") from err
            items.extend(mappings(data, what))
            following = response.links.get("next", {}).get("url")
            if not following:
                break
            # Follow the page, not the host: behind a proxy Freshdesk's links name its own.
            params = dict(parse_qsl(urlsplit(following).query))
        return items

    def _check_budget(self) -> None:
        left = self._remaining()
        if left is not None and left <= RESERVE:
            raise RateLimited(f"freshdesk: {left} API calls left this minute; the knowledge "
                              "sync stopped to leave them to ticket updates", retry_after=60.0)


def _name(raw: Mapping[str, Any]) -> str | None:
    name = raw.get("name")
    return name.strip() or None if isinstance(name, str) else None
