"""The Freshdesk kit for the contract suite, built from the Freshdesk fixtures.

Freshdesk signs no webhook: a request proves itself with the shared secret (here HTTP Basic, as
the automation rule's "Requires authentication" sends it), which says nothing of the body and
carries no timestamp. The suite's tampered-body check cannot hold for such a vendor, so the
kit declares ``signs_body=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import requests
import responses

from adapters.helpdesk.freshdesk import FreshdeskAdapter
from tests import recorded
from tests.adapters.contract import ContractKit
from tests.adapters.kit import validate_calls
from tests.adapters.test_freshdesk import (
    API,
    GROUPS,
    INSTALL,
    SECRET,
    TIER_FIELD,
    basic,
    load,
    mock_fetch,
    raw,
)

EVENTS = (
    "rule_ticket_created.json",
    "rule_note_added.json",
    "fdk_ticket_updated.json",
    "fdk_conversation_created.json",
)


def make_adapter(session: requests.Session) -> FreshdeskAdapter:
    """A Freshdesk adapter as an install configures it."""
    adapter: FreshdeskAdapter = INSTALL.adapter(session=session)
    return adapter


def sign(body: bytes, when: datetime) -> dict[str, str]:
    """The credentials the automation rule sends; Freshdesk signs neither body nor time."""
    return {"Content-Type": "application/json", **basic("escalade", SECRET)}


def register_fetch(rsps: responses.RequestsMock) -> None:
    """The ticket, two pages of conversations and the company."""
    mock_fetch(rsps)


def register_apply(rsps: responses.RequestsMock) -> None:
    """The tag read, the update, the private note and the reply."""
    rsps.get(f"{API}/tickets/4711", json=load("ticket_view.json"))
    rsps.put(f"{API}/tickets/4711", json=load("ticket_updated.json"))
    rsps.post(f"{API}/tickets/4711/notes", json=load("note_created.json"), status=201)
    rsps.post(f"{API}/tickets/4711/reply", json=load("reply_created.json"), status=201)


def check_apply(calls: Sequence[responses.Call]) -> None:
    """One update in Freshdesk's codes, then a private note, then the public reply."""
    writes = [c for c in calls if c.request.method != "GET"]
    assert [(c.request.method, recorded.url(c.request).removeprefix(API)) for c in writes] == [
        ("PUT", "/tickets/4711"),
        ("POST", "/tickets/4711/notes"),
        ("POST", "/tickets/4711/reply"),
    ]
    update, note, reply = (recorded.sent_json(c.request) for c in writes)
    assert "escalade_tier_3" in update["tags"] and "escalade_tier_1" not in update["tags"]
    assert update["priority"] == 4
    assert update["group_id"] == GROUPS["escalations"]
    assert update["custom_fields"] == {TIER_FIELD: 3}
    assert note["private"] is True
    assert "a specialist has your request" in reply["body"]
    validate_calls("freshdesk", calls)


KIT = ContractKit(
    identifier="freshdesk",
    make_adapter=make_adapter,
    sign=sign,
    events={name: raw(name) for name in EVENTS},
    ticket_id="4711",
    unknown_event=raw("rule_time_entry_added.json"),
    register_fetch=register_fetch,
    register_apply=register_apply,
    check_apply=check_apply,
    write_call=("PUT", f"{API}/tickets/4711"),
    who_am_i=(f"{API}/agents/me",
              {"id": 9001, "contact": {"name": "Escalade Bot", "email": "bot@acme.example"}}),
    register_groups=lambda rsps: rsps.get(f"{API}/groups", json=load("groups_page2.json")),
    signed_in_as="Freshdesk: signed in as Escalade Bot",
    signs_body=False,
)
