"""Write-backs on every helpdesk: a missing group mapping never blocks, a note lands once.

Each vendor is a small stateful fake (``tests/fake_helpdesks.py``) behind ``responses``; every
request the adapter sends, and every faked answer, is checked against the vendor's API
description (Freshdesk: the project's schemas written from its documentation).
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
import requests
import responses

from adapters.helpdesk.base import HelpdeskAdapter, HelpdeskConfig
from adapters.helpdesk.common import marker_refs
from adapters.registry import build_adapter
from integration.errors import RetriableError
from integration.models import Action, ActionKind
from integration.outbox import with_refs
from tests.adapters import kit
from tests.fake_helpdesks import (
    FAKES,
    FakeFreshdesk,
    FakeHelpdesk,
    FakeIntercom,
    FakeZendesk,
    mount,
)

VENDORS = tuple(FAKES)
NOUN = {"zendesk": "Zendesk group", "freshdesk": "Freshdesk group", "intercom": "Intercom team"}
OPTION = {"zendesk": "group_ids", "freshdesk": "group_ids", "intercom": "team_ids"}
MAPPED = {"escalations": 3002}


def helpdesk(kind: ActionKind, **payload: object) -> Action:
    """A helpdesk action."""
    return Action(kind=kind, target="helpdesk", payload=payload)


TIER_2 = (
    helpdesk(ActionKind.ADD_TAGS, tags=["escalade_tier_2"]),
    helpdesk(ActionKind.SET_PRIORITY, priority="high"),
    helpdesk(ActionKind.ASSIGN, group="support_tier_2"),
    helpdesk(ActionKind.SET_FIELD, field="tier", value=2),
    helpdesk(ActionKind.INTERNAL_NOTE, body="Tier 2: billing question from an enterprise account."),
    helpdesk(ActionKind.PUBLIC_REPLY, body="Hi Dana, an agent replies within 4 business hours."),
)


@pytest.fixture(params=VENDORS)
def fake(request: pytest.FixtureRequest) -> FakeHelpdesk:
    """Each vendor's fake in turn."""
    return FAKES[request.param]()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """A transport that refuses anything not routed to a fake."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def adapter_for(fake: FakeHelpdesk, group_ids: dict[str, int]) -> HelpdeskAdapter:
    """The vendor's adapter configured as ``fake.tenant`` describes the install."""
    tenant = fake.tenant(None, group_ids=group_ids)
    config = HelpdeskConfig(
        tenant="acme", helpdesk=fake.identifier, base_url=tenant["base_url"],
        credentials={k: v for k, v in tenant["secrets"].items() if k != "webhook_secret"},
        webhook_secret=tenant["secrets"]["webhook_secret"], options=tenant["settings"],
    )
    return build_adapter(config, session=requests.Session(), timeout=3.0)


def validate(fake: FakeHelpdesk, rsps: responses.RequestsMock) -> None:
    """Every request (and every answer that came) has the vendor's documented shape."""
    kit.validate_calls(fake.identifier, rsps.calls)


def plain(body: str) -> str:
    """A written body as an agent reads it (Freshdesk and Intercom take HTML)."""
    return html.unescape(body)


def group_writes(fake: FakeHelpdesk) -> list[object]:
    """Whatever the fake was asked to move the ticket to a group or team."""
    if isinstance(fake, FakeIntercom):
        return [a for a in fake.assignments if a["type"] == "team"]
    assert isinstance(fake, (FakeZendesk, FakeFreshdesk))
    return [u["group_id"] for u in fake.updates if "group_id" in u]


# --- a missing group mapping ----------------------------------------------------------------


def test_an_unmapped_group_is_skipped_and_said_in_the_note(
    fake: FakeHelpdesk, rsps: responses.RequestsMock
) -> None:
    mount(rsps, fake)
    adapter = adapter_for(fake, MAPPED)

    result = adapter.apply(fake.ticket_id, with_refs(TIER_2, "acme:4711:7:helpdesk"))

    assert group_writes(fake) == []
    [note], [reply] = fake.notes(), fake.replies()
    notice = (f"Not moved to group 'support_tier_2': no {NOUN[fake.identifier]} is mapped to "
              f"it; map it with `escalade tenant configure acme --option "
              f"'{OPTION[fake.identifier]}={{\"escalations\": 3002, \"support_tier_2\": <id>}}'` "
              "or in the admin UI.")
    assert "Tier 2: billing question" in plain(note) and notice in plain(note)
    assert "agent replies within 4 business hours" in plain(reply)
    assert notice not in plain(reply)
    assert set(result.applied) == {ActionKind.ADD_TAGS, ActionKind.SET_PRIORITY,
                                   ActionKind.SET_FIELD, ActionKind.INTERNAL_NOTE,
                                   ActionKind.PUBLIC_REPLY}
    assert result.detail["warnings"] == [notice]
    assert "failed" not in result.detail
    validate(fake, rsps)


