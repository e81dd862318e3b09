"""Routing: which group and which agent get an escalated ticket, and why (pure, no I/O).

A tenant's routing settings list groups and agents::

    {"groups": [{"id": "escalations", "skills": ["billing"], "senior": true}],
     "agents": [{"id": "1001", "name": "Ana", "groups": ["escalations"],
                 "skills": ["refund"], "max_open": 8, "aliases": ["ana@example.com"],
                 "calendar": "paris" | {"timezone": "Europe/Paris",
                                        "hours": {"mon-fri": ["09:00-17:00"]}}}]}

``open_count`` and ``away`` may be given too but are live state: ``RoutingTable.with_state``
updates them from the helpdesk. Rules, in the order they apply:

* An agent qualifies for a category when it is among their own skills or the skills of the
  group being routed to; ``other`` needs no skill. They must also be available (not away,
  inside their calendar's hours; no calendar means always) and under ``max_open``.
* Tier 3 goes to the account owner (matched on agent id, name or alias) when available and
  under capacity, whatever their skills; otherwise to the senior group: the matrix group when
  it is senior, else the first senior group, else the matrix group.
* Other tiers go to the matrix group's qualified agents (every agent when the matrix names no
  group). The least loaded wins (open / max_open, then open); ties go to the agent assigned
  longest ago (never assigned counts as longest), then to the order of the settings.
* Nobody qualifies: the group alone, no assignee, and the reason names each agent's obstacle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from integration.calendars import Calendar
from integration.errors import ValidationError
from integration.models import Category, Tier

__all__ = ["Agent", "Group", "RouteChoice", "RoutingTable", "route"]

_NEVER = datetime.min.replace(tzinfo=UTC)
_GROUP_KEYS = frozenset({"id", "skills", "senior"})
_AGENT_KEYS = frozenset(
    {"id", "name", "groups", "skills", "max_open", "open_count", "away", "calendar", "aliases"}
)
_CALENDAR_KEYS = frozenset({"timezone", "hours", "holidays"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Group:
    """A helpdesk group with the categories it handles; ``senior`` groups take Tier 3."""

    id: str
    skills: frozenset[Category] = frozenset()
    senior: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Agent:
    """A routable agent: skills, capacity, live load and working hours (None = always)."""

    id: str
    name: str
    groups: tuple[str, ...] = ()
    skills: frozenset[Category] = frozenset()
    max_open: int = 10
    open_count: int = 0
    away: bool = False
    calendar: Calendar | None = None
    # What the CRM or Slack call this agent (an e-mail, a CRM owner id).
    aliases: frozenset[str] = frozenset()

    @property
    def load(self) -> float:
        """Share of capacity in use."""
        return self.open_count / self.max_open

    def known_as(self, who: str) -> bool:
        """True when ``who`` names this agent (id, name or alias; case-insensitive)."""
        wanted = who.strip().casefold()
        return wanted in {self.id.casefold(), self.name.casefold()} | {
            a.casefold() for a in self.aliases
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class RouteChoice:
    """Where the ticket goes, one sentence saying why, and the agents that were weighed."""

    group: str | None
    assignee: str | None
    reason: str
    considered: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class RoutingTable:
    """A tenant's groups and agents."""

    agents: tuple[Agent, ...] = ()
    groups: tuple[Group, ...] = ()

    @classmethod
    def from_settings(
        cls, settings: Any, *, calendars: Mapping[str, Calendar] | None = None
    ) -> RoutingTable:
        """Validate routing settings; ``calendars`` resolves calendar names (the matrix's)."""
        obj = _object(settings, "routing")
        _no_unknown(obj, frozenset({"groups", "agents"}), "routing")
        groups = tuple(
            _group(g, f"groups[{i}]") for i, g in enumerate(_list(obj, "groups", "routing"))
        )
        _unique([g.id for g in groups], "groups")
        known = {g.id for g in groups}
        agents = tuple(
            _agent(a, f"agents[{i}]", known, calendars or {})
            for i, a in enumerate(_list(obj, "agents", "routing"))
        )
        _unique([a.id for a in agents], "agents")
        return cls(agents=agents, groups=groups)

    def group(self, group_id: str | None) -> Group | None:
        """The group with this id, if the settings define it."""
        return next((g for g in self.groups if g.id == group_id), None)

    def with_state(
        self,
        *,
        open_counts: Mapping[str, int] | None = None,
        away: Mapping[str, bool] | None = None,
    ) -> RoutingTable:
        """This table with live load and away flags (agents not named keep theirs)."""
        counts, flags = open_counts or {}, away or {}
        return replace(
            self,
            agents=tuple(
                replace(a, open_count=counts.get(a.id, a.open_count), away=flags.get(a.id, a.away))
                for a in self.agents
            ),
        )


