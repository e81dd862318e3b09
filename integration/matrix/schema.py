"""The matrix file's shape (pydantic, structure only) and the compiled, frozen ``Matrix``.

Pydantic checks the structure of the YAML document; ``loader`` then checks what pydantic
cannot see (conditions, references between sections, duplicate ids) and compiles the result
into the frozen dataclasses below, which is all ``evaluate`` ever reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, timedelta, tzinfo
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from integration.calendars import Calendar, parse_duration, parse_interval, parse_weekdays
from integration.models import (
    Category,
    Channel,
    PageRule,
    Priority,
    Status,
    Tier,
    TriggerSpec,
)
from integration.sla import SlaTargets

__all__ = [
    "CONDITION_KINDS",
    "RESERVED_RULE_IDS",
    "AnswerMode",
    "AnswerPolicy",
    "BugPolicy",
    "Bump",
    "LearnedTier",
    "Condition",
    "Matrix",
    "OnBreach",
    "OnWarning",
    "Rule",
    "TierActions",
    "TierSettings",
]

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
# Ids the evaluator cites itself; a file rule may not take them.
RESERVED_RULE_IDS = frozenset({"default_tier", "tier_floor", "sla_breach", "agent_override",
                               "learned_tier"})
ALWAYS_OPEN = ("24x7", "24/7")
TEMPLATE_FIELDS = frozenset({"requester_name", "due", "ticket_id", "subject", "tier"})


# --- scalar types used by the file models -------------------------------------------------


def _duration(value: Any) -> timedelta:
    if not isinstance(value, str):
        raise ValueError(f"invalid duration {value!r} (use e.g. 30m, 4h, 2d)")
    parsed = parse_duration(value)
    if parsed <= timedelta(0):
        raise ValueError(f"duration {value!r} must be longer than zero")
    return parsed


def _interval(value: str) -> str:
    parse_interval(value)
    return value


def _weekdays(value: str) -> str:
    parse_weekdays(value)
    return value


def _lower_words(values: list[str]) -> list[str]:
    cleaned = [" ".join(v.lower().split()) for v in values]
    if any(not v for v in cleaned):
        raise ValueError("must not contain empty strings")
    return cleaned


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Identifier = Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
IntervalText = Annotated[str, AfterValidator(_interval)]
WeekdaysText = Annotated[str, AfterValidator(_weekdays)]
Words = Annotated[list[str], AfterValidator(_lower_words)]
TierNumber = Literal[1, 2, 3]


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TriggerModel(_FileModel):
    """``churn: {lemmas: [cancel], phrases: ["evaluating other vendors"]}``."""

    lemmas: Words = []
    phrases: Words = []

    @model_validator(mode="after")
    def _not_empty(self) -> TriggerModel:
        if not self.lemmas and not self.phrases:
            raise ValueError("a trigger needs at least one lemma or phrase")
        return self


class RuleModel(_FileModel):
    """One tier rule: a stable id, a description and a condition."""

    id: Identifier
    description: str = ""
    when: dict[str, Any]


class SlaModel(_FileModel):
    """Targets of one tier; ``calendar`` names a calendar, absent or ``24x7`` means always."""

    first_response: Duration | None = None
    next_response: Duration | None = None
    resolution: Duration | None = None
    calendar: str | None = None


class ActionsModel(_FileModel):
    """What a tier writes back: priority, tags, group, note, acknowledgment, alerts."""

    priority: Priority | None = None
    tags: list[Identifier] = []
    group: str | None = None
    note: bool = True
    acknowledge: str | None = None
    # Channels whose customers get the acknowledgment (all when absent): a chat customer
    # watching the widget may be told, a tweet may not.
    acknowledge_channels: list[Channel] | None = None
    alert: list[Identifier] = []


class OnBreachModel(_FileModel):
    """What the SLA sweep does when one of the tier's SLA windows passes."""

    promote_to: TierNumber | None = None
    alert: list[Identifier] = []
    # Tell the customer (the promoted tier's acknowledgment template) when promoting.
    acknowledge: bool = False


