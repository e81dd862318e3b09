"""What every helpdesk adapter must do, described once; each vendor supplies a kit.

A kit says how to build the vendor's adapter against a faked transport, how a genuine request
is signed, which fixtures are supported events, and what the vendor's write calls must carry
for the standard set of actions. ``tests/adapters/test_contract.py`` runs the same tests over
every kit listed in ``KITS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import requests
import responses

from adapters.helpdesk.base import HelpdeskAdapter
from integration.models import Action, ActionKind

__all__ = ["KITS", "STANDARD_ACTIONS", "ContractKit", "load_kit"]

# One module per helpdesk under tests/adapters/contract/, each defining ``KIT``.
KITS: tuple[str, ...] = ("zendesk", "freshdesk", "intercom")

STANDARD_ACTIONS: tuple[Action, ...] = (
    Action(kind=ActionKind.ADD_TAGS, target="helpdesk",
           payload={"tags": ["escalade_tier_3", "escalade_refund"]}),
    Action(kind=ActionKind.REMOVE_TAGS, target="helpdesk", payload={"tags": ["escalade_tier_1"]}),
    Action(kind=ActionKind.SET_PRIORITY, target="helpdesk", payload={"priority": "urgent"}),
    Action(kind=ActionKind.ASSIGN, target="helpdesk", payload={"group": "escalations"}),
    Action(kind=ActionKind.SET_FIELD, target="helpdesk", payload={"field": "tier", "value": 3}),
    Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk",
           payload={"body": "Tier 3: refund demand. SLA due 10:00 UTC."}),
    Action(kind=ActionKind.PUBLIC_REPLY, target="helpdesk",
           payload={"body": "Hi Dana, a specialist has your request and replies by 10:00 UTC."}),
    Action(kind=ActionKind.ALERT, target="slack", payload={"tier": 3}),
)


@dataclass(frozen=True, kw_only=True)
class ContractKit:
    """How one vendor's adapter is exercised by the contract suite."""

    identifier: str
    make_adapter: Callable[[requests.Session], HelpdeskAdapter]
    sign: Callable[[bytes, datetime], dict[str, str]]
    events: Mapping[str, bytes]
    ticket_id: str
    unknown_event: bytes
    register_fetch: Callable[[responses.RequestsMock], None]
    register_apply: Callable[[responses.RequestsMock], None]
    check_apply: Callable[[Sequence[responses.Call]], None]
    write_call: tuple[str, str]
    # The connection test: the "who am I" call and its answer, the groups it then lists,
    # and how the test's message begins.
    who_am_i: tuple[str, Mapping[str, object]]
    register_groups: Callable[[responses.RequestsMock], None]
    signed_in_as: str
    # Freshdesk authenticates the sender with a shared secret but signs no body.
    signs_body: bool = True


def load_kit(name: str) -> ContractKit:
    """Import ``tests.adapters.contract.<name>`` and return its ``KIT``."""
    kit = importlib.import_module(f"{__name__}.{name}").KIT
    assert isinstance(kit, ContractKit)
    return kit
