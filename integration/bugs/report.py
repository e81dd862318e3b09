"""A bug report drafted from the tickets of one group — nothing invented.

Every line of the draft is copied from a ticket (a customer's sentence, an error line, a page
URL, the account the CRM gave the ticket) and names the ticket it came from, so an engineer
can follow each claim back to a customer. Severity follows customer impact: enterprise
accounts, ARR and Tier 3 count more than the number of tickets.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integration.bugs.totals import GroupTotals, customer_key, totals_of
from integration.detect.impact import error_keys
from integration.models import Author, Ticket

__all__ = ["BugDraft", "GroupTicket", "draft_report", "readable_error", "severity_of"]

_MAX_STEPS = 8
_MAX_ENV = 6
# A customer's own steps quoted in the comment that adds them to the issue.
_MAX_OWN_STEPS = 4
_STEP = re.compile(
    r"^\s*(?:\d+[.)]|[-*•]|step\s*\d+:?)\s+|\b(?:when i|when we|after (?:i|we)|then|go to|"
    r"navigate to|click(?:ed|ing)?|open(?:ed)?|upload(?:ed)?|select(?:ed)?|run(?:ning)?|"
    r"tried to|try to|export(?:ed|ing)?|import(?:ed|ing)?|save[ds]?)\b",
    re.IGNORECASE,
)
_ENVIRONMENT = re.compile(
    r"\b(?:chrome|firefox|safari|edge|windows(?: \d+)?|macos|mac os|ios|android|linux|ubuntu|"
    r"version \d[\w.]*|v\d+\.\d+[\w.]*|api v\d|sdk \d[\w.]*|node \d+|python \d[\w.]*)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+")
# The error's own words: quoted, or after a colon/dash that follows the code or "error".
_QUOTED = re.compile(r"[\"'“‘]([^\"'“”‘’]{3,80})[\"'”’]")
_AFTER = r"\s*(?:error|exception)?\s*[:\-–—]\s*([^.!?\n]{3,80})"


@dataclass(frozen=True, kw_only=True, slots=True)
class GroupTicket:
    """A ticket of the group with what the store knows of it (tier, link)."""

    ticket: Ticket
    tier: int | None = None
    url: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class BugDraft:
    """The drafted report; each ``*_lines`` entry ends with the ticket it came from."""

    fingerprint: str
    title: str
    summary: str
    steps: tuple[str, ...]
    environment: tuple[str, ...]
    error_text: str | None
    pages: tuple[str, ...]
    customers: tuple[Mapping[str, Any], ...]
    frequency: Mapping[str, int]
    severity: str
    ticket_links: tuple[str, ...]
    # The whole group's counts: ``customers`` and ``ticket_links`` list a sample of a large one.
    customer_total: int = 0
    ticket_total: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Serialize for the tracker connectors and the decision log."""
        return {
            "fingerprint": self.fingerprint, "title": self.title, "summary": self.summary,
            "steps": list(self.steps), "environment": list(self.environment),
            "error_text": self.error_text, "pages": list(self.pages),
            "customers": [dict(c) for c in self.customers], "frequency": dict(self.frequency),
            "severity": self.severity, "ticket_links": list(self.ticket_links),
            "customer_total": self.customer_total, "ticket_total": self.ticket_total,
        }


def _customer_text(ticket: Ticket) -> list[str]:
    return [m.body for m in ticket.messages if m.author is Author.CUSTOMER and m.public]


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.strip().startswith(">"):
            continue  # blank, or quoted earlier mail
        # A numbered or bulleted line is one step, "1. Go to Reports" whole.
        parts = [line] if _LIST_ITEM.match(line) else _SENTENCE.split(line)
        out += [" ".join(p.split()) for p in parts if p.strip()]
    return out


def _ref(item: GroupTicket) -> str:
    return f"#{item.ticket.id}"


def _label(key: str, sentence: str) -> str:
    """An error key as people write it: ``http_500`` -> ``HTTP 500``, exception names as typed."""
    kind, _, value = key.partition(":")
    if key.startswith("http_"):
        return f"HTTP {key[5:]}"
    if kind == "frame":
        return f"in {value.split(':')[-1]}"
    # Codes and exception names are stored lower-case; the customer's spelling reads better.
    found = re.search(re.escape(value).replace("_", "[_-]"), sentence, re.IGNORECASE)
    text = found.group(0) if found else value
    return f"error {text}" if kind in ("code", "errno") else text


def _core(key: str) -> str:
    return key.split(":")[-1].replace("http_", "").replace("_", "-").lower()


def readable_error(key: str, sentence: str | None) -> str:
    """The error as a title says it: ``HTTP 500 'payment provider timeout'``.

    The message is the customer's own: a quoted phrase in the sentence that names the error,
    or what follows the code (or "error") after a colon or a dash; nothing is made up.
    """
    sentence = sentence or ""
    label = _label(key, sentence)
    core = re.escape(_core(key)).replace("\\-", "[-_]")
    message = None
    for pattern in (_QUOTED, re.compile(rf"\b{core}\b{_AFTER}", re.IGNORECASE),
                    re.compile(rf"\berror{_AFTER}", re.IGNORECASE)):
        found = pattern.search(sentence)
        if found:
            message = found.group(1).strip(" ,;:'\"")
            break
    if not message or _core(key) in message.lower().replace("_", "-"):
        return label
    return f"{label} '{message}'"


