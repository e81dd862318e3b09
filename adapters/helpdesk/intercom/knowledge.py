"""Intercom knowledge: the Help Center's published articles (Intercom has no macros to sync).

``GET /articles`` lists every article, page by page (``page``, ``per_page``, and
``pages.total_pages`` in the answer); only ``state`` "published" is knowledge, ``body`` is
HTML and ``url`` the public address. Collection names (``GET /help_center/collections``)
become each article's section. Intercom cannot list articles by change, so every sync reads
them whole and the store keeps unchanged ones untouched.
https://developers.intercom.com/docs/references/rest-api/api.intercom.io/articles/listarticles
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from adapters.helpdesk.base import KnowledgePage
from adapters.helpdesk.common import mappings
from adapters.helpdesk.intercom.common import intercom_id, opt_mapping, opt_stripped
from adapters.helpdesk.knowledge import article_text
from integration.answer.types import DocKind, KnowledgeDoc

__all__ = ["IntercomKnowledge", "to_article"]

log = logging.getLogger(__name__)

Call = Callable[..., Mapping[str, Any]]
PAGE_SIZE = 50
MAX_PAGES = 200


def to_article(raw: Mapping[str, Any], collections: Mapping[str, str],
               path: str) -> KnowledgeDoc:
    """One published article as a document."""
    parent = raw.get("parent_id")
    return KnowledgeDoc(
        id=intercom_id(raw.get("id"), f"{path}.id"),
        kind=DocKind.ARTICLE,
        title=str(raw.get("title") or "").strip() or "(untitled)",
        body=article_text(str(raw.get("body") or "")),
        url=opt_stripped(raw.get("url")),
        section=collections.get(str(parent)) if parent is not None else None,
        locale=opt_stripped(raw.get("default_locale")),
    )


class IntercomKnowledge:
    """Reads one workspace's articles through the adapter's ``_call``."""

    def __init__(self, *, call: Call) -> None:
        self._call = call

    def pages(self) -> Iterator[KnowledgePage]:
        """One page of documents per page of articles; the last says the listing was whole."""
        collections = {
            intercom_id(c.get("id"), f"collections[{i}].id"): str(c.get("name") or "").strip()
            for page in self._pages("/help_center/collections")
            for i, c in enumerate(mappings(page.get("data"), "data"))
        }
        pages = list(self._pages("/articles"))
        for number, page in enumerate(pages, start=1):
            docs = tuple(
                to_article(raw, collections, f"data[{i}]")
                for i, raw in enumerate(mappings(page.get("data"), "data"))
                if raw.get("state") == "published"
            )
            last = number == len(pages)
            yield KnowledgePage(docs=docs, cursor=None, complete=(DocKind.ARTICLE,) if last else ())

    def _pages(self, path: str) -> Iterator[Mapping[str, Any]]:
        for number in range(1, MAX_PAGES + 1):
            page = self._call("GET", path, params={"page": number, "per_page": PAGE_SIZE})
            yield page
            total = opt_mapping(page.get("pages"), "pages").get("total_pages")
            if not isinstance(total, int) or number >= total:
                return
        log.warning("intercom: more than %d pages of %s", MAX_PAGES, path)
