"""A small, pure Atlassian Document Format builder for Jira descriptions and comments.

ADF rules this respects (https://developer.atlassian.com/cloud/jira/platform/apis/document/
structure/): a ``doc`` holds block nodes; ``text`` nodes are never empty (Jira answers 400
INVALID_INPUT otherwise); list items hold paragraphs; ``codeBlock`` holds unmarked text only;
links are a ``link`` mark with an ``href``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from adapters.connectors.tracker import BugReport, customer_line, fingerprint_marker

__all__ = [
    "blockquote",
    "bullet_list",
    "code_block",
    "description",
    "doc",
    "heading",
    "ordered_list",
    "paragraph",
    "plain_text",
    "text",
    "update_comment",
]

Node = dict[str, Any]


def text(value: str, *, href: str | None = None, strong: bool = False) -> list[Node]:
    """A text node (as a 0- or 1-item list, since empty text is not allowed)."""
    if not value:
        return []
    node: Node = {"type": "text", "text": value}
    marks: list[Node] = []
    if strong:
        marks.append({"type": "strong"})
    if href:
        marks.append({"type": "link", "attrs": {"href": href}})
    if marks:
        node["marks"] = marks
    return [node]


def paragraph(*parts: list[Node]) -> Node:
    """A paragraph of inline nodes."""
    return {"type": "paragraph", "content": [n for part in parts for n in part]}


def heading(value: str, level: int = 3) -> Node:
    """A heading (levels 1-6)."""
    return {"type": "heading", "attrs": {"level": max(1, min(level, 6))}, "content": text(value)}


def _list(kind: str, items: Iterable[list[Node]]) -> Node:
    return {"type": kind, "content": [
        {"type": "listItem", "content": [paragraph(item)]} for item in items if item
    ]}


def bullet_list(items: Iterable[list[Node]]) -> Node:
    """A bullet list; each item is a list of inline nodes."""
    return _list("bulletList", items)


def ordered_list(items: Iterable[list[Node]]) -> Node:
    """A numbered list; each item is a list of inline nodes."""
    node = _list("orderedList", items)
    node["attrs"] = {"order": 1}
    return node


def blockquote(lines: Iterable[str]) -> Node:
    """A quote: one paragraph per line (someone else's words, verbatim)."""
    return {"type": "blockquote", "content": [paragraph(text(line)) for line in lines if line]}


def code_block(value: str) -> Node:
    """A code block of plain text."""
    return {"type": "codeBlock", "attrs": {}, "content": text(value)}


def doc(*blocks: Node | None) -> Node:
    """The document root; empty lists and ``None`` are dropped."""
    kept = [b for b in blocks if b is not None and b.get("content") != []]
    return {"type": "doc", "version": 1, "content": kept or [paragraph(text("-"))]}


def _customer_item(customer: Mapping[str, Any], currency: str) -> list[Node]:
    url = customer.get("ticket_url")
    return text(customer_line(customer, currency), href=str(url) if url else None)


def _link_item(url: str) -> list[Node]:
    return text(url, href=url if url.startswith(("https://", "http://")) else None)


def description(report: BugReport, *, currency: str = "$") -> Node:
    """The issue description: summary, customers, steps, environment, error, frequency, links."""
    total, tickets = report.customer_count, report.ticket_count
    blocks: list[Node | None] = [
        paragraph(text(f"Severity: {report.severity}", strong=True),
                  text(f" · {total} customer{'s' if total != 1 else ''} affected"
                       f" · {tickets} ticket{'s' if tickets != 1 else ''}")),
        paragraph(text(report.summary)) if report.summary.strip() else None,
    ]
    if report.customers:
        more = total - len(report.customers)
        blocks += [heading("Affected customers"),
                   bullet_list(_customer_item(c, currency) for c in report.customers)]
        if more > 0:
            blocks.append(paragraph(text(f"… and {more} more.")))
    if report.steps:
        blocks += [heading("Steps to reproduce (customers' words)"),
                   ordered_list(text(s) for s in report.steps)]
    if report.environment:
        blocks += [heading("Environment"), bullet_list(text(e) for e in report.environment)]
    if report.error_text:
        blocks += [heading("Error"), code_block(report.error_text)]
    if report.pages:
        blocks += [heading("Pages"), bullet_list(_link_item(p) for p in report.pages)]
    if report.frequency:
        blocks += [heading("Frequency"), bullet_list(
            text(f"{day}: {count} ticket{'s' if count != 1 else ''}")
            for day, count in sorted(report.frequency.items()))]
    if report.ticket_links:
        blocks += [heading("Tickets"), bullet_list(_link_item(u) for u in report.ticket_links)]
    blocks.append(paragraph(text(f"Filed by Escalade. {fingerprint_marker(report.fingerprint)}")))
    return doc(*blocks)


def update_comment(
    report: BugReport, fresh: Iterable[Mapping[str, Any]], *, currency: str = "$"
) -> Node:
    """The comment for an existing issue: the customers it does not mention yet, and totals."""
    fresh = list(fresh)
    n = len(fresh)
    blocks: list[Node | None] = [
        paragraph(text(f"Escalade: {n} more customer{'s' if n != 1 else ''} affected",
                       strong=True),
                  text(f" ({report.customer_count} customers, {report.ticket_count} tickets"
                       f" in total; severity {report.severity}).")),
        bullet_list(_customer_item(c, currency) for c in fresh),
    ]
    for customer in fresh:
        steps = [str(s) for s in customer.get("steps") or () if s]
        if steps:
            blocks += [paragraph(text(_own_words(customer))), blockquote(steps)]
    blocks.append(paragraph(text(fingerprint_marker(report.fingerprint))))
    return doc(*blocks)


def _own_words(customer: Mapping[str, Any]) -> str:
    ref = customer.get("ticket_key")
    where = f" (ticket {ref})" if ref else ""
    return f"{customer.get('name') or 'The customer'}, in their own words{where}:"


def plain_text(node: Any) -> str:
    """Every text and link ``href`` in an ADF tree (or a plain string), space-separated."""
    if isinstance(node, str):
        return node
    out: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, list):
            stack.extend(reversed(current))
        elif isinstance(current, Mapping):
            if isinstance(current.get("text"), str):
                out.append(current["text"])
            for mark in current.get("marks") or ():
                href = (mark.get("attrs") or {}).get("href") if isinstance(mark, Mapping) else None
                if href:
                    out.append(str(href))
            stack.append(current.get("content") or [])
    return " ".join(out)
