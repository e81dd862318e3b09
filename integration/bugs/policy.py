"""Which tickets are bug-shaped, and when a group of them is due to become a bug report. Pure.

A ticket is bug-shaped when detection read a product failure in it: a bug or outage category
(the matrix's ``bugs.categories``), an error signature, failure language ("doesn't work",
"keeps failing") or a page it failed on. A group is reported when the matrix says so:
as soon as ``enterprise_accounts_at_least`` enterprise accounts are hit, or when
``accounts_at_least`` accounts are hit within ``within_hours``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from integration.matrix.schema import BugPolicy
from integration.models import Signals, Ticket

__all__ = ["Due", "bug_shape", "report_due"]

# Triggers of the default matrix that name a failure the customer hit.
_FAILURE_TRIGGERS = frozenset({"blocker", "critical_bug", "outage"})


def bug_shape(policy: BugPolicy, signals: Signals) -> tuple[str, ...]:
    """Why the ticket looks like a product bug (empty: it does not)."""
    if not policy.enabled:
        return ()
    reasons: list[str] = []
    if signals.category in policy.categories:
        reasons.append(f"category {signals.category.value}")
    if signals.error_keys:
        reasons.append("error " + ", ".join(signals.error_keys[:3]))
    failures = [h for h in signals.triggers if h.trigger in _FAILURE_TRIGGERS]
    if failures and (reasons or signals.page_hint):
        # A failure found by meaning has no keyword: name its trigger instead.
        reasons.append(f'failure "{failures[0].match or failures[0].trigger}"')
    if reasons and signals.page_hint:
        reasons.append(f"page {signals.page_hint}")
    # Failure words alone ("can't find the button") are a how-to more often than a bug.
    return tuple(reasons) if (signals.category in policy.categories or signals.error_keys) else ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Due:
    """Whether the group is reported now, and the sentence that says why (or why not yet)."""

    due: bool
    reason: str


def _accounts(tickets: Sequence[Ticket]) -> dict[str, Ticket]:
    out: dict[str, Ticket] = {}
    for t in tickets:
        key = t.account.id if t.account is not None else f"requester:{t.requester.id}"
        out.setdefault(key, t)
    return out


def report_due(policy: BugPolicy, tickets: Sequence[Ticket], *, now: datetime) -> Due:
    """Apply the matrix's rule to the group's tickets."""
    if not policy.enabled:
        return Due(due=False, reason="bug reports are switched off in the matrix")
    accounts = _accounts(tickets)
    enterprise = sorted(
        (t.account.name or t.account.id) for t in accounts.values()
        if t.account is not None and (t.account.plan or "") == "enterprise"
    )
    if len(enterprise) >= policy.enterprise_accounts_at_least:
        return Due(due=True, reason=f"enterprise account{'s' if len(enterprise) > 1 else ''} "
                                    f"hit: {', '.join(enterprise)}")
    since = now - timedelta(hours=policy.within_hours)
    recent = _accounts([t for t in tickets if t.created_at >= since])
    if len(recent) >= policy.accounts_at_least:
        return Due(due=True, reason=f"{len(recent)} accounts hit within {policy.within_hours} h "
                                    f"(rule: {policy.accounts_at_least})")
    return Due(due=False, reason=f"{len(recent)} of {policy.accounts_at_least} accounts within "
                                 f"{policy.within_hours} h, no enterprise account yet")