def _title(first: Ticket, key: str | None, error_text: str | None, accounts: int) -> str:
    """``<first subject> with <readable error> (<n> accounts)``: what fails, and for how many."""
    subject = first.subject.strip().rstrip(".!?") or "Bug reported by customers"
    title = subject
    # A subject that already names the error ("Error 500 at checkout") says enough.
    if key is not None and _core(key) not in subject.lower():
        title = f"{subject} with {readable_error(key, (error_text or '').rsplit(' (#', 1)[0])}"
    return f"{title} ({accounts} account{'s' if accounts != 1 else ''})"


def _customers(
    items: Sequence[GroupTicket], own_steps: Mapping[str, list[str]]
) -> tuple[dict[str, Any], ...]:
    seen: dict[str, dict[str, Any]] = {}
    for item in items:
        t = item.ticket
        account = t.account
        key = customer_key(t)
        if key in seen:
            seen[key]["tickets"].append(_ref(item))
            continue
        seen[key] = {
            "name": (account.name or account.id) if account else (t.requester.name or
                                                                  t.requester.email or "?"),
            "plan": account.plan if account else None,
            "arr": account.arr if account else None,
            "tier": item.tier,
            "ticket_key": t.key,
            "ticket_url": item.url,
            "tickets": [_ref(item)],
            # Their own words, so a comment adding them quotes their steps, not the group's.
            "steps": own_steps.get(t.key, [])[:_MAX_OWN_STEPS],
        }
    return tuple(seen.values())


def severity_of(customers: Sequence[Mapping[str, Any]]) -> str:
    """critical / major / minor from who is hit, not from how loud they are."""
    return _severity(
        enterprise=any((c.get("plan") or "") == "enterprise" for c in customers),
        tier_3=any(c.get("tier") == 3 for c in customers),
        arr=sum(float(c.get("arr") or 0) for c in customers),
        accounts=len(customers),
    )


def _severity(*, enterprise: bool, tier_3: bool, arr: float, accounts: int) -> str:
    if enterprise or tier_3 or arr >= 100_000:
        return "critical"
    if accounts >= 3 or arr > 0:
        return "major"
    return "minor"


def _quotes(ordered: Sequence[GroupTicket]) -> tuple[
        Counter[str], list[str], dict[str, list[str]], list[str], str | None]:
    """Error keys, steps (and each customer's own), environment lines and the error line,
    each quoted from the customers' messages with the ticket it came from."""
    keys: Counter[str] = Counter()
    steps: list[str] = []
    own_steps: dict[str, list[str]] = {}
    environment: list[str] = []
    error_text: str | None = None
    for item in ordered:
        texts = [item.ticket.subject, *_customer_text(item.ticket)]
        found = error_keys(texts)
        keys.update(found)
        for text in _customer_text(item.ticket):
            for sentence in _sentences(text):
                if error_text is None and found and any(_mentions(sentence, k) for k in found):
                    error_text = f"{sentence} ({_ref(item)})"
                if _STEP.search(sentence):
                    own_steps.setdefault(item.ticket.key, []).append(sentence)
                    line = f"{sentence} ({_ref(item)})"
                    if len(steps) < _MAX_STEPS and sentence not in " ".join(steps):
                        steps.append(line)
                if len(environment) < _MAX_ENV and _ENVIRONMENT.search(sentence):
                    environment.append(f"{sentence} ({_ref(item)})")
    return keys, steps, own_steps, environment, error_text


def draft_report(items: Sequence[GroupTicket], *, fingerprint: str,
                 totals: GroupTotals | None = None,
                 links: Sequence[GroupTicket] | None = None) -> BugDraft:
    """Draft the report for one group from its tickets.

    ``items`` may be a sample of a large group (its first and newest tickets): ``totals``
    then carries the whole group's counts for the title, summary, frequency and severity, and
    ``links`` the tickets to link on the issue this time (default: every item).
    """
    if not items:
        raise ValueError("a bug report needs at least one ticket")
    ordered = sorted(items, key=lambda i: i.ticket.created_at)
    if totals is None:
        totals = totals_of((i.ticket, i.tier) for i in ordered)
    keys, steps, own_steps, environment, error_text = _quotes(ordered)
    customers = _customers(ordered, own_steps)
    first = ordered[0].ticket
    top_key = keys.most_common(1)[0][0] if keys else None
    count = max(totals.accounts, len(customers))
    tickets = max(totals.tickets, len(ordered))
    title = _title(first, top_key, error_text, count)
    since = min(totals.first_at or first.created_at, first.created_at)
    summary = (
        f"{tickets} ticket{'s' if tickets != 1 else ''} from {count} "
        f"customer{'s' if count != 1 else ''} since {since:%Y-%m-%d %H:%M} UTC"
        + (f", error {readable_error(top_key, (error_text or '').rsplit(' (#', 1)[0])}"
           if top_key else "") + "."
    )
    return BugDraft(
        fingerprint=fingerprint,
        title=title[:250],
        summary=summary,
        steps=tuple(steps),
        environment=tuple(environment),
        error_text=error_text,
        pages=tuple(dict.fromkeys(f"{i.ticket.page_url} ({_ref(i)})" for i in ordered
                                  if i.ticket.page_url)),
        customers=customers,
        frequency=dict(totals.per_day),
        severity=_severity(enterprise=totals.enterprise_count > 0, tier_3=totals.tier_3,
                           arr=totals.arr, accounts=count),
        ticket_links=tuple(i.url or i.ticket.key for i in
                           sorted(links if links is not None else ordered,
                                  key=lambda i: i.ticket.created_at)),
        customer_total=count,
        ticket_total=tickets,
    )


def _mentions(sentence: str, key: str) -> bool:
    # Error keys are normalized ("http_500", "NullPointerException"); match their core token.
    core = key.split(":")[-1].replace("http_", "").lower()
    return core in sentence.lower()
