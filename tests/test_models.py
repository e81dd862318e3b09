"""The normalized model: JSON round-trip and validation that names the bad field."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest

from integration.errors import ValidationError
from integration.models import Account, Category, Decision, Priority, RuleHit, Ticket, Tier
from tests.conftest import make_ticket

FULL = make_ticket(
    account={"id": "c9", "name": "BigCo", "domain": "bigco.com", "plan": "enterprise",
             "arr": 180000, "health": 0.35, "owner": "am@ourco.com"},
    page_url="https://app.example.com/settings/billing",
    csat=0.5,
    tags=["vip"],
    custom={"region": "eu"},
)


def test_round_trip_is_lossless() -> None:
    ticket = Ticket.from_dict(FULL)
    assert Ticket.from_dict(json.loads(json.dumps(ticket.to_dict()))) == ticket
    assert ticket.to_dict()["account"]["arr"] == 180000
    assert ticket.account == Account(id="c9", name="BigCo", domain="bigco.com", plan="enterprise",
                                     arr=180000.0, health=0.35, owner="am@ourco.com")



def test_a_ticket_crosses_to_a_worker_process_whole() -> None:
    ticket = Ticket.from_dict(FULL)
    for copied in (pickle.loads(pickle.dumps(ticket, protocol=5)), copy.deepcopy(ticket)):
        assert copied == ticket and copied is not ticket
        assert copied.account == ticket.account and copied.messages == ticket.messages
    # The state is the fields in order, nothing else (what a worker rebuilds from).
    state: Any = ticket.__getstate__()
    assert state[:2] == (ticket.tenant, ticket.helpdesk)
    blank: Any = Ticket.__new__(Ticket)
    with pytest.raises(ValueError, match="Ticket takes"):
        blank.__setstate__(("too", "short"))

def test_account_lifecycle_and_renewal_date_round_trip_when_present() -> None:
    data = dict(FULL, account={**FULL["account"], "lifecycle": "customer",
                               "renewal_date": "2027-01-31"})
    ticket = Ticket.from_dict(data)
    assert ticket.account is not None
    assert (ticket.account.lifecycle, str(ticket.account.renewal_date)) == (
        "customer", "2027-01-31")
    assert Ticket.from_dict(json.loads(json.dumps(ticket.to_dict()))) == ticket
    assert "renewal_date" not in Ticket.from_dict(FULL).to_dict()["account"]
    bad = dict(FULL, account={**FULL["account"], "renewal_date": "next spring"})
    with pytest.raises(ValidationError) as err:
        Ticket.from_dict(bad)
    assert err.value.field == "account.renewal_date"


def test_optional_fields_may_be_absent() -> None:
    ticket = Ticket.from_dict(make_ticket())
    assert ticket.account is None and ticket.page_url is None and ticket.csat is None
    assert "account" not in ticket.to_dict()


def test_numeric_id_is_accepted_as_string() -> None:
    assert Ticket.from_dict(make_ticket(id=4711)).id == "4711"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"created_at": "2026-11-02T09:14:00"}, "created_at"),
        ({"requester": None}, "requester"),
        ({"requester": {"email": "x@y.z"}}, "requester.id"),
        ({"messages": [{"id": "m1", "author": "customer", "body": "x",
                        "created_at": "nope"}]}, "messages[0].created_at"),
        ({"messages": [{"id": "m1", "author": "robot", "body": "x",
                        "created_at": "2026-11-02T09:14:00Z"}]}, "messages[0].author"),
        ({"account": {"id": "c1", "health": 1.7}}, "account.health"),
        ({"account": {"id": "c1", "arr": "lots"}}, "account.arr"),
        ({"tags": "vip"}, "tags"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_validation_names_the_bad_field(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Ticket.from_dict({**FULL, **patch})
    assert info.value.field == field
    assert field in str(info.value)


def test_missing_tenant_is_named() -> None:
    data = dict(FULL)
    del data["tenant"]
    with pytest.raises(ValidationError, match="tenant: is required"):
        Ticket.from_dict(data)


def test_decision_serializes_like_the_wire_format() -> None:
    decision = Decision(ticket_id="4711", tier=Tier.THREE, priority=Priority.URGENT,
                        category=Category.REFUND, sentiment=-0.61234, triggers=("refund",),
                        rules=(RuleHit(rule_id="tier3.refund", reason="asked for a refund"),),
                        matrix_version="v1-abc")
    out = decision.to_dict()
    for key in ("id", "tier", "priority", "category", "sentiment", "triggers", "reasons",
                "sla_due_at", "route", "matrix_version"):
        assert key in out
    assert out["tier"] == 3 and out["reasons"] == ["asked for a refund"]
    assert out["sentiment"] == -0.612


def test_evolve_is_replace_for_signals_and_refuses_derived_fields() -> None:
    from dataclasses import replace

    from integration.models import Evidence, Signals, evolve

    signals = Signals(category=Category.BUG, category_confidence=0.8, sentiment=-0.2,
                      evidence=(Evidence(kind="category", text="bug: 'error'"),))
    changed = evolve(signals, repeat_contacts=3, evidence=())
    assert changed == replace(signals, repeat_contacts=3, evidence=())
    assert changed.repeat_contacts == 3 and signals.repeat_contacts != 3
    assert changed.category is Category.BUG and changed is not signals
    with pytest.raises(KeyError):
        evolve(signals, no_such_field=1)
    ticket = Ticket.from_dict(make_ticket())
    with pytest.raises(TypeError, match="__post_init__"):
        evolve(ticket, id="other")


def test_customer_messages_follow_the_messages_through_replace_and_pickle() -> None:
    from dataclasses import replace

    data = make_ticket()
    ticket = Ticket.from_dict(data)
    assert [m.body for m in ticket.customer_messages] == [m["body"] for m in data["messages"]]
    assert ticket.customer_messages
    emptied = replace(ticket, messages=())
    assert emptied.customer_messages == ()
    assert pickle.loads(pickle.dumps(ticket)).customer_messages == ticket.customer_messages
    assert Priority.URGENT.rank == 3 and Priority.LOW.rank == 0