def route(
    table: RoutingTable,
    *,
    tier: Tier,
    category: Category,
    group: str | None,
    account_owner: str | None,
    now: datetime,
    last_assigned: Mapping[str, datetime],
) -> RouteChoice:
    """Choose a group and an agent for a ticket, explained in one sentence."""
    if now.tzinfo is None:
        raise ValueError("route() needs a time-zone-aware 'now'")
    prefix = ""
    weighed: tuple[str, ...] = ()  # the owner, when Tier 3 passed them over
    if tier is Tier.THREE:
        if account_owner and account_owner.strip():
            owner = next((a for a in table.agents if a.known_as(account_owner)), None)
            if owner is None:
                prefix = f"account owner {account_owner} is not a routable agent, so "
            else:
                obstacle = _unavailable(owner, now)
                if obstacle is None:
                    return RouteChoice(
                        group=_owner_group(table, owner, group),
                        assignee=owner.id,
                        reason=(
                            f"Tier 3: assigned to the account owner {owner.name} "
                            f"({owner.open_count}/{owner.max_open} open)."
                        ),
                        considered=(owner.id,),
                    )
                prefix, weighed = f"account owner {owner.name} is {obstacle}, so ", (owner.id,)
        group = _senior_group(table, group)
        prefix = f"Tier 3: {prefix}"
    choice = _pick(table, group, category, now, last_assigned, prefix)
    if weighed:
        choice = replace(choice, considered=tuple(dict.fromkeys(weighed + choice.considered)))
    return choice


def _pick(
    table: RoutingTable,
    group: str | None,
    category: Category,
    now: datetime,
    last_assigned: Mapping[str, datetime],
    prefix: str,
) -> RouteChoice:
    where = f"in {group}" if group else "in any group"
    members = [a for a in table.agents if group is None or group in a.groups]
    considered = tuple(a.id for a in members)
    if not members:
        reason = f"no agent is a member of {group}" if group else "no agents are configured"
        return RouteChoice(group=group, assignee=None, reason=_sentence(prefix + reason))
    group_skills = g.skills if (g := table.group(group)) else frozenset()
    skilled = [
        a for a in members if category is Category.OTHER or category in a.skills | group_skills
    ]
    skill = "" if category is Category.OTHER else f" with skill {category.value}"
    if not skilled:
        reason = f"no agent {where} has skill {category.value}"
        return RouteChoice(
            group=group, assignee=None, reason=_sentence(prefix + reason), considered=considered
        )
    obstacles = [(a, _unavailable(a, now)) for a in skilled]
    ready = [a for a, why in obstacles if why is None]
    if not ready:
        why = ", ".join(f"{a.name} {o}" for a, o in obstacles)
        reason = f"no agent {where}{skill} is available: {why}"
        return RouteChoice(
            group=group, assignee=None, reason=_sentence(prefix + reason), considered=considered
        )
    least = min((a.load, a.open_count) for a in ready)
    tied = [a for a in ready if (a.load, a.open_count) == least]
    order = {a.id: i for i, a in enumerate(table.agents)}
    chosen = min(tied, key=lambda a: (last_assigned.get(a.id, _NEVER), order[a.id]))
    load = f"{chosen.open_count}/{chosen.max_open} open"
    if len(ready) == 1:
        how = f"the only available agent{skill} ({load})"
    elif len(tied) == 1:
        how = f"least loaded of {len(ready)} available agents{skill} ({load})"
    else:
        others = ", ".join(a.name for a in tied if a is not chosen)
        when = last_assigned.get(chosen.id)
        turn = "never assigned before" if when is None else "assigned longest ago"
        how = f"tied with {others} at {load}, {turn} (round-robin)"
    reason = f"assigned to {chosen.name} {where}: {how}"
    return RouteChoice(
        group=group, assignee=chosen.id, reason=_sentence(prefix + reason), considered=considered
    )


def _unavailable(agent: Agent, now: datetime) -> str | None:
    """Why the agent cannot take a ticket now, or None when they can."""
    if agent.away:
        return "away"
    if agent.open_count >= agent.max_open:
        return f"at capacity {agent.open_count}/{agent.max_open}"
    if agent.calendar is not None:
        try:
            working = agent.calendar.is_open(now)
        except ValueError:  # a calendar with no open time ahead never works
            working = False
        if not working:
            return "outside working hours"
    return None


def _senior_group(table: RoutingTable, group: str | None) -> str | None:
    matrix_group = table.group(group)
    if matrix_group is not None and matrix_group.senior:
        return group
    return next((g.id for g in table.groups if g.senior), group)


