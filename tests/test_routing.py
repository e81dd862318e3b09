"""Routing: skills, capacity, availability, Tier 3 owners, least load, round-robin, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integration.calendars import Calendar
from integration.errors import ValidationError
from integration.models import Category, Tier
from integration.routing import RouteChoice, RoutingTable, route

# A Wednesday, 10:00 in Paris.
NOW = datetime(2024, 3, 6, 9, 0, tzinfo=UTC)
PARIS = {"timezone": "Europe/Paris", "hours": {"mon-fri": ["09:00-17:00"]}}


def agent(id: str, **extra: Any) -> dict[str, Any]:
    return {"id": id, "name": id.capitalize(), "groups": ["support"], **extra}


def table(*agents: dict[str, Any], groups: list[dict[str, Any]] | None = None) -> RoutingTable:
    return RoutingTable.from_settings(
        {
            "groups": groups
            if groups is not None
            else [
                {"id": "support", "skills": ["how_to"]},
                {"id": "escalations", "skills": ["billing"], "senior": True},
            ],
            "agents": list(agents),
        }
    )


def pick(
    routing: RoutingTable,
    *,
    tier: Tier = Tier.TWO,
    category: Category = Category.BILLING,
    group: str | None = "support",
    owner: str | None = None,
    now: datetime = NOW,
    last: dict[str, datetime] | None = None,
) -> RouteChoice:
    return route(
        routing,
        tier=tier,
        category=category,
        group=group,
        account_owner=owner,
        now=now,
        last_assigned=last or {},
    )


def test_only_agents_with_the_skill_qualify() -> None:
    routing = table(agent("ana", skills=["refund"]), agent("ben", skills=["billing"]))
    choice = pick(routing)
    assert choice.assignee == "ben"
    assert choice.group == "support"
    assert choice.considered == ("ana", "ben")
    assert choice.reason == (
        "Assigned to Ben in support: the only available agent with skill billing (0/10 open)."
    )


def test_group_skills_count_for_every_member() -> None:
    routing = table(agent("ana"), agent("ben", open_count=3))
    choice = pick(routing, category=Category.HOW_TO)
    assert choice.assignee == "ana"
    assert "least loaded of 2 available agents with skill how_to" in choice.reason


def test_other_category_needs_no_skill() -> None:
    choice = pick(table(agent("ana")), category=Category.OTHER)
    assert choice.assignee == "ana"
    assert "skill" not in choice.reason


def test_agent_at_capacity_is_skipped() -> None:
    routing = table(
        agent("ana", skills=["billing"], max_open=8, open_count=8),
        agent("ben", skills=["billing"], max_open=8, open_count=7),
    )
    assert pick(routing).assignee == "ben"


def test_away_agent_is_skipped() -> None:
    routing = table(agent("ana", skills=["billing"], away=True), agent("ben", skills=["billing"]))
    assert pick(routing).assignee == "ben"


def test_agent_outside_working_hours_is_skipped() -> None:
    routing = table(
        agent("ana", skills=["billing"], calendar=PARIS),
        agent("ben", skills=["billing"], open_count=5, calendar=PARIS),
    )
    assert pick(routing).assignee == "ana"
    evening = NOW + timedelta(hours=9)  # 19:00 in Paris
    choice = pick(routing, now=evening)
    assert choice.assignee is None
    assert choice.reason == (
        "No agent in support with skill billing is available: "
        "Ana outside working hours, Ben outside working hours."
    )


def test_named_calendar_resolves_from_the_matrix_calendars() -> None:
    paris = Calendar.build(timezone="Europe/Paris", hours={"mon-fri": ["09:00-17:00"]})
    routing = RoutingTable.from_settings(
        {"groups": [{"id": "support"}], "agents": [agent("ana", calendar="paris")]},
        calendars={"paris": paris},
    )
    assert routing.agents[0].calendar is paris
    assert pick(routing, category=Category.OTHER, now=NOW + timedelta(hours=9)).assignee is None


def test_tier3_goes_to_the_account_owner() -> None:
    routing = table(
        agent("ana", skills=["billing"]),
        {"id": "77", "name": "Olga", "groups": ["escalations"], "aliases": ["olga@acme.io"]},
    )
    choice = pick(routing, tier=Tier.THREE, owner="OLGA@acme.io", group="support")
    assert choice.assignee == "77"
    # The owner is not in the matrix group, so the ticket moves to a group they belong to.
    assert choice.group == "escalations"
    assert choice.reason == "Tier 3: assigned to the account owner Olga (0/10 open)."
    assert choice.considered == ("77",)


def test_tier3_owner_unavailable_falls_back_to_senior_group() -> None:
    routing = table(
        agent("ana", skills=["billing"]),
        {"id": "olga", "name": "Olga", "groups": ["escalations"], "away": True},
        {"id": "sam", "name": "Sam", "groups": ["escalations"], "open_count": 2},
        {"id": "tom", "name": "Tom", "groups": ["escalations"], "open_count": 4},
    )
    choice = pick(routing, tier=Tier.THREE, owner="olga", group="support")
    assert (choice.group, choice.assignee) == ("escalations", "sam")
    assert choice.reason.startswith("Tier 3: account owner Olga is away, so assigned to Sam")
    assert "olga" in choice.considered


def test_tier3_owner_not_an_agent_is_explained() -> None:
    routing = table({"id": "sam", "name": "Sam", "groups": ["escalations"]})
    choice = pick(routing, tier=Tier.THREE, owner="someone@crm.example")
    assert choice.assignee == "sam"
    assert "account owner someone@crm.example is not a routable agent" in choice.reason


def test_tier3_owner_at_capacity_outside_senior_group_is_still_listed_as_considered() -> None:
    routing = table(
        agent("olga", skills=["billing"], max_open=2, open_count=2),
        {"id": "sam", "name": "Sam", "groups": ["escalations"]},
    )
    choice = pick(routing, tier=Tier.THREE, owner="olga")
    assert (choice.group, choice.assignee) == ("escalations", "sam")
    assert choice.considered == ("olga", "sam")
    assert choice.reason == (
        "Tier 3: account owner Olga is at capacity 2/2, so assigned to Sam in escalations: "
        "the only available agent with skill billing (0/10 open)."
    )


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        pick(table(agent("ana")), now=NOW.replace(tzinfo=None))


def test_tier3_without_senior_group_uses_the_matrix_group() -> None:
    routing = table(agent("ana", skills=["billing"]), groups=[{"id": "support"}])
    choice = pick(routing, tier=Tier.THREE)
    assert (choice.group, choice.assignee) == ("support", "ana")


def test_least_loaded_by_share_of_capacity() -> None:
    routing = table(
        agent("ana", skills=["billing"], max_open=4, open_count=2),  # 50 %
        agent("ben", skills=["billing"], max_open=10, open_count=3),  # 30 %
    )
    choice = pick(routing)
    assert choice.assignee == "ben"
    assert "least loaded of 2 available agents with skill billing (3/10 open)" in choice.reason


def test_round_robin_breaks_ties() -> None:
    routing = table(
        agent("ana", skills=["billing"], open_count=1),
        agent("ben", skills=["billing"], open_count=1),
        agent("cid", skills=["billing"], open_count=1),
    )
    last = {"ana": NOW - timedelta(minutes=5), "ben": NOW - timedelta(hours=2)}
    assert pick(routing, last=last).assignee == "cid"  # never assigned
    last["cid"] = NOW
    choice = pick(routing, last=last)
    assert choice.assignee == "ben"
    assert choice.reason == (
        "Assigned to Ben in support: tied with Ana, Cid at 1/10 open, "
        "assigned longest ago (round-robin)."
    )


def test_nobody_available_keeps_the_group_and_says_why() -> None:
    routing = table(
        agent("ana", skills=["billing"], away=True),
        agent("ben", skills=["billing"], max_open=8, open_count=8),
        agent("cid", skills=["refund"]),
    )
    choice = pick(routing)
    assert (choice.group, choice.assignee) == ("support", None)
    assert choice.reason == (
        "No agent in support with skill billing is available: Ana away, Ben at capacity 8/8."
    )


def test_nobody_with_the_skill_or_in_the_group() -> None:
    routing = table(agent("ana", skills=["refund"]))
    assert pick(routing).reason == "No agent in support has skill billing."
    empty = pick(routing, group="escalations")
    assert (empty.assignee, empty.reason) == (None, "No agent is a member of escalations.")


def test_no_matrix_group_routes_across_all_agents() -> None:
    routing = table(agent("ana", skills=["billing"]))
    choice = pick(routing, group=None)
    assert (choice.group, choice.assignee) == (None, "ana")
    assert "in any group" in choice.reason


def test_with_state_updates_live_load() -> None:
    routing = table(agent("ana", skills=["billing"]), agent("ben", skills=["billing"]))
    live = routing.with_state(open_counts={"ana": 5}, away={"ben": True})
    assert pick(live).assignee == "ana"
    assert live.agents[0].open_count == 5
    assert routing.agents[0].open_count == 0


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ([], "routing"),
        ({"agents": {}}, "agents"),
        ({"agnets": []}, "routing.agnets"),
        ({"groups": [{"skills": []}]}, "groups[0].id"),
        ({"groups": [{"id": "a", "skills": ["money"]}]}, "groups[0].skills[0]"),
        ({"groups": [{"id": "a"}, {"id": "a"}]}, "groups[1].id"),
        ({"groups": [{"id": "a", "senior": "yes"}]}, "groups[0].senior"),
        ({"agents": [{"id": "x"}, {"id": "y"}, {"id": "z", "max_open": 0}]}, "agents[2].max_open"),
        ({"agents": [{"id": "x", "max_open": "8"}]}, "agents[0].max_open"),
        ({"agents": [{"id": "x", "open_count": -1}]}, "agents[0].open_count"),
        ({"agents": [{"id": "x", "groups": ["nope"]}]}, "agents[0].groups[0]"),
        ({"agents": [{"id": "x"}, {"id": "x"}]}, "agents[1].id"),
        ({"agents": [{"id": "x", "calendar": "paris"}]}, "agents[0].calendar"),
        ({"agents": [{"id": "x", "calendar": {"hours": {}}}]}, "agents[0].calendar.timezone"),
        (
            {"agents": [{"id": "x", "calendar": {"timezone": "Mars/Olympus", "hours": {}}}]},
            "agents[0].calendar",
        ),
        (
            {"agents": [{"id": "x", "calendar": {"timezone": "UTC", "hours": {"mon": "9-5"}}}]},
            "agents[0].calendar.hours.mon",
        ),
        ({"agents": [{"id": "x", "skils": ["billing"]}]}, "agents[0].skils"),
    ],
)
def test_bad_settings_name_the_field(settings: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RoutingTable.from_settings(settings)
    assert caught.value.field == field


def test_numeric_ids_and_defaults() -> None:
    routing = RoutingTable.from_settings({"agents": [{"id": 1001}]})
    only = routing.agents[0]
    assert (only.id, only.name, only.max_open, only.open_count, only.away) == (
        "1001",
        "1001",
        10,
        0,
        False,
    )
    assert only.calendar is None
