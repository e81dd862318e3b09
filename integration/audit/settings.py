"""What an audit reads from a history and how strict it is: one frozen settings object.

Teams record the agent's label and escalations in different places, so both are settings:

- the agent's label (``LabelSource``): the ticket type, a custom field, or a tag (one of a
  list, or the first with a prefix such as ``cat_``);
- the evidence of an escalation (``EscalationEvidence``): tags, a custom field whose value is
  the stated reason, the group the ticket ended in (moved into an escalation group), and the
  priority raised after creation.

``parse_label`` and ``parse_escalation`` read the command line's short forms and raise
``ValidationError`` naming the option.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integration.errors import ValidationError
from integration.models import Category

__all__ = [
    "DEFAULT_ARR_BANDS",
    "DEFAULT_LABEL_CATEGORIES",
    "AuditSettings",
    "EscalationEvidence",
    "ImpactWeights",
    "LabelSource",
    "label_categories",
    "parse_escalation",
    "parse_label",
    "parse_zone",
]

# Upper bounds of the ARR bands, in the workspace's currency.
DEFAULT_ARR_BANDS: tuple[float, ...] = (10_000, 50_000, 100_000, 250_000)

# Agent labels as teams write them, read as Escalade's categories (lower case, "-"/" " as "_").
DEFAULT_LABEL_CATEGORIES: Mapping[str, Category] = {
    **{c.value: c for c in Category},
    "question": Category.HOW_TO,
    "howto": Category.HOW_TO,
    "how_to_question": Category.HOW_TO,
    "usage": Category.HOW_TO,
    "problem": Category.BUG,
    "incident": Category.BUG,
    "defect": Category.BUG,
    "technical_issue": Category.BUG,
    "feature": Category.FEATURE_REQUEST,
    "request": Category.FEATURE_REQUEST,
    "idea": Category.FEATURE_REQUEST,
    "invoice": Category.BILLING,
    "payment": Category.BILLING,
    "login": Category.ACCOUNT_ACCESS,
    "access": Category.ACCOUNT_ACCESS,
    "password": Category.ACCOUNT_ACCESS,
    "churn": Category.CANCELLATION,
    "cancel": Category.CANCELLATION,
    "downtime": Category.OUTAGE,
    "compliance": Category.LEGAL,
    "setup": Category.ONBOARDING,
}

_LABEL_KINDS = ("type", "field", "tag", "tags")


@dataclass(frozen=True, kw_only=True, slots=True)
class LabelSource:
    """Where the agent's label is: ``type``, ``field`` (a custom field), ``tag`` or ``tags``.

    ``tag`` takes the first tag starting with ``name`` (the prefix is dropped); ``tags`` the
    first tag that is one of ``values``.
    """

    kind: str = "type"
    name: str = ""
    values: tuple[str, ...] = ()

    def describe(self) -> str:
        """How the label is read, in words."""
        if self.kind == "field":
            return f"the custom field {self.name!r}"
        if self.kind == "tag":
            return f"the tag starting with {self.name!r}"
        if self.kind == "tags":
            return f"the first tag of {', '.join(self.values)}"
        return "the ticket type"


@dataclass(frozen=True, kw_only=True, slots=True)
class EscalationEvidence:
    """What says a ticket was escalated; the first evidence found gives the stated reason."""

    tags: frozenset[str] = frozenset({"escalated", "escalation"})
    tag_prefixes: tuple[str, ...] = ("escalated_", "escalation_")
    field: str | None = None
    groups: frozenset[str] = frozenset()
    priority_raised: bool = True

    def describe(self) -> str:
        """The evidence in words, for the report."""
        parts = []
        if self.tags or self.tag_prefixes:
            listed = sorted(self.tags) + [f"{p}…" for p in self.tag_prefixes]
            parts.append("tags " + ", ".join(listed))
        if self.field:
            parts.append(f"a value in the field {self.field!r}")
        if self.groups:
            parts.append("ending in the group " + " or ".join(sorted(self.groups)))
        if self.priority_raised:
            parts.append("priority raised after creation (where the history has it)")
        return "; ".join(parts) or "nothing (no escalation evidence configured)"


@dataclass(frozen=True, kw_only=True, slots=True)
class ImpactWeights:
    """How much each share counts in the impact score (they are normalized to sum to 1)."""

    tickets: float = 0.1
    arr: float = 0.4
    csat: float = 0.25
    hours: float = 0.25


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditSettings:
    """Every knob of an audit, with defaults that suit a 30-60 day history."""

    label: LabelSource = field(default_factory=LabelSource)
    label_categories: Mapping[str, Category] = field(
        default_factory=lambda: dict(DEFAULT_LABEL_CATEGORIES)
    )
    escalation: EscalationEvidence = field(default_factory=EscalationEvidence)
    arr_bands: tuple[float, ...] = DEFAULT_ARR_BANDS
    # Segments by hour and weekday read in this zone (and in UTC); None: the matrix's zone.
    zone: tzinfo | None = None
    # Zone of the export's timestamps that carry none (helpdesks export in the account's zone).
    export_zone: tzinfo = UTC
    # Label checks: the smallest group compared, the false-discovery rate across every test,
    # and the smallest differences that count (resolution ×, Cliff's delta, rate points).
    min_group: int = 20
    fdr: float = 0.05
    min_ratio: float = 2.0
    min_delta: float = 0.33
    min_rate_gap: float = 0.15
    # Spikes: a day (or an hour) against its baseline, across every series tested.
    spike_fdr: float = 0.01
    spike_min_count: int = 5
    spike_min_ratio: float = 2.0
    spike_baseline_days: int = 14
    spike_min_history_days: int = 7
    # Topics: cosine similarity to join a topic, and at most this many per category.
    topic_similarity: float = 0.62
    max_topics_per_category: int = 40
    min_topic_size: int = 5
    examples: int = 3
    weights: ImpactWeights = field(default_factory=ImpactWeights)
    # Suggested rules: the top entries get one; tier 3 at or above this escalation rate.
    suggestions: int = 5
    tier3_rate: float = 0.3
    # Tickets a report lists by name: at most this many changes in a replay (the count is
    # always exact).
    max_changes: int | None = None

    def label_category(self, label: str | None) -> Category | None:
        """The Escalade category an agent label stands for, if the map knows it."""
        if not label:
            return None
        key = "_".join(label.strip().lower().replace("-", " ").split())
        return self.label_categories.get(key)

    def arr_band(self, arr: float | None) -> str:
        """The ARR band's name: ``under 10k``, ``10k-50k``, ..., ``250k+`` or ``unknown``."""
        if arr is None:
            return "unknown"
        low = 0.0
        for high in self.arr_bands:
            if arr < high:
                return f"under {_short(high)}" if low == 0 else f"{_short(low)}-{_short(high)}"
            low = high
        return f"{_short(low)}+"

    def arr_band_names(self) -> list[str]:
        """Every band name in order, ``unknown`` last."""
        names = []
        low = 0.0
        for high in self.arr_bands:
            names.append(f"under {_short(high)}" if low == 0 else f"{_short(low)}-{_short(high)}")
            low = high
        return [*names, f"{_short(low)}+", "unknown"]