class OnWarningModel(_FileModel):
    """What the SLA sweep does ``clocks.warn_before`` ahead of a breach."""

    note: bool = True
    alert: list[Identifier] = []


class TierModel(_FileModel):
    """One tier: its rules (tier 1 needs none), SLA, actions and breach policy."""

    rules: list[RuleModel] = []
    sla: SlaModel = SlaModel()
    actions: ActionsModel = ActionsModel()
    on_breach: OnBreachModel | None = None
    on_warning: OnWarningModel = OnWarningModel()


class BumpModel(_FileModel):
    """Moves the tier after selection: ``from``/``to`` or ``up`` (capped at ``max``)."""

    id: Identifier
    description: str = ""
    when: dict[str, Any]
    from_: list[TierNumber] | None = Field(default=None, alias="from")
    to: TierNumber | None = None
    up: int | None = Field(default=None, ge=1, le=2)
    max: TierNumber = 3

    @model_validator(mode="after")
    def _one_move(self) -> BumpModel:
        if (self.to is None) == (self.up is None):
            raise ValueError("a bump needs exactly one of 'to' or 'up'")
        if self.to is not None and self.from_ and min(self.from_) >= self.to:
            raise ValueError(f"'to: {self.to}' must be above every 'from' tier")
        return self


class CalendarModel(_FileModel):
    """Business hours: ``{timezone, hours: {mon-fri: ["09:00-17:00"]}, holidays: [...]}``."""

    timezone: str
    hours: dict[WeekdaysText, list[IntervalText]]
    holidays: list[date] = []
    # An iCal file of holidays, relative to the matrix file (added to ``holidays``).
    holidays_ical: str | None = None


class SpikeModel(_FileModel):
    """When a group's hourly count is an emerging incident (integration.bugs.spikes)."""

    weeks: int = Field(default=4, ge=1, le=12)
    z: float = Field(default=3.0, gt=0, le=10)
    min_count: int = Field(default=5, ge=1)


class BugsModel(_FileModel):
    """Bugs from tickets: which tickets are bug-shaped and when a report is filed (M5)."""

    enabled: bool = True
    categories: list[Category] = [Category.BUG, Category.OUTAGE]
    # A group is reported as soon as one enterprise account is hit, or enough accounts are
    # hit within the window.
    enterprise_accounts_at_least: int = Field(default=1, ge=1)
    accounts_at_least: int = Field(default=3, ge=1)
    within_hours: int = Field(default=24, ge=1, le=24 * 30)
    tracker: Literal["jira", "linear"] | None = None
    notify_customers_on_fix: bool = False
    spike: SpikeModel = SpikeModel()


class ClocksModel(_FileModel):
    """How SLA clocks run: warning lead time and the statuses that pause them."""

    warn_before: Duration = timedelta(minutes=30)
    pause_on: list[Literal["pending", "on_hold"]] = ["pending", "on_hold"]


class PageModel(_FileModel):
    """A page pattern: a regular expression over the URL's path and fragment."""

    id: Identifier
    match: str = Field(min_length=1)
    category: Category | None = None
    urgency: Literal["low", "normal", "high"] = "normal"


class LearnedTierModel(_FileModel):
    """How sure the learned tier model must be to change the rules' tier."""

    min_probability: float = Field(default=0.5, ge=0.5, le=1.0)
    # Taking a ticket out of tier 3: a missed escalation costs more than a false alarm.
    min_probability_out_of_3: float = Field(default=0.7, ge=0.5, le=1.0)
    # ... while a trigger the rules read as live (the customer's own, current words) says it.
    min_probability_against_a_trigger: float = Field(default=0.8, ge=0.5, le=1.0)


