"""An agent sets the tier by hand: the sidebar's form, read and handed to the decision writer.

``validate_override`` reads the form (every bad field named at once); ``try_override`` hands a
valid request to ``integration.decisions.record_override``, which writes, in the caller's
transaction, the ``tier_overrides`` row, a decision citing the rule ``agent_override``, the
ticket row's new tier, priority and SLA clock, and the outbox rows that write the tier back to
the helpdesk. Nothing is sent from here: write-backs go only through the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from integration import store
from integration.context import connected_targets
from integration.decisions import OverrideResult, record_override
from integration.errors import ValidationError
from integration.models import Tier

__all__ = [
    "MAX_REASON",
    "OverrideRequest",
    "try_override",
    "validate_override",
]

MAX_REASON = 2000


@dataclass(frozen=True, kw_only=True, slots=True)
class OverrideRequest:
    """A valid override: the tier the agent wants and why."""

    tier: Tier
    reason: str


def validate_override(
    form: Mapping[str, Any], *, current_tier: int | None
) -> tuple[OverrideRequest | None, dict[str, str]]:
    """The request, or the errors by field (``tier``, ``reason``) to show next to each."""
    errors: dict[str, str] = {}
    raw_tier = str(form.get("tier") or "").strip()
    tier: Tier | None = None
    if not raw_tier:
        errors["tier"] = "Choose the tier this ticket should have."
    else:
        try:
            tier = Tier(int(raw_tier))
        except ValueError:
            errors["tier"] = "The tier must be 1, 2 or 3."
    if tier is not None and current_tier is not None and int(tier) == current_tier:
        errors["tier"] = f"The ticket is already tier {current_tier}."
    reason = " ".join(str(form.get("reason") or "").split())
    if not reason:
        errors["reason"] = ("Say why the tier is wrong: it is kept with the ticket for whoever "
                            "tunes the rules.")
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"Keep the reason under {MAX_REASON} characters."
    if errors or tier is None:
        return None, errors
    return OverrideRequest(tier=tier, reason=reason), {}


def try_override(
    s: Session,
    values: Mapping[str, Any],
    *,
    runtime: Any,
    tenant: store.TenantRow,
    ticket: store.TicketRow,
    agent: str | None,
    now: datetime,
) -> tuple[OverrideResult | None, dict[str, str]]:
    """Validate and apply an override from a form; on a refusal nothing stays in ``s``."""
    parsed, errors = validate_override(values, current_tier=ticket.tier)
    if parsed is None:
        return None, errors
    try:
        return record_override(
            s, tenant=tenant, ticket=ticket, tier=parsed.tier, reason=parsed.reason,
            agent=agent, matrix=runtime.matrix_for(tenant), now=now,
            connected=connected_targets(tenant),
        ), {}
    except ValidationError as err:
        # Whatever was flushed before the refusal must not be committed.
        s.rollback()
        return None, {err.field: err.message}
