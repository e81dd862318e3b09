"""Product activity as the decision reads it: the ``Activity`` record and its login trend.

Pure: no I/O. Where the record comes from (an HTTP endpoint or a CSV file per tenant) is
``integration.activity``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = ["Activity", "declining", "engagement_trend"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Activity:
    """What the product knows of an account: usage, the page they were on, plan and billing."""

    logins_30d: int | None = None
    logins_prev_30d: int | None = None
    features_used: tuple[str, ...] = ()
    last_page: str | None = None
    plan: str | None = None
    mrr: float | None = None
    renewal_date: date | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize for alert payloads and the handoff note."""
        return {
            "logins_30d": self.logins_30d,
            "logins_prev_30d": self.logins_prev_30d,
            "features_used": list(self.features_used),
            "last_page": self.last_page,
            "plan": self.plan,
            "mrr": self.mrr,
            "renewal_date": self.renewal_date.isoformat() if self.renewal_date else None,
        }


def engagement_trend(activity: Activity | None) -> float | None:
    """Logins of the last 30 days over the 30 before (None when either is unknown or 0 before)."""
    if activity is None or activity.logins_30d is None or not activity.logins_prev_30d:
        return None
    return activity.logins_30d / activity.logins_prev_30d


def declining(activity: Activity | None, *, drop: float = 0.3, min_base: int = 5) -> bool:
    """True when logins fell by at least ``drop`` from a base of at least ``min_base``."""
    trend = engagement_trend(activity)
    if trend is None or activity is None or (activity.logins_prev_30d or 0) < min_base:
        return False
    # A tolerance so that 7 after 10 counts as the 30 % drop it is.
    return trend <= 1.0 - drop + 1e-9