def test_an_unmapped_group_without_a_note_is_reported_in_the_result(
    fake: FakeHelpdesk, rsps: responses.RequestsMock
) -> None:
    mount(rsps, fake)
    actions = [TIER_2[0], TIER_2[2]]

    result = adapter_for(fake, {}).apply(fake.ticket_id, actions)

    assert group_writes(fake) == []
    assert fake.comments == []
    assert result.applied == (ActionKind.ADD_TAGS,)
    [warning] = result.detail["warnings"]
    assert warning.startswith("Not moved to group 'support_tier_2'")
    assert f"--option '{OPTION[fake.identifier]}={{\"support_tier_2\": <id>}}'" in warning
    validate(fake, rsps)


def test_a_mapped_group_and_an_assignee_still_go(
    fake: FakeHelpdesk, rsps: responses.RequestsMock
) -> None:
    mount(rsps, fake)
    actions = [helpdesk(ActionKind.ASSIGN, group="escalations"),
               helpdesk(ActionKind.ASSIGN, group="support", assignee="991267645")]

    result = adapter_for(fake, MAPPED).apply(fake.ticket_id, actions)

    assert len(group_writes(fake)) == 1
    assert result.applied == (ActionKind.ASSIGN,)
    assert [w.split(":")[0] for w in result.detail["warnings"]] == [
        "Not moved to group 'support'"]


# --- notes and replies carry their ref, and a retry that is unsure checks first ---------------


def test_each_note_and_reply_carries_its_ref_in_a_footer(
    fake: FakeHelpdesk, rsps: responses.RequestsMock
) -> None:
    mount(rsps, fake)
    actions = with_refs(TIER_2, "acme:4711:7:helpdesk")
    refs = {a.kind: a.payload["ref"] for a in actions if "ref" in a.payload}

    adapter_for(fake, MAPPED).apply(fake.ticket_id, actions)

    [note], [reply] = fake.notes(), fake.replies()
    assert marker_refs([note]) == {refs[ActionKind.INTERNAL_NOTE]}
    assert marker_refs([reply]) == {refs[ActionKind.PUBLIC_REPLY]}
    # A short visible footer: every vendor keeps it through its rendering.
    assert f"— Escalade · ref {refs[ActionKind.PUBLIC_REPLY]}" in plain(reply)


@pytest.mark.parametrize("lost_with", [requests.ReadTimeout, requests.ConnectionError])
@pytest.mark.parametrize("lost", ["note", "reply"])
def test_an_unsure_retry_writes_only_what_is_missing(
    fake: FakeHelpdesk, rsps: responses.RequestsMock, lost: str,
    lost_with: type[requests.RequestException],
) -> None:
    losses: list[str] = []

    def lose_once(kind: str) -> bool:
        if kind == lost and not losses:
            losses.append(kind)
            return True
        return False

    mount(rsps, fake, lose_answer=lose_once, lost_with=lost_with)
    adapter = adapter_for(fake, {"support_tier_2": 3001})
    actions = with_refs(TIER_2, "acme:4711:7:helpdesk")

    try:
        first = adapter.apply(fake.ticket_id, actions)
    except RetriableError as err:
        assert err.uncertain, "a write whose answer was lost must be retried unsure"
        rest = list(actions)
    else:
        failed = first.detail["failed"]
        assert any(f["uncertain"] for f in failed)
        rest = [a for a in actions if a.kind.value in {f["kind"] for f in failed}]
    assert losses == [lost]

    again = adapter.apply(fake.ticket_id, rest, uncertain=True)

    assert len(fake.notes()) == 1 and len(fake.replies()) == 1
    assert ActionKind.INTERNAL_NOTE in again.applied or lost == "reply"
    assert lost == "note" or ActionKind.PUBLIC_REPLY in again.applied
    kind = ActionKind.INTERNAL_NOTE if lost == "note" else ActionKind.PUBLIC_REPLY
    assert kind.value in again.detail["already_there"]
    validate(fake, rsps)



def test_the_sandbox_also_writes_a_note_once_when_unsure() -> None:
    from adapters.helpdesk.sandbox import SandboxAdapter
    from integration.models import Ticket
    from tests.conftest import make_ticket

    sandbox = SandboxAdapter(config=HelpdeskConfig(tenant="demo", helpdesk="sandbox"),
                             tickets=[Ticket.from_dict(make_ticket())])
    note, reply = TIER_2[4], TIER_2[5]
    sandbox.apply("1", [note])
    again = sandbox.apply("1", [note, reply], uncertain=True)
    bodies = [m.body for m in sandbox.fetch_ticket("1").messages]
    assert bodies.count(note.payload["body"]) == 1
    assert bodies.count(reply.payload["body"]) == 1
    assert again.detail["already_there"] == ["internal_note"]
