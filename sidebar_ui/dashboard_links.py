"""The start page's list narrowed to the tickets behind one of the dashboard's numbers.

A dashboard number links to the start page with the list's own filters (tier, helpdesk,
category) and these: the workspace, the period (``from``/``to``, local days), plan, ARR
band, channel, SLA outcome, hour of day, group, trigger, product area and onboarding age.
``read_narrowing`` checks them field by field; ``narrowing_filter`` turns them into the
store's filter on the dashboard's facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from integration.analytics.facts import AGE_BANDS, ARR_BANDS
from integration.models import Channel
from integration.store.dashboard import DashboardFilter

__all__ = ["NARROW_PARAMS", "describe", "narrowing_filter", "read_narrowing"]

NARROW_PARAMS = ("workspace", "from", "to", "plan", "arr", "channel", "sla", "hour", "group",
                 "trigger", "area", "age")
_CHOICES = {
    "arr": tuple(k for k, *_ in ARR_BANDS) + ("none",),
    "age": tuple(k for k, *_ in AGE_BANDS) + ("none",),
    "channel": tuple(c.value for c in Channel),
    "sla": ("met", "breached"),
}
_MAX = 64
_LABELS = {"workspace": "workspace", "from": "from", "to": "to", "plan": "plan",
           "arr": "ARR", "channel": "channel", "sla": "SLA", "hour": "hour", "group": "group",
           "trigger": "trigger", "area": "area", "age": "onboarding age"}


def read_narrowing(args: Mapping[str, str]) -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    """The narrowing parameters present in ``args``, and what is wrong with them by field."""
    found: list[tuple[str, str]] = []
    errors: dict[str, str] = {}
    for name in NARROW_PARAMS:
        value = " ".join((args.get(name) or "").split())
        if not value:
            continue
        problem = _problem(name, value)
        if problem:
            errors[name] = problem
        else:
            found.append((name, value))
    return tuple(found), errors


def _problem(name: str, value: str) -> str | None:
    if len(value) > _MAX:
        return f"at most {_MAX} characters"
    if name in ("from", "to"):
        try:
            date.fromisoformat(value)
        except ValueError:
            return f"expected a day as YYYY-MM-DD, got {value!r}"
    elif name == "hour" and not (value.isdigit() and 0 <= int(value) <= 23):
        return f"expected an hour from 0 to 23, got {value!r}"
    elif name in _CHOICES and value not in _CHOICES[name]:
        return f"{value!r} is not one of {', '.join(_CHOICES[name])}"
    return None


def narrowing_filter(
    narrow: tuple[tuple[str, str], ...],
    *,
    tenants: Mapping[str, int],
    visible: tuple[int, ...] | None,
) -> DashboardFilter | None:
    """The facts filter of ``narrow`` (None when there is none); "none" means unknown ("")."""
    if not narrow:
        return None
    values = dict(narrow)

    def text(name: str) -> str | None:
        value = values.get(name)
        return None if value is None else ("" if value == "none" else value)

    ids = visible
    if "workspace" in values:
        wanted = tenants.get(values["workspace"], -1)
        ids = (wanted,) if visible is None or wanted in visible else ()
    return DashboardFilter(
        tenant_ids=ids,
        first=date.fromisoformat(values["from"]) if "from" in values else None,
        last=date.fromisoformat(values["to"]) if "to" in values else None,
        plan=text("plan"), arr_band=text("arr"), channel=values.get("channel"),
        sla=values.get("sla"), hour=int(values["hour"]) if "hour" in values else None,
        group=text("group"), trigger=values.get("trigger"), area=text("area"), age=text("age"),
    )


def describe(narrow: tuple[tuple[str, str], ...]) -> str:
    """The narrowing in words, for the note above the list."""
    return ", ".join(f"{_LABELS[k]} {v}" for k, v in narrow)
