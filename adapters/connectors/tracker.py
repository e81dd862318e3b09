"""What the bug trackers (Jira, Linear) share: the report Escalade files and the result.

A ``BugReport`` is built elsewhere (``integration/bugs``) from grouped tickets; every line of
it is traceable to a ticket. A ``Tracker`` files it once per underlying problem: it first looks
for an open issue carrying the report's fingerprint (or, failing that, an open Escalade issue
with a near-identical title) and comments there with the customers it has not yet mentioned,
so an outbox retry or a second report about the same group never files twice.

The pure helpers here (fingerprint marker, title similarity, "which customers are new",
payload round-trip) are used by both trackers and import no vendor library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from adapters.helpdesk.base import ApplyResult, ConnectionCheck
from integration.errors import ConfigurationError, ValidationError
from integration.models import ActionKind

__all__ = [
    "deliver_reports",
    "BUG_REPORT_KIND",
    "SEVERITIES",
    "BugReport",
    "TicketLink",
    "Tracker",
    "TrackerIssue",
    "customer_line",
    "fingerprint_marker",
    "new_customers",
    "report_from_actions",
    "retitle",
    "setting_number",
    "ticket_links",
    "title_similarity",
    "title_words",
]

SEVERITIES = ("critical", "major", "minor")
# The ALERT action payload kind that asks a tracker connector to file a report.
BUG_REPORT_KIND = "bug_report"
_FINGERPRINT = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
_WORD = re.compile(r"[a-z0-9]+")
# How Escalade's titles end; a title without it was written by a person and is left alone.
_OUR_TITLE = re.compile(r"\(\d+ (?:accounts?|customers?)\)\s*$")


@dataclass(frozen=True, kw_only=True, slots=True)
class BugReport:
    """What Escalade files: one underlying problem, with the customers and tickets behind it."""

    fingerprint: str
    title: str
    summary: str
    steps: tuple[str, ...] = ()
    environment: tuple[str, ...] = ()
    error_text: str | None = None
    pages: tuple[str, ...] = ()
    customers: tuple[Mapping[str, Any], ...] = ()
    frequency: Mapping[str, int] = field(default_factory=dict)
    severity: str = "minor"
    ticket_links: tuple[str, ...] = ()
    # The whole group's counts, when ``customers`` and ``ticket_links`` are a sample of it.
    customer_total: int = 0
    ticket_total: int = 0

    def __post_init__(self) -> None:
        # The fingerprint becomes a Jira label (no spaces) and a Linear search term.
        if not _FINGERPRINT.match(self.fingerprint):
            raise ValidationError(
                "fingerprint", f"expected 3-64 of [a-z0-9._-], got {self.fingerprint!r}"
            )
        if not self.title.strip():
            raise ValidationError("title", "must not be empty")
        if self.severity not in SEVERITIES:
            raise ValidationError(
                "severity", f"expected one of {SEVERITIES}, got {self.severity!r}"
            )

    @property
    def ticket_count(self) -> int:
        """How many tickets the report stands for (the group's total, else what it lists)."""
        keyed = {str(c.get("ticket_key")) for c in self.customers if c.get("ticket_key")}
        return max(self.ticket_total, len(self.ticket_links), len(keyed))

    @property
    def customer_count(self) -> int:
        """How many customers the report stands for (the group's total, else those listed)."""
        return max(self.customer_total, len(self.customers))

    def to_dict(self) -> dict[str, Any]:
        """Serialize for an outbox payload."""
        return {
            "fingerprint": self.fingerprint, "title": self.title, "summary": self.summary,
            "steps": list(self.steps), "environment": list(self.environment),
            "error_text": self.error_text, "pages": list(self.pages),
            "customers": [dict(c) for c in self.customers],
            "frequency": dict(self.frequency), "severity": self.severity,
            "ticket_links": list(self.ticket_links),
            "customer_total": self.customer_total, "ticket_total": self.ticket_total,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BugReport:
        """Rebuild from ``to_dict``; ``ValidationError`` names a missing or bad field."""
        for name in ("fingerprint", "title"):
            if not isinstance(data.get(name), str):
                raise ValidationError(name, "expected a string")
        customers = data.get("customers") or ()
        if not all(isinstance(c, Mapping) for c in customers):
            raise ValidationError("customers", "expected a list of objects")
        frequency = data.get("frequency") or {}
        if not isinstance(frequency, Mapping):
            raise ValidationError("frequency", "expected an object of day -> count")
        error_text = data.get("error_text")
        return cls(
            fingerprint=data["fingerprint"],
            title=data["title"],
            summary=str(data.get("summary") or ""),
            steps=_strings(data, "steps"),
            environment=_strings(data, "environment"),
            error_text=str(error_text) if error_text else None,
            pages=_strings(data, "pages"),
            customers=tuple(dict(c) for c in customers),
            frequency={str(k): int(v) for k, v in frequency.items()},
            severity=str(data.get("severity") or "minor"),
            ticket_links=_strings(data, "ticket_links"),
            customer_total=_count(data, "customer_total"),
            ticket_total=_count(data, "ticket_total"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class TrackerIssue:
    """The tracker issue a report landed on; ``created`` is False when an open one was reused."""

    key: str
    url: str
    created: bool
    status: str | None = None
    new_customers: int = 0


@runtime_checkable
class Tracker(Protocol):
    """A bug tracker Escalade files reports in."""

    def file_or_update(self, report: BugReport) -> TrackerIssue:
        """File ``report``, or comment on the open issue that already tracks it."""
        ...

    def test_connection(self) -> ConnectionCheck:
        """Check the credentials with one cheap call; ``message`` says who answered."""
        ...


def _strings(data: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name) or ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(name, "expected a list of strings")
    return tuple(str(item) for item in value)


def _count(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name) or 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(name, "expected a whole number >= 0")
    return value


def setting_number(settings: Mapping[str, Any], key: str, default: float, *, who: str) -> float:
    """A non-negative number setting, or ``ConfigurationError`` naming it."""
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"{who} setting {key!r} must be a number >= 0, got {value!r}")
    return float(value)


def fingerprint_marker(fingerprint: str) -> str:
    """The line that tags a description as Escalade's report for ``fingerprint``."""
    return f"Escalade fingerprint: {fingerprint}"


def title_words(title: str) -> frozenset[str]:
    """Lower-case words of a title, the basis of the similar-title fallback."""
    return frozenset(_WORD.findall(title.lower()))


def title_similarity(a: str, b: str) -> float:
    """Jaccard similarity of two titles' word sets (0..1)."""
    left, right = title_words(a), title_words(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def customer_line(customer: Mapping[str, Any], currency: str = "$") -> str:
    """One customer as text: name (plan, ARR, tier) and the ticket key."""
    name = str(customer.get("name") or "Unknown customer")
    facts = []
    if customer.get("plan"):
        facts.append(str(customer["plan"]))
    arr = customer.get("arr")
    if isinstance(arr, int | float) and not isinstance(arr, bool):
        facts.append(f"ARR {currency}{arr:,.0f}")
    if customer.get("tier") not in (None, ""):
        facts.append(f"tier {customer['tier']}")
    text = f"{name} ({', '.join(facts)})" if facts else name
    if customer.get("ticket_key"):
        text += f", ticket {customer['ticket_key']}"
    return text


def retitle(current: str | None, wanted: str) -> bool:
    """Whether to rename an issue to ``wanted``: its title is Escalade's and out of date.

    The count in the title grows as customers join; a title someone edited by hand (no
    "(N accounts)" at the end) is theirs and stays.
    """
    current = " ".join((current or "").split())
    return bool(current) and current != " ".join(wanted.split()) and bool(
        _OUR_TITLE.search(current))


@dataclass(frozen=True, kw_only=True, slots=True)
class TicketLink:
    """A helpdesk ticket to link on the issue: its page, and what to call it there."""

    url: str
    title: str
    summary: str | None = None

    @property
    def page(self) -> str:
        """The URL without its query (a sign-in token there changes; the page does not)."""
        return self.url.split("?", 1)[0]


def ticket_links(report: BugReport) -> tuple[TicketLink, ...]:
    """Every ticket of the report with a web address, named by ticket and customer."""
    by_url = {str(c["ticket_url"]): c for c in report.customers if c.get("ticket_url")}
    links: dict[str, TicketLink] = {}
    for url in (*report.ticket_links, *by_url):
        if not url.startswith(("https://", "http://")) or url in links:
            continue
        customer = by_url.get(url)
        ref = str(customer.get("ticket_key") or "") if customer else ""
        title = f"Ticket {ref}".strip() if ref else "Helpdesk ticket"
        links[url] = TicketLink(url=url, title=title[:255],
                                summary=str(customer.get("name")) if customer else None)
    return tuple(links.values())


def new_customers(report: BugReport, existing_text: str) -> tuple[Mapping[str, Any], ...]:
    """Customers whose ticket the existing issue text does not mention yet."""
    fresh = []
    for customer in report.customers:
        refs = [str(customer[k]) for k in ("ticket_url", "ticket_key") if customer.get(k)]
        if not refs or not any(ref in existing_text for ref in refs):
            fresh.append(customer)
    return tuple(fresh)


def deliver_reports(tracker: Tracker, actions: Iterable[Any]) -> ApplyResult:
    """File each ``bug_report`` ALERT action's report; the last issue is the reference.

    Always effectively once: filing looks up the open issue by fingerprint first, so a retry
    after a timeout (``uncertain``) comments on what the first attempt created.
    """
    issues = [tracker.file_or_update(r) for r in report_from_actions(actions)]
    last = issues[-1] if issues else None
    return ApplyResult(
        applied=(ActionKind.ALERT,) if issues else (),
        external_ref=last.key if last else None,
        detail={"issues": [{"key": i.key, "url": i.url, "created": i.created} for i in issues]},
    )


def report_from_actions(actions: Iterable[Any]) -> list[BugReport]:
    """The reports carried by ALERT actions whose payload kind is ``bug_report``."""
    reports = []
    for action in actions:
        payload = action.payload
        if payload.get("kind") != BUG_REPORT_KIND or not isinstance(payload.get("report"), Mapping):
            raise ValidationError("payload", f"expected kind {BUG_REPORT_KIND!r} with a report")
        reports.append(BugReport.from_dict(payload["report"]))
    return reports
