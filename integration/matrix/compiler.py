"""Check what the matrix's structure cannot express, and compile the frozen ``Matrix``.

The structure (pydantic) is already valid here. What is left, each check recording its
problems at their place in the file instead of stopping at the first: calendars and the
iCal files they name, page rules' patterns, templates' placeholders, conditions (and the
triggers and pages they name), rule ids, and each tier's settings (its calendar, its
acknowledgment template, its breach promotion).
"""

from __future__ import annotations

import difflib
import hashlib
import re
import string
from datetime import date
from pathlib import Path
from typing import Any

from integration.calendars import Calendar, parse_ical_holidays
from integration.matrix.schema import (
    ALWAYS_OPEN,
    CONDITION_KINDS,
    LEAF_PARSERS,
    RESERVED_RULE_IDS,
    TEMPLATE_FIELDS,
    AnswerMode,
    AnswerPolicy,
    BugPolicy,
    Bump,
    Condition,
    LearnedTier,
    Matrix,
    MatrixModel,
    OnBreach,
    OnWarning,
    Rule,
    TierActions,
    TierModel,
    TierSettings,
)
from integration.models import PageRule, Status, Tier, TriggerSpec
from integration.sla import SlaTargets

__all__ = ["Loc", "Problems", "compile_matrix", "suggest"]

Loc = tuple[str | int, ...]


class Problems:
    """Every problem found so far, each with its path in the file."""

    def __init__(self) -> None:
        self.found: list[tuple[Loc, str]] = []

    def add(self, loc: Loc, message: str) -> None:
        """Record one problem at ``loc``."""
        self.found.append((loc, message))


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """" (did you mean 'x'?)" for the closest of ``choices``, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def compile_matrix(
    model: MatrixModel, *, text: str, source: str, base_dir: Path
) -> tuple[Matrix | None, list[tuple[Loc, str]]]:
    """The matrix, or ``None`` and every problem found; iCal files are read from ``base_dir``."""
    problems = Problems()
    calendars = _calendars(model, base_dir, problems)
    pages = _pages(model, problems)
    _check_templates(model, problems)
    conditions = ConditionParser(
        trigger_ids=tuple(model.triggers),
        page_ids=tuple(page.id for page in model.pages),
        problems=problems,
    )
    rules = {Tier(t): _rules(t, model.tiers[t], conditions) for t in (3, 2, 1)}
    bumps = tuple(_bump(model, i, conditions) for i in range(len(model.bumps)))
    _check_unique_ids(model, problems)
    settings = {
        Tier(t): _settings(model, t, model.tiers[t], calendars, problems) for t in (1, 2, 3)
    }
    if problems.found:
        return None, problems.found
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    matrix = Matrix(
        version=f"v{model.version}-{sha[:12]}",
        number=model.version,
        sha256=sha,
        source=source,
        description=model.description,
        triggers=tuple(
            TriggerSpec(id=k, lemmas=tuple(v.lemmas), phrases=tuple(v.phrases))
            for k, v in model.triggers.items()
        ),
        rules=rules,
        bumps=tuple(b for b in bumps if b is not None),
        settings=settings,
        calendars=calendars,
        templates=dict(model.templates),
        pages=pages,
        repeat_window_days=model.detection.repeat_window_days,
        learned_tier=_learned_tier(model),
        warn_before=model.clocks.warn_before,
        pause_on=frozenset(Status(s) for s in model.clocks.pause_on),
        bugs=_bug_policy(model),
        answers=AnswerPolicy(
            mode=AnswerMode(model.answers.mode),
            categories={c: AnswerMode(m) for c, m in model.answers.categories.items()},
            min_confidence=model.answers.min_confidence,
        ),
    )
    return matrix, []


def _learned_tier(model: MatrixModel) -> LearnedTier | None:
    """The learned tier model's thresholds, or None when the file does not turn it on."""
    found = model.detection.learned_tier
    if found is None:
        return None
    return LearnedTier(at=found.min_probability, out_of_3_at=found.min_probability_out_of_3,
                       against_a_trigger_at=found.min_probability_against_a_trigger)


def _bug_policy(model: MatrixModel) -> BugPolicy:
    bugs = model.bugs
    return BugPolicy(
        enabled=bugs.enabled,
        categories=frozenset(bugs.categories),
        enterprise_accounts_at_least=bugs.enterprise_accounts_at_least,
        accounts_at_least=bugs.accounts_at_least,
        within_hours=bugs.within_hours,
        tracker=bugs.tracker,
        notify_customers_on_fix=bugs.notify_customers_on_fix,
        spike_weeks=bugs.spike.weeks,
        spike_z=bugs.spike.z,
        spike_min_count=bugs.spike.min_count,
    )


# --- calendars, pages, templates, rule ids -------------------------------------------------


