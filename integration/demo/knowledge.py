"""The demo workspace's help centre: Lumen's articles and macros (``knowledge.jsonl``).

They cover the demo tickets' simple questions (password resets, seat prices, scheduled
reports, sharing dashboards, …) in the knowledge import format, so the sandbox helpdesk has
knowledge to sync and the answer path has something to answer from.
"""

from __future__ import annotations

from importlib import resources

from integration.answer.types import KnowledgeDoc
from integration.knowledge_file import parse_knowledge

__all__ = ["demo_knowledge"]

_FILE = "knowledge.jsonl"


def demo_knowledge() -> list[KnowledgeDoc]:
    """The demo help centre's documents, as packaged with Escalade."""
    text = resources.files("integration.demo").joinpath(_FILE).read_text(encoding="utf-8")
    return parse_knowledge(text.splitlines(), source=_FILE)