class DetectionModel(_FileModel):
    """Detection settings the matrix owns."""

    repeat_window_days: int = Field(default=14, ge=1, le=365)
    # None: the rules' tier stands.
    learned_tier: LearnedTierModel | None = None


AnswerModeName = Literal["off", "suggest", "answer"]


class AnswersModel(_FileModel):
    """Answering Tier-1 questions from the help centre, per category: off, suggest or answer."""

    mode: AnswerModeName = "off"
    categories: dict[Category, AnswerModeName] = {}
    # Answer only at or above this confidence; unset trusts the answerer's own threshold.
    min_confidence: float | None = Field(default=None, ge=0, le=1)


class MatrixModel(_FileModel):
    """The whole file."""

    version: int = Field(ge=1)
    description: str = ""
    triggers: dict[Identifier, TriggerModel]
    tiers: dict[TierNumber, TierModel]
    bumps: list[BumpModel] = []
    calendars: dict[Identifier, CalendarModel] = {}
    templates: dict[Identifier, str] = {}
    pages: list[PageModel] = []
    detection: DetectionModel = DetectionModel()
    clocks: ClocksModel = ClocksModel()
    bugs: BugsModel = BugsModel()
    answers: AnswersModel = AnswersModel()

    @field_validator("tiers")
    @classmethod
    def _all_tiers(cls, tiers: dict[int, TierModel]) -> dict[int, TierModel]:
        missing = sorted({1, 2, 3} - set(tiers))
        if missing:
            raise ValueError(f"tiers {missing} are missing (the matrix needs tiers 1, 2 and 3)")
        return tiers


FILE_MODELS: tuple[type[BaseModel], ...] = (
    TriggerModel,
    RuleModel,
    SlaModel,
    ActionsModel,
    OnBreachModel,
    OnWarningModel,
    TierModel,
    BumpModel,
    CalendarModel,
    PageModel,
    DetectionModel,
    ClocksModel,
    SpikeModel,
    BugsModel,
    AnswersModel,
    MatrixModel,
)


# --- the compiled matrix ------------------------------------------------------------------

