"""The knowledge document's import form: read back what was written, name the wrong field."""

from __future__ import annotations

import pytest

from integration.answer import DocKind, KnowledgeDoc
from integration.errors import ValidationError


def test_a_document_reads_back_what_it_wrote() -> None:
    doc = KnowledgeDoc(id="a-1", kind=DocKind.MACRO, title="Reset", body="Hi {{name}}",
                       url="https://help.example.com/a-1", section="Login")
    assert KnowledgeDoc.from_dict(doc.to_dict()) == doc
    assert "locale" not in doc.to_dict()


def test_a_numeric_id_is_read_as_text() -> None:
    doc = KnowledgeDoc.from_dict({"id": 42, "kind": "article", "title": "T", "body": "B"})
    assert doc.id == "42"


@pytest.mark.parametrize(("data", "field"), [
    ({"kind": "article", "title": "T", "body": "B"}, "id"),
    ({"id": "1", "kind": "faq", "title": "T", "body": "B"}, "kind"),
    ({"id": "1", "kind": "article", "title": " ", "body": "B"}, "title"),
    ({"id": "1", "kind": "article", "title": "T", "body": "B", "url": 3}, "url"),
])
def test_a_wrong_document_names_its_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        KnowledgeDoc.from_dict(data)
    assert caught.value.field == field
