"""Load and validate a matrix file; every problem is reported with file, line and field.

Validation runs in three passes over one composed YAML node tree: YAML syntax and duplicate
keys, the structure (pydantic), then what pydantic cannot see (conditions, trigger, calendar
and template references, duplicate rule ids). All problems of a pass are reported together,
each located by walking the node tree along the error's path.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError as PydanticValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from integration.calendars import Calendar, parse_ical_holidays
from integration.errors import EscaladeError
from integration.matrix.schema import (
    ALWAYS_OPEN,
    CONDITION_KINDS,
    FILE_MODELS,
    LEAF_PARSERS,
    RESERVED_RULE_IDS,
    TEMPLATE_FIELDS,
    BugPolicy,
    Bump,
    Condition,
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

__all__ = [
    "MatrixError",
    "MatrixIssue",
    "check_file",
    "default_matrix",
    "load_matrix",
    "load_matrix_text",
]

Loc = tuple[str | int, ...]
DEFAULT_PATH = Path(__file__).with_name("default.yaml")
_KNOWN_KEYS = sorted({name for m in FILE_MODELS for name in m.model_fields} | {"from"})


@dataclass(frozen=True, kw_only=True, slots=True)
class MatrixIssue:
    """One problem in a matrix file: where (file, line, field) and what."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class MatrixError(EscaladeError):
    """A matrix file that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, issues: list[MatrixIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def load_matrix(path: str | Path) -> Matrix:
    """Read and validate a matrix file; raises ``MatrixError``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise _single(str(path), None, f"cannot read: {reason}") from err
    return load_matrix_text(text, source=str(path))


def check_file(path: str | Path) -> list[MatrixIssue]:
    """Every problem in the file at ``path``; ``[]`` when it is valid."""
    try:
        load_matrix(path)
    except MatrixError as err:
        return list(err.issues)
    return []


@functools.cache
def default_matrix() -> Matrix:
    """The packaged default matrix (the default escalation policy), loaded once."""
    return load_matrix(DEFAULT_PATH)


def load_matrix_text(text: str, *, source: str = "<matrix>") -> Matrix:
    """Validate matrix YAML given as text; ``source`` names it in error messages."""
    root = _compose(text, source)
    issues = [
        MatrixIssue(file=source, line=line, field=".".join(str(p) for p in loc), message=msg)
        for loc, line, msg in _duplicate_keys(root, ())
    ]
    if issues:
        raise MatrixError(issues)
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:  # e.g. a !!python tag the safe loader refuses
        line = err.problem_mark.line + 1 if err.problem_mark is not None else None
        raise _single(source, line, f"invalid YAML: {err.problem}") from err
    if not isinstance(data, dict):
        raise _single(source, 1, "expected a mapping")
    try:
        model = MatrixModel.model_validate(data)
    except PydanticValidationError as err:
        raise MatrixError(
            [_issue(source, root, tuple(e["loc"]), _message(e)) for e in err.errors()]
        ) from err
    # Files the matrix names (an iCal of holidays) sit beside it; text has no place: cwd.
    base_dir = Path(source).parent if Path(source).is_file() else Path.cwd()
    checker = _Checker(model, base_dir=base_dir)
    matrix = checker.compile(text=text, source=source)
    if checker.problems:
        raise MatrixError([_issue(source, root, loc, msg) for loc, msg in checker.problems])
    assert matrix is not None
    return matrix


# --- YAML nodes and line numbers ----------------------------------------------------------


def _compose(text: str, source: str) -> Node:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        raise _single(source, line, f"invalid YAML: {err.problem or err.context or err}") from err
    except yaml.YAMLError as err:
        raise _single(source, None, f"invalid YAML: {err}") from err
    if root is None:
        raise _single(source, 1, "the file is empty")
    return root


def _single(source: str, line: int | None, message: str) -> MatrixError:
    return MatrixError([MatrixIssue(file=source, line=line, field="", message=message)])


def _duplicate_keys(node: Node, loc: Loc) -> Iterator[tuple[Loc, int, str]]:
    # PyYAML silently keeps the last of two equal keys; in a policy file that hides typos.
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else str(key)
            line = key.start_mark.line + 1
            if name in seen:
                yield (*loc, name), line, f"duplicate key {name!r} (first at line {seen[name]})"
            else:
                seen[name] = line
            yield from _duplicate_keys(value, (*loc, name))
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, index))


def _locate(root: Node, loc: Loc) -> tuple[int, str]:
    """The line of the deepest node along ``loc`` and the dotted field path."""
    node: Node | None = root
    line = root.start_mark.line + 1
    parts: list[str] = []
    for step in loc:
        if step == "[key]":
            continue
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.value == str(step):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                node = None
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            node = None
        parts.append(str(step))
    return line, ".".join(parts)


def _issue(source: str, root: Node, loc: Loc, message: str) -> MatrixIssue:
    line, path = _locate(root, loc)
    return MatrixIssue(file=source, line=line, field=path, message=message)