CONDITION_KINDS = (
    "trigger",
    "mentioned",
    "category",
    "plan",
    "arr_at_least",
    "arr_above",
    "health_below",
    "sentiment_below",
    "sentiment_spike",
    "frustrated",
    "inquiry",
    "confidence_at_least",
    "engagement_declining",
    "renewal_within_days",
    "severity",
    "repeat_contacts_at_least",
    "customer_messages_at_least",
    "customer_messages_span_at_least",
    "channel",
    "page",
    "page_urgency",
    "answer_declined",
    "all",
    "any",
    "not",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Condition:
    """One condition: ``kind`` from ``CONDITION_KINDS`` and its normalized ``value``."""

    kind: str
    value: Any

    def describe(self) -> str:
        """A short static rendering, used when a ``not`` is true."""
        if self.kind in ("all", "any"):
            inner = ", ".join(c.describe() for c in self.value)
            return f"{self.kind}({inner})"
        if self.kind == "not":
            return f"not {self.value.describe()}"
        if isinstance(self.value, tuple):
            return f"{self.kind} in [{', '.join(str(v) for v in self.value)}]"
        return f"{self.kind} {self.value}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Rule:
    """A tier rule from the file."""

    id: str
    tier: Tier
    description: str
    when: Condition


@dataclass(frozen=True, kw_only=True, slots=True)
class Bump:
    """A tier move applied after selection, in file order."""

    id: str
    description: str
    when: Condition
    from_tiers: frozenset[Tier] = frozenset()  # empty: any tier
    to: Tier | None = None
    up: int = 0
    max: Tier = Tier.THREE

    def target(self, tier: Tier) -> Tier | None:
        """The tier this bump moves ``tier`` to, or ``None`` when it does not apply."""
        if self.from_tiers and tier not in self.from_tiers:
            return None
        new = self.to if self.to is not None else Tier(min(int(tier) + self.up, int(self.max)))
        return new if new > tier else None


@dataclass(frozen=True, kw_only=True, slots=True)
class TierActions:
    """What a tier writes back; ``acknowledge`` is a template id, its text alongside."""

    priority: Priority | None = None
    tags: tuple[str, ...] = ()
    group: str | None = None
    note: bool = True
    acknowledge: str | None = None
    acknowledge_text: str | None = None
    acknowledge_channels: frozenset[Channel] | None = None
    alert: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class OnBreach:
    """Time-based promotion for the SLA sweep."""

    promote_to: Tier | None = None
    alert: tuple[str, ...] = ()
    acknowledge: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class OnWarning:
    """What the SLA sweep does before a breach: a note to the assignee, alerts."""

    note: bool = True
    alert: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class TierSettings:
    """Everything a tier means besides its rules."""

    tier: Tier
    sla: SlaTargets
    actions: TierActions
    on_breach: OnBreach | None = None
    on_warning: OnWarning = OnWarning()


@dataclass(frozen=True, kw_only=True, slots=True)
class BugPolicy:
    """The compiled ``bugs:`` section."""

    enabled: bool = True
    categories: frozenset[Category] = frozenset({Category.BUG, Category.OUTAGE})
    enterprise_accounts_at_least: int = 1
    accounts_at_least: int = 3
    within_hours: int = 24
    tracker: str | None = None
    notify_customers_on_fix: bool = False
    spike_weeks: int = 4
    spike_z: float = 3.0
    spike_min_count: int = 5


class AnswerMode(StrEnum):
    """What Escalade does with a Tier-1 question its help centre answers."""

    OFF = "off"
    # An internal note and the sidebar list the articles; the agent answers.
    SUGGEST = "suggest"
    # A public reply quotes the article, when the answer is confident and the ticket may be.
    ANSWER = "answer"


@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerPolicy:
    """The compiled ``answers:`` section."""

    mode: AnswerMode = AnswerMode.OFF
    categories: Mapping[Category, AnswerMode] = field(default_factory=dict)
    min_confidence: float | None = None

    def mode_for(self, category: Category) -> AnswerMode:
        """The mode for tickets of ``category``: its own, else the section's default."""
        return self.categories.get(category, self.mode)

    @property
    def enabled(self) -> bool:
        """Whether any category is answered or suggested at all."""
        modes = {self.mode, *self.categories.values()}
        return modes != {AnswerMode.OFF}


@dataclass(frozen=True, kw_only=True, slots=True)
class LearnedTier:
    """How sure the learned tier model must be: to change a tier, to take one out of tier 3
    (with or without a live trigger)."""

    at: float = 0.5
    out_of_3_at: float = 0.7
    against_a_trigger_at: float = 0.8
    # A tenant's calibration: below this category confidence the rules' tier stands.
    min_category_confidence: float = 0.0

    def needed(self, rules_tier: int, *, triggered: bool) -> float:
        """The probability a change away from ``rules_tier`` needs (``triggered``: a live
        trigger was found)."""
        if rules_tier != 3:
            return self.at
        return self.against_a_trigger_at if triggered else self.out_of_3_at


@dataclass(frozen=True, kw_only=True, slots=True)
class Matrix:
    """A validated escalation matrix; ``version`` is ``v<n>-<sha256[:12]>`` of the file."""

    version: str
    number: int
    sha256: str
    source: str
    description: str
    triggers: tuple[TriggerSpec, ...]
    rules: Mapping[Tier, tuple[Rule, ...]]
    bumps: tuple[Bump, ...]
    settings: Mapping[Tier, TierSettings]
    calendars: Mapping[str, Calendar] = field(default_factory=dict)
    templates: Mapping[str, str] = field(default_factory=dict)
    pages: tuple[PageRule, ...] = ()
    repeat_window_days: int = 14
    # How sure the learned tier model must be to change the rules' tier; None: never.
    learned_tier: LearnedTier | None = None
    warn_before: timedelta = timedelta(minutes=30)
    pause_on: frozenset[Status] = frozenset({Status.PENDING, Status.ON_HOLD})
    bugs: BugPolicy = field(default_factory=BugPolicy)
    answers: AnswerPolicy = field(default_factory=AnswerPolicy)

    def with_calendar(self, name: str | None) -> Matrix:
        """This matrix with ``name`` as the business calendar of every tier that has one.

        A tenant in another time zone or with other holidays names one of the file's
        calendars; 24/7 tiers stay 24/7. ``KeyError`` for a name the file does not define.
        """
        if not name:
            return self
        calendar = self.calendars[name]
        settings = {
            tier: replace(s, sla=replace(s.sla, calendar=calendar)) if s.sla.calendar else s
            for tier, s in self.settings.items()
        }
        return replace(self, settings=settings)

    @property
    def display_zone(self) -> tzinfo:
        """The one zone every due time is shown in: the business calendar the tiers use.

        A 24/7 tier has no office hours of its own, but its agents still read times in their
        office's zone, so Tier 3's deadline reads in the same zone as Tier 2's.
        """
        for tier in (Tier.TWO, Tier.ONE, Tier.THREE):
            calendar = self.settings[tier].sla.calendar if tier in self.settings else None
            if calendar is not None:
                return calendar.zone
        return UTC

    def tier_settings(self, tier: Tier) -> TierSettings:
        """SLA targets, actions and breach policy of ``tier``."""
        return self.settings[Tier(tier)]

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Every id a decision can cite, in file order."""
        ids = [r.id for t in (Tier.THREE, Tier.TWO, Tier.ONE) for r in self.rules[t]]
        return (*ids, *(b.id for b in self.bumps), *sorted(RESERVED_RULE_IDS))

    @property
    def trigger_ids(self) -> tuple[str, ...]:
        """Ids of the keyword triggers, in file order."""
        return tuple(t.id for t in self.triggers)


# --- condition values ---------------------------------------------------------------------


def _names(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v.strip() for v in items):
        raise ValueError("expected a name or a non-empty list of names")
    return tuple(v.strip().lower() for v in items)


def _enum_names(enum: type[Category] | type[Channel]) -> Any:
    def parse(value: Any) -> tuple[Any, ...]:
        out = []
        for name in _names(value):
            try:
                out.append(enum(name))
            except ValueError as err:
                allowed = ", ".join(e.value for e in enum)
                kind = enum.__name__.lower()
                raise ValueError(f"unknown {kind} {name!r} (one of: {allowed})") from err
        return tuple(out)

    return parse


def _number(lo: float | None, hi: float | None, *, integer: bool = False) -> Any:
    def parse(value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {value!r}")
        if integer and not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value!r}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ValueError(f"{value!r} is out of range [{lo}, {hi if hi is not None else '∞'}]")
        return value

    return parse


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


# Leaf conditions: kind -> parser of the YAML value (raises ValueError with a message).
LEAF_PARSERS: dict[str, Any] = {
    "trigger": _names,
    "mentioned": _names,
    "category": _enum_names(Category),
    "plan": _names,
    "arr_at_least": _number(0, None),
    "arr_above": _number(0, None),
    "health_below": _number(0, 1),
    "sentiment_below": _number(-1, 1),
    "sentiment_spike": _flag,
    "frustrated": _flag,
    "inquiry": _flag,
    "confidence_at_least": _number(0, 1),
    "engagement_declining": _flag,
    "renewal_within_days": _number(0, 3660, integer=True),
    "severity": _names,
    "repeat_contacts_at_least": _number(1, None, integer=True),
    "customer_messages_at_least": _number(1, None, integer=True),
    "customer_messages_span_at_least": _duration,
    "channel": _enum_names(Channel),
    "page": _names,
    "page_urgency": _names,
    "answer_declined": _flag,
}
