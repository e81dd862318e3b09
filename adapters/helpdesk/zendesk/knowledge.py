"""Zendesk knowledge: Help Center articles (incremental) and shared macros, as ``KnowledgeDoc``.

Articles come from the incremental export, ``GET /api/v2/help_center/incremental/articles
?start_time=``, which lists every article whose metadata changed after ``start_time``, up to
1,000 a page; ``next_page`` carries a new ``start_time`` and ``end_time`` is where the next
sync resumes. A draft is retired; so is an article restricted to a user segment (agents or
signed-in users only): a customer must never be answered from it. Archived and deleted
articles simply stop being listed, so once a day (``FULL_EVERY``) the export is read from the
start and any stored article it no longer lists is retired.
https://developer.zendesk.com/documentation/help_center/help-center-api/understanding-incremental-article-exports/

Section names come from ``GET /api/v2/help_center/sections``. Macros come whole every sync
from ``GET /api/v2/macros/active`` (no incremental listing exists); a personal macro, or one
that writes no comment, is not knowledge. The macro's id is kept as the document id so a
reply can later apply it (``/api/v2/tickets/{id}/macros/{macro_id}/apply``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from adapters.helpdesk.base import KnowledgePage
from adapters.helpdesk.common import mappings
from adapters.helpdesk.knowledge import article_text
from adapters.helpdesk.zendesk.common import zendesk_id
from integration.answer.types import DocKind, KnowledgeDoc
from integration.errors import ConfigurationError

__all__ = ["FULL_EVERY", "KnowledgeCursor", "ZendeskKnowledge", "to_article", "to_macro"]

log = logging.getLogger(__name__)

GetJson = Callable[[str, Mapping[str, Any] | None], Mapping[str, Any]]
# Seconds between two full reads of the article export (to see archived and deleted ones).
FULL_EVERY = 24 * 3600
MAX_PAGES = 200
_COMMENT_FIELDS = ("comment_value_html", "comment_value")


@dataclass(frozen=True, kw_only=True, slots=True)
class KnowledgeCursor:
    """Where the article export resumes, and when it was last read from the start."""

    start_time: int
    full_at: int

    def encode(self) -> str:
        """The opaque text stored between syncs."""
        return f"{self.start_time}|{self.full_at}"

    @classmethod
    def decode(cls, text: str) -> KnowledgeCursor:
        """Read ``encode``'s text."""
        start, _, full = text.partition("|")
        if not (start.isdigit() and full.isdigit()):
            raise ConfigurationError(f"zendesk: not a knowledge cursor: {text!r}")
        return cls(start_time=int(start), full_at=int(full))


def to_article(raw: Mapping[str, Any], sections: Mapping[str, str], path: str) -> KnowledgeDoc:
    """One Help Center article (published, for everyone) as a document."""
    section_id = raw.get("section_id")
    return KnowledgeDoc(
        id=zendesk_id(raw.get("id"), f"{path}.id"),
        kind=DocKind.ARTICLE,
        title=str(raw.get("title") or "").strip() or "(untitled)",
        body=article_text(str(raw.get("body") or "")),
        url=_text(raw.get("html_url")),
        section=sections.get(str(section_id)) if section_id is not None else None,
        locale=_text(raw.get("locale")),
    )


def is_public(raw: Mapping[str, Any]) -> bool:
    """A published article everyone may read (no draft, no user segment)."""
    return not raw.get("draft") and raw.get("user_segment_id") is None


def to_macro(raw: Mapping[str, Any], path: str) -> KnowledgeDoc | None:
    """A shared macro's comment as a document; None for a macro that writes no comment."""
    body = ""
    for field in _COMMENT_FIELDS:
        for action in mappings(raw.get("actions"), f"{path}.actions"):
            if action.get("field") == field and body == "":
                body = article_text(_comment_value(action.get("value")))
    if not body:
        return None
    # "Billing::Refunds::Policy": Zendesk shows the parts before the last as folders.
    title = str(raw.get("title") or raw.get("raw_title") or "").strip()
    folders, _, name = title.rpartition("::")
    return KnowledgeDoc(
        id=zendesk_id(raw.get("id"), f"{path}.id"),
        kind=DocKind.MACRO,
        title=name.strip() or "(untitled)",
        body=body,
        section=folders.replace("::", " / ").strip() or None,
    )


