"""When Escalade must not answer, whatever the knowledge says: the reasons to stay silent.

Two parts. ``refusal`` reads the customer's words alone: a request for an action on the
account (refund, trial extension, plan change, cancellation, data deletion, seats...) or a
report that something failed is a person's work. ``gate`` adds what triage decided: only a
Tier-1 ticket from a calm customer with nothing urgent, whose account is not at risk, may be
answered. Each returns the reason to stay silent, in the agent's words, or None.
"""

from __future__ import annotations

import re

from integration.models import Account, Signals, Tier

__all__ = ["AT_RISK_HEALTH", "UPSET_BELOW", "URGENT_TRIGGERS", "gate", "refusal"]

# Below this health an account is at risk: a person answers it, even a simple question.
AT_RISK_HEALTH = 0.4
# The detector's sentiment below which a customer reads as upset.
UPSET_BELOW = -0.3
# Detector triggers that mean something went wrong or is at stake: never an automatic answer.
URGENT_TRIGGERS = frozenset({
    "churn", "refund", "legal", "outage", "security", "data_loss", "production_blocked",
    "reset_failed",
})
_AT_RISK_STAGES = frozenset({"at_risk", "at-risk", "churning", "churn_risk", "cancelling"})

# What the customer asks us to do to the account, as opposed to asking how it works.
_ACTION = (
    r"(?:refund|reimburse|credit|extend|prolong|upgrade|downgrade|switch|change|move|migrate|"
    r"cancel|terminate|close|delete|erase|remove|wipe|purge|add|increase|reduce|transfer|merge|"
    r"reissue|re-issue|resend|re-send|issue|void|waive|apply|unlock|reactivate|restore|"
    r"reset|update|correct|fix|process|send|give|grant|enable|disable|turn on|turn off)"
)
_ASKING_US = re.compile(
    r"\b(?:can|could|would|will) you(?: please| kindly)? " + _ACTION + r"\b"
    r"|\b(?:please|kindly|pls)(?: do)?,? " + _ACTION + r"\b"
    r"|\b(?:i|we)(?:'d| would)? (?:like|want|need|wish|request|expect|demand)(?: you)?(?: to)? "
    + _ACTION + r"\b"
    r"|\b(?:i|we)(?:'d| would)? (?:like|want|need|request|demand|expect) (?:a |an |our |my |the )?"
    r"(?:refund|credit|extension|discount|invoice|reimbursement|money back|exception)\b"
    r"|\b(?:can|could|may) (?:i|we) (?:get|have|receive) (?:a |an |our |my |the |some )?"
    r"(?:refund|credit|extension|discount|reimbursement|money back|exception|more time)\b"
    r"|^(?:please )?" + _ACTION + r" (?:our|my|the|this|us|me|it)\b"
    r"|\bgo ahead and\b|\bon our behalf\b|\bfor us\b(?! to)",
    re.IGNORECASE | re.MULTILINE,
)
# Something went wrong: a failure, an outage, lost or exposed data, a wrong charge.
_FAILURE = re.compile(
    r"\b(?:(?:is|are|was|were|has been|keeps?|kept) (?:down|broken|failing|crashing|not working|"
    r"not loading)|(?:does|do|did|is|are|was|were)n'?t (?:work|load|sync|arrive|show|open|save|"
    r"working|loading|syncing|showing|opening|saving)|stopped (?:working|syncing|loading)|"
    r"outage|crash(?:es|ed|ing)?|data loss|lost (?:all|our|my|the) |disappeared|hacked|"
    r"breach|compromised|unauthori[sz]ed|charged (?:twice|double|us twice)|double[- ]charged|"
    r"overcharged|wrong(?:ly)? (?:charged|amount|total)|error (?:message|code)|bug)\b",
    re.IGNORECASE,
)


def refusal(text: str) -> str | None:
    """Why the customer's words alone rule out an automatic answer, or None."""
    if _ASKING_US.search(text):
        return "the customer asks us to do something on the account, not for information"
    if _FAILURE.search(text):
        return "the customer reports that something went wrong"
    return None


def _account_reason(account: Account | None) -> str | None:
    if account is None:
        return None
    if account.health is not None and account.health < AT_RISK_HEALTH:
        return f"the account is at risk (health {account.health:.2f})"
    if account.lifecycle and account.lifecycle.lower() in _AT_RISK_STAGES:
        return "the account is at risk"
    return None


def _signal_reason(signals: Signals) -> str | None:
    if signals.frustrated or signals.sentiment_spike or signals.sentiment < UPSET_BELOW:
        return "the customer is upset"
    urgent = sorted(URGENT_TRIGGERS.intersection(signals.trigger_ids))
    if urgent:
        return f"the ticket is urgent or at stake ({', '.join(urgent)})"
    if signals.severity in ("critical", "high"):
        return f"the ticket reads as {signals.severity} severity"
    if signals.page_urgency == "high":
        return "the page the customer wrote from makes it urgent"
    return None


def gate(*, tier: Tier | int, signals: Signals, account: Account | None,
         text: str = "") -> str | None:
    """The reason to stay silent on this ticket, or None when it may be answered."""
    if int(tier) != int(Tier.ONE):
        return f"it is a Tier {int(tier)} ticket: a person handles it"
    return _signal_reason(signals) or _account_reason(account) or (refusal(text) if text else None)
