"""The knowledge import file: one JSON object a line, all read or none.

Each line is ``{"id", "kind": "article"|"macro", "title", "body", "url"?, "section"?,
"locale"?}`` (``KnowledgeDoc.from_dict``). Blank lines are skipped; a line that is not JSON,
lacks a field or repeats an id of the same kind raises a ``ValidationError`` naming the
file, the line and the field, so nothing of a bad file is ever used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from integration.answer.types import DocKind, KnowledgeDoc
from integration.errors import ValidationError

__all__ = ["parse_knowledge"]


def parse_knowledge(lines: Iterable[str], *, source: str) -> list[KnowledgeDoc]:
    """Every document of the file, in file order; the first bad line raises."""
    docs: list[KnowledgeDoc] = []
    seen: dict[tuple[DocKind, str], int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValidationError("line", f"{source}: not valid JSON: {err.msg}",
                                  line=number) from err
        try:
            doc = KnowledgeDoc.from_dict(data)
        except ValidationError as err:
            raise ValidationError(err.field, f"{source}: {err.message}", line=number) from err
        first = seen.setdefault((doc.kind, doc.id), number)
        if first != number:
            raise ValidationError("id", f"{source}: {doc.id!r} is already the id of the "
                                  f"{doc.kind.value} on line {first}", line=number)
        docs.append(doc)
    return docs
