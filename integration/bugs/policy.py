"""Which tickets are bug-shaped, and when a group of them is due to become a bug report. Pure.

A ticket is bug-shaped when detection read a product failure in it: a bug or outage category
(the matrix's ``bugs.categories``), an error signature, failure language ("doesn't work",
"keeps failing") or a page it failed on. A group is reported when the matrix says so:
as soon as ``enterprise_accounts_at_least`` enterprise accounts are hit, or when
``accounts_at_least`` accounts are hit within ``within_hours``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from integration.bugs.totals import GroupTotals
from integration.matrix.schema import BugPolicy
from integration.models import Signals

__all__ = ["Due", "bug_shape", "report_due", "window_start"]

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


def window_start(policy: BugPolicy, now: datetime) -> datetime:
    """Where the rule's "accounts hit within N hours" window begins."""
    return now - timedelta(hours=policy.within_hours)


def report_due(policy: BugPolicy, totals: GroupTotals) -> Due:
    """Apply the matrix's rule to the group's totals (recent accounts counted from
    ``window_start``)."""
    if not policy.enabled:
        return Due(due=False, reason="bug reports are switched off in the matrix")
    if totals.enterprise_count >= policy.enterprise_accounts_at_least:
        more = totals.enterprise_count - len(totals.enterprise)
        names = ", ".join(totals.enterprise) + (f" and {more} more" if more > 0 else "")
        plural = "s" if totals.enterprise_count > 1 else ""
        return Due(due=True, reason=f"enterprise account{plural} hit: {names}")
    recent = totals.recent_accounts
    if recent >= policy.accounts_at_least:
        return Due(due=True, reason=f"{recent} accounts hit within {policy.within_hours} h "
                                    f"(rule: {policy.accounts_at_least})")
    return Due(due=False, reason=f"{recent} of {policy.accounts_at_least} accounts within "
                                 f"{policy.within_hours} h, no enterprise account yet")
