"""The Zendesk kit for the contract suite, built from the Zendesk fixtures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import requests
import responses

from adapters.helpdesk.zendesk import ZendeskAdapter
from tests import recorded
from tests.adapters.contract import ContractKit
from tests.adapters.test_zendesk import (
    API,
    BOT,
    GROUPS,
    INSTALL,
    TIER_FIELD,
    load,
    mock_fetch,
    sign,
)

FIXTURES = ("ticket_created.json", "ticket_comment_added.json", "trigger_ticket_updated.json")


def make_adapter(session: requests.Session) -> ZendeskAdapter:
    """A Zendesk adapter as an install configures it."""
    adapter: ZendeskAdapter = INSTALL.adapter(session=session)
    return adapter


def _sign(body: bytes, when: datetime) -> dict[str, str]:
    return sign(body, when.strftime("%Y-%m-%dT%H:%M:%SZ"))


def register_apply(rsps: responses.RequestsMock) -> None:
    """The tag read and the ticket updates."""
    rsps.get(f"{API}/tickets/4711.json", json=load("ticket_show.json"))
    rsps.put(f"{API}/tickets/4711.json", json=load("ticket_update.json"))


def check_apply(calls: Sequence[responses.Call]) -> None:
    """One combined update, then the public reply, in Zendesk's field names."""
    puts = [recorded.sent_json(c.request) for c in calls if c.request.method == "PUT"]
    assert len(puts) == 2
    first, second = puts[0]["ticket"], puts[1]["ticket"]
    assert "escalade_tier_3" in first["tags"] and "escalade_tier_1" not in first["tags"]
    assert first["priority"] == "urgent"
    assert first["group_id"] == GROUPS["escalations"]
    assert {"id": TIER_FIELD, "value": 3} in first["custom_fields"]
    assert first["comment"]["public"] is False
    assert second["comment"]["public"] is True


KIT = ContractKit(
    identifier="zendesk",
    make_adapter=make_adapter,
    sign=_sign,
    events={name: json.dumps(load(name)).encode() for name in FIXTURES},
    ticket_id="4711",
    unknown_event=json.dumps(load("user_active_changed.json")).encode(),
    register_fetch=mock_fetch,
    register_apply=register_apply,
    check_apply=check_apply,
    write_call=("PUT", f"{API}/tickets/4711.json"),
    who_am_i=(f"{API}/users/me.json",
              {"user": {"id": BOT, "name": "Escalade Bot", "role": "admin"}}),
    register_groups=lambda rsps: rsps.get(f"{API}/groups.json", json=load("groups_page2.json")),
    signed_in_as="Zendesk: signed in as Escalade Bot (admin)",
)
