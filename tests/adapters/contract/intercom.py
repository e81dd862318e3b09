"""The Intercom kit for the contract suite, built from the Intercom fixtures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import requests
import responses

from adapters.helpdesk.common import BOT_MARKER
from adapters.helpdesk.intercom import IntercomAdapter
from tests import recorded
from tests.adapters.contract import ContractKit
from tests.adapters.test_intercom import (
    ADMIN,
    API,
    CONV,
    INSTALL,
    TEAMS,
    TIER_ATTRIBUTE,
    WEBHOOKS,
    load,
    mock_apply,
    mock_fetch,
    raw,
    sign,
)


def make_adapter(session: requests.Session) -> IntercomAdapter:
    """An Intercom adapter as an install configures it."""
    adapter: IntercomAdapter = INSTALL.adapter(session=session)
    return adapter


def _sign(body: bytes, when: datetime) -> dict[str, str]:
    return sign(body)  # Intercom signs no timestamp


def check_apply(calls: Sequence[responses.Call]) -> None:
    """Tags by id, priority as our tag, the tier attribute, a team assignment, note then reply."""
    writes = [
        (c.request.method, c.request.path_url, json.loads(recorded.body(c.request) or b"null"))
        for c in calls
        if c.request.method != "GET" and c.request.path_url != "/tags"
    ]
    base = f"/conversations/{CONV}"
    assert writes[0] == ("PUT", base, {"custom_attributes": {TIER_ATTRIBUTE: 3}})
    tagged = [b["id"] for m, p, b in writes if (m, p) == ("POST", f"{base}/tags")]
    assert tagged == ["203", "204", "205"]  # tier 3, refund, escalade_priority_urgent
    assert ("DELETE", f"{base}/tags/202", {"admin_id": ADMIN}) in writes
    replies = [b for m, p, b in writes if p == f"{base}/reply"]
    assert [r["message_type"] for r in replies] == ["note", "comment"]
    assert all(r["body"].endswith(f"<p>{BOT_MARKER}</p>") for r in replies)
    [assignment] = [b for m, p, b in writes if p == f"{base}/parts"]
    assert (assignment["type"], assignment["assignee_id"]) == ("team", TEAMS["escalations"])


KIT = ContractKit(
    identifier="intercom",
    make_adapter=make_adapter,
    sign=_sign,
    events={name: raw(name) for name in WEBHOOKS},
    ticket_id=CONV,
    unknown_event=raw("contact_created.json"),
    register_fetch=mock_fetch,
    register_apply=mock_apply,
    check_apply=check_apply,
    write_call=("PUT", f"{API}/conversations/{CONV}"),
    who_am_i=(f"{API}/me", load("me.json")),
    register_groups=lambda rsps: rsps.get(f"{API}/teams", json=load("teams.json")),
    signed_in_as="Intercom: signed in as Escalade in workspace Acme",
)