def _calendars(model: MatrixModel, base_dir: Path, problems: Problems) -> dict[str, Calendar]:
    out: dict[str, Calendar] = {}
    for name, spec in model.calendars.items():
        loc: Loc = ("calendars", name)
        ical = _ical(spec.holidays_ical, (*loc, "holidays_ical"), base_dir, problems)
        try:
            out[name] = Calendar.build(
                timezone=spec.timezone, hours=spec.hours, holidays=[*spec.holidays, *ical],
                name=name,
            )
        except ValueError as err:
            field = "timezone" if "unknown time zone" in str(err) else "hours"
            problems.add((*loc, field), str(err))
    return out


def _ical(name: str | None, loc: Loc, base_dir: Path, problems: Problems) -> frozenset[date]:
    if not name:
        return frozenset()
    path = Path(name)
    if not path.is_absolute():
        path = base_dir / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        problems.add(loc, f"cannot read {str(path)!r}: {reason}")
        return frozenset()
    try:
        return parse_ical_holidays(text, source=str(path))
    except ValueError as err:
        problems.add(loc, str(err))
        return frozenset()


def _pages(model: MatrixModel, problems: Problems) -> tuple[PageRule, ...]:
    out: list[PageRule] = []
    seen: set[str] = set()
    for index, page in enumerate(model.pages):
        if page.id in seen:
            problems.add(("pages", index, "id"), f"duplicate page id {page.id!r}")
        seen.add(page.id)
        try:
            re.compile(page.match)
        except re.error as err:
            problems.add(("pages", index, "match"), f"invalid regular expression: {err}")
            continue
        out.append(PageRule(id=page.id, pattern=page.match, category=page.category,
                            urgency=page.urgency))
    return tuple(out)


def _check_templates(model: MatrixModel, problems: Problems) -> None:
    for name, body in model.templates.items():
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(body) if f is not None]
        except ValueError as err:
            problems.add(("templates", name), f"invalid template: {err}")
            continue
        for placeholder in fields:
            if placeholder not in TEMPLATE_FIELDS:
                allowed = ", ".join(sorted(TEMPLATE_FIELDS))
                problems.add(
                    ("templates", name),
                    f"unknown placeholder {{{placeholder}}} (allowed: {allowed})",
                )


def _check_unique_ids(model: MatrixModel, problems: Problems) -> None:
    seen: dict[str, str] = {}
    places: list[tuple[str, Loc]] = [
        (rule.id, ("tiers", t, "rules", i, "id"))
        for t in (3, 2, 1)
        for i, rule in enumerate(model.tiers[t].rules)
    ]
    places += [(b.id, ("bumps", i, "id")) for i, b in enumerate(model.bumps)]
    for rule_id, loc in places:
        where = ".".join(str(p) for p in loc[:-1])
        if rule_id in RESERVED_RULE_IDS:
            problems.add(loc, f"rule id {rule_id!r} is reserved")
        elif rule_id in seen:
            problems.add(loc, f"duplicate rule id {rule_id!r} (also {seen[rule_id]})")
        else:
            seen[rule_id] = where


# --- rules, bumps and their conditions -----------------------------------------------------


def _rules(tier: int, spec: TierModel, conditions: ConditionParser) -> tuple[Rule, ...]:
    out = []
    for index, rule in enumerate(spec.rules):
        loc: Loc = ("tiers", tier, "rules", index, "when")
        when = conditions.parse(rule.when, loc)
        if when is not None:
            out.append(Rule(id=rule.id, tier=Tier(tier), description=rule.description, when=when))
    return tuple(out)


def _bump(model: MatrixModel, index: int, conditions: ConditionParser) -> Bump | None:
    spec = model.bumps[index]
    when = conditions.parse(spec.when, ("bumps", index, "when"))
    if when is None:
        return None
    return Bump(
        id=spec.id,
        description=spec.description,
        when=when,
        from_tiers=frozenset(Tier(t) for t in spec.from_ or ()),
        to=Tier(spec.to) if spec.to is not None else None,
        up=spec.up or 0,
        max=Tier(spec.max),
    )