def _short(amount: float) -> str:
    if amount >= 1_000_000 and amount % 1_000_000 == 0:
        return f"{amount / 1_000_000:g}M"
    if amount >= 1000 and amount % 1000 == 0:
        return f"{amount / 1000:g}k"
    return f"{amount:g}"


def parse_label(text: str, *, option: str = "--label") -> LabelSource:
    """``type``, ``field:NAME``, ``tag:PREFIX`` or ``tags:A,B,C``."""
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    rest = rest.strip()
    if kind not in _LABEL_KINDS:
        raise ValidationError(
            option, f"{text!r}: use type, field:NAME, tag:PREFIX or tags:A,B,C"
        )
    if kind == "type":
        return LabelSource()
    if not rest:
        raise ValidationError(option, f"{text!r}: {kind} needs a name after the colon")
    if kind == "tags":
        values = tuple(v.strip().lower() for v in rest.split(",") if v.strip())
        return LabelSource(kind="tags", values=values)
    return LabelSource(kind=kind, name=rest if kind == "field" else rest.lower())


def parse_escalation(
    *,
    tags: str | None = None,
    field_name: str | None = None,
    groups: str | None = None,
    priority_raised: bool = True,
) -> EscalationEvidence:
    """Evidence from comma-separated lists; a tag ending in ``*`` is a prefix."""
    default = EscalationEvidence()
    exact, prefixes = default.tags, default.tag_prefixes
    if tags is not None:
        items = [t.strip().lower() for t in tags.split(",") if t.strip()]
        exact = frozenset(t for t in items if not t.endswith("*"))
        prefixes = tuple(t[:-1] for t in items if t.endswith("*") and len(t) > 1)
    group_names = frozenset(
        g.strip().lower() for g in (groups or "").split(",") if g.strip()
    )
    return EscalationEvidence(
        tags=exact,
        tag_prefixes=prefixes,
        field=field_name.strip() if field_name and field_name.strip() else None,
        groups=group_names,
        priority_raised=priority_raised,
    )


def parse_zone(name: str, *, option: str) -> ZoneInfo:
    """An IANA time zone by name, e.g. ``Europe/Berlin``."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValidationError(option, f"unknown time zone {name!r} (e.g. Europe/Berlin)") from err


def label_categories(overrides: Mapping[str, str], *, option: str) -> dict[str, Category]:
    """The default label map with ``overrides`` (label -> category name) on top."""
    out = dict(DEFAULT_LABEL_CATEGORIES)
    allowed = ", ".join(c.value for c in Category)
    for label, name in overrides.items():
        try:
            category = Category(name.strip().lower())
        except ValueError as err:
            raise ValidationError(option, f"{name!r} is not one of: {allowed}") from err
        out["_".join(label.strip().lower().replace("-", " ").split())] = category
    return out