def is_shared(raw: Mapping[str, Any]) -> bool:
    """An active macro not restricted to one agent (a personal macro is theirs alone)."""
    restriction = raw.get("restriction")
    personal = isinstance(restriction, Mapping) and restriction.get("type") == "User"
    return raw.get("active", True) is not False and not personal


def _comment_value(value: Any) -> str:
    # ``comment_value`` is a string, or ["channel:all", "text"] in older macros.
    if isinstance(value, list):
        return str(value[-1]) if value else ""
    return str(value or "")


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


class ZendeskKnowledge:
    """Reads one Zendesk account's knowledge through the adapter's ``get_json``."""

    def __init__(self, *, get_json: GetJson, api_root: str) -> None:
        self._get_json = get_json
        self._api_root = api_root
        self._sections: dict[str, str] | None = None

    def pages(self, cursor: str | None) -> Iterator[KnowledgePage]:
        """Changed articles since ``cursor`` (all of them once a day), then every macro."""
        state = KnowledgeCursor.decode(cursor) if cursor else None
        full = state is None or state.start_time - state.full_at >= FULL_EVERY
        start = 0 if state is None or full else state.start_time

        def resume_at(end: int) -> str:
            # A full read becomes the new reference; otherwise the last one still is.
            full_at = end if full or state is None else state.full_at
            return KnowledgeCursor(start_time=end, full_at=full_at).encode()

        listed_all = True
        for _ in range(MAX_PAGES):
            page = self._get_json(f"{self._api_root}/help_center/incremental/articles.json",
                                  {"start_time": start})
            end = _end_time(page, start)
            docs, removed = self._articles(page)
            yield KnowledgePage(docs=docs, removed=removed, cursor=resume_at(end))
            if not page.get("next_page") or end <= start:
                break
            start = end
        else:
            listed_all = False
            log.warning("zendesk: the article export has more than %d pages", MAX_PAGES)
        complete = (DocKind.MACRO, DocKind.ARTICLE) if full and listed_all else (DocKind.MACRO,)
        yield KnowledgePage(docs=tuple(self._macros()), complete=complete,
                            cursor=resume_at(max(start, end)))

    def _articles(
        self, page: Mapping[str, Any]
    ) -> tuple[tuple[KnowledgeDoc, ...], tuple[tuple[DocKind, str], ...]]:
        docs, removed = [], []
        for i, raw in enumerate(mappings(page.get("articles"), "articles")):
            if not is_public(raw):
                removed.append((DocKind.ARTICLE, zendesk_id(raw.get("id"), f"articles[{i}].id")))
                continue
            docs.append(to_article(raw, self._section_names(), f"articles[{i}]"))
        return tuple(docs), tuple(removed)

    def _section_names(self) -> Mapping[str, str]:
        if self._sections is None:
            self._sections = {}
            url = f"{self._api_root}/help_center/sections.json"
            for page in self._offset_pages(url, "sections"):
                for i, section in enumerate(mappings(page.get("sections"), "sections")):
                    key = zendesk_id(section.get("id"), f"sections[{i}].id")
                    self._sections[key] = str(section.get("name") or "").strip()
        return self._sections

    def _macros(self) -> Iterator[KnowledgeDoc]:
        url = f"{self._api_root}/macros/active.json"
        for page in self._offset_pages(url, "macros"):
            for i, raw in enumerate(mappings(page.get("macros"), "macros")):
                doc = to_macro(raw, f"macros[{i}]") if is_shared(raw) else None
                if doc is not None:
                    yield doc

    def _offset_pages(self, url: str, what: str) -> Iterator[Mapping[str, Any]]:
        params: dict[str, Any] | None = None
        for _ in range(MAX_PAGES):
            page = self._get_json(url, params)
            yield page
            following = page.get("next_page")
            if not isinstance(following, str) or not following:
                return
            # Follow the page number, not the host: behind a proxy Zendesk's links name its own.
            params = dict(parse_qsl(urlsplit(following).query))
        log.warning("zendesk: more than %d pages of %s", MAX_PAGES, what)


def _end_time(page: Mapping[str, Any], start: int) -> int:
    end = page.get("end_time")
    if isinstance(end, int) and not isinstance(end, bool) and end >= start:
        return end
    return start