def _suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _message(error: Any) -> str:
    kind, msg, value = error["type"], str(error["msg"]), error.get("input")
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        return f"unknown key {key!r}{_suggest(key, _KNOWN_KEYS)}"
    if kind == "missing":
        return "is required"
    if kind == "string_pattern_mismatch":
        return f"invalid id {value!r} (use lower-case letters, digits and _)"
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    if isinstance(value, str | int | float | bool) or value is None:
        return f"{msg}, got {value!r}"
    return msg


# --- semantic checks and compilation ------------------------------------------------------


class _Checker:
    """Checks what the structure cannot express and compiles the frozen ``Matrix``."""

    def __init__(self, model: MatrixModel, *, base_dir: Path) -> None:
        self.model = model
        self.base_dir = base_dir
        self.problems: list[tuple[Loc, str]] = []
        self.trigger_ids = tuple(model.triggers)
        self.page_ids = tuple(page.id for page in model.pages)

    def problem(self, loc: Loc, message: str) -> None:
        """Record one problem at ``loc``."""
        self.problems.append((loc, message))

    def compile(self, *, text: str, source: str) -> Matrix | None:
        """Build the matrix, recording problems instead of stopping at the first."""
        model = self.model
        calendars = self._calendars()
        pages = self._pages()
        self._templates()
        rules = {Tier(t): self._rules(t, model.tiers[t]) for t in (3, 2, 1)}
        bumps = tuple(self._bump(i) for i in range(len(model.bumps)))
        self._unique_ids()
        settings = {Tier(t): self._settings(t, model.tiers[t], calendars) for t in (1, 2, 3)}
        if self.problems:
            return None
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return Matrix(
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
            warn_before=model.clocks.warn_before,
            pause_on=frozenset(Status(s) for s in model.clocks.pause_on),
            bugs=BugPolicy(
                enabled=model.bugs.enabled,
                categories=frozenset(model.bugs.categories),
                enterprise_accounts_at_least=model.bugs.enterprise_accounts_at_least,
                accounts_at_least=model.bugs.accounts_at_least,
                within_hours=model.bugs.within_hours,
                tracker=model.bugs.tracker,
                notify_customers_on_fix=model.bugs.notify_customers_on_fix,
                spike_weeks=model.bugs.spike.weeks,
                spike_z=model.bugs.spike.z,
                spike_min_count=model.bugs.spike.min_count,
            ),
        )

    def _pages(self) -> tuple[PageRule, ...]:
        out: list[PageRule] = []
        seen: set[str] = set()
        for index, page in enumerate(self.model.pages):
            if page.id in seen:
                self.problem(("pages", index, "id"), f"duplicate page id {page.id!r}")
            seen.add(page.id)
            try:
                re.compile(page.match)
            except re.error as err:
                self.problem(("pages", index, "match"), f"invalid regular expression: {err}")
                continue
            out.append(PageRule(id=page.id, pattern=page.match, category=page.category,
                                urgency=page.urgency))
        return tuple(out)

    def _calendars(self) -> dict[str, Calendar]:
        out: dict[str, Calendar] = {}
        for name, spec in self.model.calendars.items():
            loc: Loc = ("calendars", name)
            holidays = [*spec.holidays, *self._ical(spec.holidays_ical, (*loc, "holidays_ical"))]
            try:
                out[name] = Calendar.build(
                    timezone=spec.timezone, hours=spec.hours, holidays=holidays, name=name
                )
            except ValueError as err:
                field = "timezone" if "unknown time zone" in str(err) else "hours"
                self.problem((*loc, field), str(err))
        return out

    def _ical(self, name: str | None, loc: Loc) -> frozenset[date]:
        if not name:
            return frozenset()
        path = Path(name)
        if not path.is_absolute():
            path = self.base_dir / path
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            self.problem(loc, f"cannot read {str(path)!r}: {reason}")
            return frozenset()
        try:
            return parse_ical_holidays(text, source=str(path))
        except ValueError as err:
            self.problem(loc, str(err))
            return frozenset()

    def _templates(self) -> None:
        for name, body in self.model.templates.items():
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(body) if f is not None]
            except ValueError as err:
                self.problem(("templates", name), f"invalid template: {err}")
                continue
            for placeholder in fields:
                if placeholder not in TEMPLATE_FIELDS:
                    allowed = ", ".join(sorted(TEMPLATE_FIELDS))
                    self.problem(
                        ("templates", name),
                        f"unknown placeholder {{{placeholder}}} (allowed: {allowed})",
                    )

    def _rules(self, tier: int, spec: TierModel) -> tuple[Rule, ...]:
        out = []
        for index, rule in enumerate(spec.rules):
            loc: Loc = ("tiers", tier, "rules", index, "when")
            when = self.condition(rule.when, loc)
            if when is not None:
                out.append(
                    Rule(id=rule.id, tier=Tier(tier), description=rule.description, when=when)
                )
        return tuple(out)

    def _bump(self, index: int) -> Bump | None:
        spec = self.model.bumps[index]
        when = self.condition(spec.when, ("bumps", index, "when"))
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

    def _unique_ids(self) -> None:
        seen: dict[str, str] = {}
        places: list[tuple[str, Loc]] = [
            (rule.id, ("tiers", t, "rules", i, "id"))
            for t in (3, 2, 1)
            for i, rule in enumerate(self.model.tiers[t].rules)
        ]
        places += [(b.id, ("bumps", i, "id")) for i, b in enumerate(self.model.bumps)]
        for rule_id, loc in places:
            where = ".".join(str(p) for p in loc[:-1])
            if rule_id in RESERVED_RULE_IDS:
                self.problem(loc, f"rule id {rule_id!r} is reserved")
            elif rule_id in seen:
                self.problem(loc, f"duplicate rule id {rule_id!r} (also {seen[rule_id]})")
            else:
                seen[rule_id] = where

    def _settings(self, tier: int, spec: TierModel, calendars: dict[str, Calendar]) -> TierSettings:
        loc: Loc = ("tiers", tier)
        calendar = None
        name = spec.sla.calendar
        if name is not None and name not in ALWAYS_OPEN:
            calendar = calendars.get(name)
            if calendar is None and name not in self.model.calendars:
                known = [*self.model.calendars, *ALWAYS_OPEN]
                self.problem(
                    (*loc, "sla", "calendar"),
                    f"unknown calendar {name!r}{_suggest(name, known)}"
                    f" (defined: {', '.join(known)})",
                )
        ack = spec.actions.acknowledge
        ack_text = self.model.templates.get(ack) if ack is not None else None
        if ack is not None and ack_text is None:
            self.problem(
                (*loc, "actions", "acknowledge"),
                f"unknown template {ack!r}{_suggest(ack, list(self.model.templates))}",
            )
        if ack_text and "{due}" in ack_text and spec.sla.first_response is None:
            self.problem(
                (*loc, "actions", "acknowledge"),
                f"template {ack!r} promises {{due}} but the tier has no sla.first_response",
            )
        breach = spec.on_breach
        if breach is not None and breach.promote_to is not None and breach.promote_to <= tier:
            self.problem(
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

    def condition(self, raw: Any, loc: Loc) -> Condition | None:
        """Compile one condition mapping, recording problems; ``None`` when it is invalid."""
        if not isinstance(raw, dict) or len(raw) != 1:
            count = len(raw) if isinstance(raw, dict) else 0
            hint = " (wrap several in 'all: [...]')" if count > 1 else ""
            self.problem(loc, f"a condition is a mapping with exactly one key{hint}")
            return None
        ((kind, value),) = raw.items()
        here: Loc = (*loc, kind)
        if kind in ("all", "any"):
            if not isinstance(value, list) or not value:
                self.problem(here, f"'{kind}' needs a non-empty list of conditions")
                return None
            parts = [self.condition(item, (*here, i)) for i, item in enumerate(value)]
            if any(p is None for p in parts):
                return None
            return Condition(kind=kind, value=tuple(parts))
        if kind == "not":
            inner = self.condition(value, here)
            return None if inner is None else Condition(kind=kind, value=inner)
        parser = LEAF_PARSERS.get(kind)
        if parser is None:
            self.problem(here, f"unknown condition {kind!r}{_suggest(kind, CONDITION_KINDS)}")
            return None
        try:
            parsed = parser(value)
        except ValueError as err:
            self.problem(self._bad_item(parser, value, here), str(err))
            return None
        if kind == "page":
            items = value if isinstance(value, list) else [value]
            for index, page_id in enumerate(parsed):
                if page_id not in self.page_ids:
                    spot = (*here, index) if isinstance(value, list) else here
                    hint = _suggest(page_id, self.page_ids)
                    self.problem(spot, f"unknown page {items[index]!r}{hint}")
        if kind == "page_urgency":
            for urgency in parsed:
                if urgency not in ("low", "normal", "high"):
                    self.problem(here, f"unknown urgency {urgency!r} (one of: low, normal, high)")
        if kind == "trigger":
            items = value if isinstance(value, list) else [value]
            for index, trigger_id in enumerate(parsed):
                if trigger_id not in self.trigger_ids:
                    spot = (*here, index) if isinstance(value, list) else here
                    hint = _suggest(trigger_id, self.trigger_ids)
                    self.problem(spot, f"unknown trigger {items[index]!r}{hint}")
        return Condition(kind=kind, value=parsed)

    @staticmethod
    def _bad_item(parser: Any, value: Any, loc: Loc) -> Loc:
        # Point at the offending list item, not at the whole list.
        if isinstance(value, list):
            for index, item in enumerate(value):
                try:
                    parser([item])
                except ValueError:
                    return (*loc, index)
        return loc