class ConditionParser:
    """Compiles condition mappings, checking the triggers and pages they name."""

    def __init__(
        self, *, trigger_ids: tuple[str, ...], page_ids: tuple[str, ...], problems: Problems
    ) -> None:
        self.trigger_ids = trigger_ids
        self.page_ids = page_ids
        self.problems = problems

    def parse(self, raw: Any, loc: Loc) -> Condition | None:
        """Compile one condition mapping, recording problems; ``None`` when it is invalid."""
        if not isinstance(raw, dict) or len(raw) != 1:
            count = len(raw) if isinstance(raw, dict) else 0
            hint = " (wrap several in 'all: [...]')" if count > 1 else ""
            self.problems.add(loc, f"a condition is a mapping with exactly one key{hint}")
            return None
        ((kind, value),) = raw.items()
        here: Loc = (*loc, kind)
        if kind in ("all", "any"):
            if not isinstance(value, list) or not value:
                self.problems.add(here, f"'{kind}' needs a non-empty list of conditions")
                return None
            parts = [self.parse(item, (*here, i)) for i, item in enumerate(value)]
            if any(p is None for p in parts):
                return None
            return Condition(kind=kind, value=tuple(parts))
        if kind == "not":
            inner = self.parse(value, here)
            return None if inner is None else Condition(kind=kind, value=inner)
        return self._leaf(kind, value, here)

    def _leaf(self, kind: str, value: Any, here: Loc) -> Condition | None:
        parser = LEAF_PARSERS.get(kind)
        if parser is None:
            self.problems.add(here, f"unknown condition {kind!r}{suggest(kind, CONDITION_KINDS)}")
            return None
        try:
            parsed = parser(value)
        except ValueError as err:
            self.problems.add(_bad_item(parser, value, here), str(err))
            return None
        if kind == "page":
            self._check_known(value, parsed, here, what="page", known=self.page_ids)
        if kind == "page_urgency":
            for urgency in parsed:
                if urgency not in ("low", "normal", "high"):
                    self.problems.add(
                        here, f"unknown urgency {urgency!r} (one of: low, normal, high)"
                    )
        if kind in ("trigger", "mentioned"):
            self._check_known(value, parsed, here, what="trigger", known=self.trigger_ids)
        return Condition(kind=kind, value=parsed)

    def _check_known(
        self, value: Any, parsed: Any, here: Loc, *, what: str, known: tuple[str, ...]
    ) -> None:
        """Each id the condition names must be defined; a list's item is pointed at."""
        items = value if isinstance(value, list) else [value]
        for index, name in enumerate(parsed):
            if name not in known:
                spot = (*here, index) if isinstance(value, list) else here
                self.problems.add(spot, f"unknown {what} {items[index]!r}{suggest(name, known)}")


def _bad_item(parser: Any, value: Any, loc: Loc) -> Loc:
    # Point at the offending list item, not at the whole list.
    if isinstance(value, list):
        for index, item in enumerate(value):
            try:
                parser([item])
            except ValueError:
                return (*loc, index)
    return loc


# --- a tier's settings ----------------------------------------------------------------------


def _settings(
    model: MatrixModel,
    tier: int,
    spec: TierModel,
    calendars: dict[str, Calendar],
    problems: Problems,
) -> TierSettings:
    loc: Loc = ("tiers", tier)
    calendar = _sla_calendar(model, spec, calendars, (*loc, "sla", "calendar"), problems)
    ack = spec.actions.acknowledge
    ack_text = _acknowledgment(model, spec, (*loc, "actions", "acknowledge"), problems)
    breach = spec.on_breach
    if breach is not None and breach.promote_to is not None and breach.promote_to <= tier:
        problems.add(
            (*loc, "on_breach", "promote_to"),
            f"must be above tier {tier}, got {breach.promote_to}",
        )
    return TierSettings(
        tier=Tier(tier),
        sla=SlaTargets(
            first_response=spec.sla.first_response,
            next_response=spec.sla.next_response,
            resolution=spec.sla.resolution,
            calendar=calendar,
        ),
        actions=TierActions(
            priority=spec.actions.priority,
            tags=tuple(spec.actions.tags),
            group=spec.actions.group,
            note=spec.actions.note,
            acknowledge=ack,
            acknowledge_text=ack_text,
            acknowledge_channels=(
                frozenset(spec.actions.acknowledge_channels)
                if spec.actions.acknowledge_channels is not None
                else None
            ),
            alert=tuple(spec.actions.alert),
        ),
        on_breach=(
            OnBreach(
                promote_to=Tier(breach.promote_to) if breach.promote_to else None,
                alert=tuple(breach.alert),
                acknowledge=breach.acknowledge,
            )
            if breach is not None
            else None
        ),
        on_warning=OnWarning(note=spec.on_warning.note, alert=tuple(spec.on_warning.alert)),
    )


def _sla_calendar(
    model: MatrixModel,
    spec: TierModel,
    calendars: dict[str, Calendar],
    loc: Loc,
    problems: Problems,
) -> Calendar | None:
    """The calendar the tier's clock runs on (``None``: always open); it must be defined."""
    name = spec.sla.calendar
    if name is None or name in ALWAYS_OPEN:
        return None
    calendar = calendars.get(name)
    if calendar is None and name not in model.calendars:
        known = [*model.calendars, *ALWAYS_OPEN]
        problems.add(
            loc,
            f"unknown calendar {name!r}{suggest(name, known)} (defined: {', '.join(known)})",
        )
    return calendar


def _acknowledgment(
    model: MatrixModel, spec: TierModel, loc: Loc, problems: Problems
) -> str | None:
    """The text of the tier's acknowledgment template; it must exist and keep its promises."""
    ack = spec.actions.acknowledge
    ack_text = model.templates.get(ack) if ack is not None else None
    if ack is not None and ack_text is None:
        problems.add(loc, f"unknown template {ack!r}{suggest(ack, list(model.templates))}")
    if ack_text and "{due}" in ack_text and spec.sla.first_response is None:
        problems.add(
            loc, f"template {ack!r} promises {{due}} but the tier has no sla.first_response"
        )
    return ack_text