def _owner_group(table: RoutingTable, owner: Agent, group: str | None) -> str | None:
    # Helpdesks refuse an assignee outside the ticket's group: keep the matrix group only
    # when the owner belongs to it.
    if group is not None and group in owner.groups:
        return group
    senior = [g for g in owner.groups if (found := table.group(g)) and found.senior]
    return senior[0] if senior else (owner.groups[0] if owner.groups else group)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


# --- settings readers that name the bad field -------------------------------------------


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(path, f"expected an object, got {_kind(value)}")
    return value


def _no_unknown(obj: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    unknown = sorted(str(k) for k in obj if k not in allowed)
    if unknown:
        raise ValidationError(
            f"{path}.{unknown[0]}", f"unknown setting; expected one of {', '.join(sorted(allowed))}"
        )


def _list(obj: Mapping[str, Any], key: str, path: str) -> Sequence[Any]:
    value = obj.get(key, [])
    if not isinstance(value, list):
        where = key if path == "routing" else f"{path}.{key}"
        raise ValidationError(where, f"expected a list, got {_kind(value)}")
    return value


def _text(obj: Mapping[str, Any], key: str, path: str, *, default: str | None = None) -> str:
    value = obj.get(key, default)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # helpdesk ids are often numbers
    if not isinstance(value, str) or not value.strip():
        got = "is required" if value is None else f"expected a non-empty string, got {value!r}"
        raise ValidationError(f"{path}.{key}", got)
    return value.strip()


def _flag(obj: Mapping[str, Any], key: str, path: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise ValidationError(f"{path}.{key}", f"expected true or false, got {_kind(value)}")
    return value


def _count(obj: Mapping[str, Any], key: str, path: str, *, default: int, least: int) -> int:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{path}.{key}", f"expected a whole number, got {value!r}")
    if value < least:
        raise ValidationError(f"{path}.{key}", f"must be at least {least}, got {value}")
    return value


def _strings(obj: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    values = _list(obj, key, path)
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(
                f"{path}.{key}[{i}]", f"expected a non-empty string, got {value!r}"
            )
    return tuple(v.strip() for v in values)


def _skills(obj: Mapping[str, Any], key: str, path: str) -> frozenset[Category]:
    found: set[Category] = set()
    for i, value in enumerate(_strings(obj, key, path)):
        try:
            found.add(Category(value))
        except ValueError as err:
            allowed = ", ".join(c.value for c in Category)
            raise ValidationError(
                f"{path}.{key}[{i}]", f"{value!r} is not one of: {allowed}"
            ) from err
    return frozenset(found)


def _unique(ids: list[str], path: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value in seen:
            raise ValidationError(f"{path}[{i}].id", f"duplicate id {value!r}")
        seen.add(value)


def _group(value: Any, path: str) -> Group:
    obj = _object(value, path)
    _no_unknown(obj, _GROUP_KEYS, path)
    return Group(
        id=_text(obj, "id", path),
        skills=_skills(obj, "skills", path),
        senior=_flag(obj, "senior", path),
    )


def _agent(value: Any, path: str, groups: set[str], calendars: Mapping[str, Calendar]) -> Agent:
    obj = _object(value, path)
    _no_unknown(obj, _AGENT_KEYS, path)
    agent_id = _text(obj, "id", path)
    member_of = _strings(obj, "groups", path)
    for i, group in enumerate(member_of):
        if group not in groups:
            raise ValidationError(f"{path}.groups[{i}]", f"unknown group {group!r}")
    return Agent(
        id=agent_id,
        name=_text(obj, "name", path, default=agent_id),
        groups=member_of,
        skills=_skills(obj, "skills", path),
        max_open=_count(obj, "max_open", path, default=10, least=1),
        open_count=_count(obj, "open_count", path, default=0, least=0),
        away=_flag(obj, "away", path),
        calendar=_calendar(obj.get("calendar"), f"{path}.calendar", calendars),
        aliases=frozenset(_strings(obj, "aliases", path)),
    )


def _calendar(value: Any, path: str, calendars: Mapping[str, Calendar]) -> Calendar | None:
    if value is None or value == "24x7":
        return None
    if isinstance(value, str):
        if value not in calendars:
            known = ", ".join(sorted(calendars)) or "none defined"
            raise ValidationError(path, f"unknown calendar {value!r} (known: {known})")
        return calendars[value]
    obj = _object(value, path)
    _no_unknown(obj, _CALENDAR_KEYS, path)
    timezone = _text(obj, "timezone", path)
    hours = _object(obj.get("hours"), f"{path}.hours")
    spec = {str(days): _strings(hours, str(days), f"{path}.hours") for days in hours}
    holidays = _strings(obj, "holidays", path)
    try:
        return Calendar.build(timezone=timezone, hours=spec, holidays=holidays)
    except (ValueError, TypeError) as err:
        raise ValidationError(path, str(err)) from err
