"""The values the answer path passes around: documents in, an answer or silence out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from integration.errors import ValidationError

__all__ = ["Answer", "DocKind", "KnowledgeDoc", "Suggestion"]


class DocKind(StrEnum):
    """A help-centre article, or an agent macro / canned response."""

    ARTICLE = "article"
    MACRO = "macro"


@dataclass(frozen=True, kw_only=True, slots=True)
class KnowledgeDoc:
    """One article or macro of a team's knowledge, as plain text (adapters strip the HTML).

    A macro's body may hold the helpdesk's placeholders (``{{ticket.requester.first_name}}``);
    they are rendered when the reply is written, not here.
    """

    id: str
    kind: DocKind
    title: str
    body: str
    url: str | None = None
    section: str | None = None
    locale: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The import-file form, leaving out the optional keys that are not set."""
        out: dict[str, Any] = {"id": self.id, "kind": self.kind.value, "title": self.title,
                               "body": self.body}
        for key in ("url", "section", "locale"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: Any) -> KnowledgeDoc:
        """Read the import-file form; a ``ValidationError`` names the field that is wrong."""
        if not isinstance(data, Mapping):
            raise ValidationError("document", "expected an object")
        text: dict[str, str] = {}
        for key in ("id", "title", "body"):
            value = data.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and key == "id":
                value = str(value)
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(key, "is required and must be a non-empty string")
            text[key] = value
        kind = data.get("kind")
        try:
            doc_kind = DocKind(str(kind))
        except ValueError as err:
            raise ValidationError("kind", f"{kind!r} is not one of: article, macro") from err
        extra: dict[str, str | None] = {}
        for key in ("url", "section", "locale"):
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                raise ValidationError(key, "expected a string")
            extra[key] = value
        return cls(id=text["id"], kind=doc_kind, title=text["title"], body=text["body"],
                   url=extra["url"], section=extra["section"], locale=extra["locale"])


@dataclass(frozen=True, kw_only=True, slots=True)
class Suggestion:
    """A document an agent may want: what it is, how sure we are, the passage that matched."""

    doc_id: str
    kind: DocKind
    title: str
    url: str | None
    confidence: float
    excerpt: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Answer:
    """What the answer path concluded for one ticket.

    ``doc`` is None when Escalade stays silent; ``why`` says in the user's words why it answered
    or why not ("the article does not say what the limit is", "asks us to change the plan").
    ``reply`` is the customer-facing text (empty when silent); ``suggestions`` are the best
    candidates, shown to the agent either way.
    """

    doc: KnowledgeDoc | None
    confidence: float
    reply: str
    why: str
    suggestions: tuple[Suggestion, ...] = ()
