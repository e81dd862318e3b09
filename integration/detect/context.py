"""Context around the text: the page the customer wrote from and how often they came back."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from urllib.parse import urlsplit

from integration.models import Author, Evidence, Ticket

__all__ = ["page_hint", "persistent_follow_ups", "repeat_contacts", "same_requester"]

# Checked in order: a path like /settings/billing/admin is about billing first.
_PAGE_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("billing", re.compile(r"billing|invoice|plan|subscription|payment|pricing")),
    ("account_access", re.compile(r"login|log-in|signin|sign-in|sso|saml|password|2fa|mfa")),
    ("onboarding", re.compile(r"onboarding|setup|set-up|getting-started|get-started|welcome")),
    ("security", re.compile(r"security|admin|audit")),
)
_AGENT_FIX = re.compile(
    r"\b(fixed|resolved|deployed a fix|fix (is|has been) (live|deployed|released)|"
    r"should (now )?work|works now|working again|restored)\b",
    re.IGNORECASE,
)
_FOLLOW_UP_MIN_MESSAGES = 3
_FOLLOW_UP_MIN_DAYS = 2


def page_hint(url: str | None) -> str | None:
    """Map the page path (and SPA fragment) to billing, account_access, onboarding or security."""
    if not url:
        return None
    parts = urlsplit(url if "//" in url else "//" + url)
    where = f"{parts.path}#{parts.fragment}".lower()
    for hint, pattern in _PAGE_HINTS:
        if pattern.search(where):
            return hint
    return None


def same_requester(a: Ticket, b: Ticket) -> bool:
    """Same person (id or e-mail) or the same account."""
    if a.requester.id and a.requester.id == b.requester.id:
        return True
    ea, eb = a.requester.email, b.requester.email
    if ea and eb and ea.strip().lower() == eb.strip().lower():
        return True
    return a.account is not None and b.account is not None and a.account.id == b.account.id


def repeat_contacts(
    ticket: Ticket,
    history: Sequence[Ticket],
    *,
    window_days: int,
    same_issue: Callable[[Ticket], bool],
) -> tuple[int, tuple[Evidence, ...]]:
    """This ticket plus earlier unresolved contacts by the same requester about the same issue.

    An earlier ticket counts when it is still open, or was created within the window before
    this one (a "solved" ticket the customer comes back about is not really resolved).
    """
    window = timedelta(days=window_days)
    earlier: list[Ticket] = []
    for other in history:
        if other.tenant != ticket.tenant or other.key == ticket.key:
            continue
        if other.created_at > ticket.created_at or not same_requester(ticket, other):
            continue
        recent = ticket.created_at - other.created_at <= window
        if not (other.status.is_open or recent):
            continue
        if same_issue(other):
            earlier.append(other)
    if not earlier:
        return 1, ()
    ids = ", ".join(f"#{t.id}" for t in sorted(earlier, key=lambda t: t.created_at))
    count = len(earlier) + 1
    return count, (
        Evidence(kind="repeat_contact", text=f"contact {count} on the same issue after {ids}"),
    )


def persistent_follow_ups(ticket: Ticket) -> tuple[int, Evidence | None]:
    """Customer messages on this ticket, and evidence when they span days without a fix."""
    customer = [m for m in ticket.customer_messages if m.public]
    count = len(customer)
    if count < _FOLLOW_UP_MIN_MESSAGES:
        return count, None
    first, last = customer[0].created_at, customer[-1].created_at
    days = (last.date() - first.date()).days
    if days < _FOLLOW_UP_MIN_DAYS:
        return count, None
    fixed = any(
        m.author is Author.AGENT and m.created_at >= last and _AGENT_FIX.search(m.body)
        for m in ticket.messages
    )
    if fixed:
        return count, None
    return count, Evidence(
        kind="repeat_contact",
        text=f"{count} customer messages over {days} days without a fix",
    )
