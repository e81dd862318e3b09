"""A rotated webhook secret: every helpdesk accepts the old one until its grace period ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests

from adapters.helpdesk.base import HelpdeskAdapter
from adapters.helpdesk.sandbox import SIGNATURE_HEADER, SandboxAdapter, sign
from integration.errors import WebhookVerificationError
from tests.adapters.contract import KITS, ContractKit, load_kit

NOW = datetime.now(UTC)
NEW_SECRET = "the-new-secret-after-rotation-0123"


def _rotated(adapter: HelpdeskAdapter, *, until: datetime) -> HelpdeskAdapter:
    # The kit signs with the install's secret: make that the previous one.
    old = adapter.config.webhook_secret
    adapter.config = replace(adapter.config, webhook_secret=NEW_SECRET,
                             previous_webhook_secret=old, previous_until=until)
    return adapter


@pytest.mark.parametrize("name", KITS)
def test_the_previous_secret_verifies_during_the_grace_period_only(name: str) -> None:
    kit: ContractKit = load_kit(name)
    body = next(iter(kit.events.values()))
    headers = kit.sign(body, NOW)

    in_grace = _rotated(kit.make_adapter(requests.Session()), until=NOW + timedelta(hours=1))
    in_grace.verify_webhook(headers=headers, body=body, now=NOW)

    expired = _rotated(kit.make_adapter(requests.Session()), until=NOW - timedelta(seconds=1))
    with pytest.raises(WebhookVerificationError):
        expired.verify_webhook(headers=headers, body=body, now=NOW)


def test_the_sandbox_accepts_the_previous_secret_until_it_expires() -> None:
    from adapters.helpdesk.base import HelpdeskConfig

    body = b'{"delivery_id": "d1"}'
    config = HelpdeskConfig(tenant="lab", helpdesk="sandbox", webhook_secret=NEW_SECRET,
                            previous_webhook_secret="old-secret-0123456789",
                            previous_until=NOW + timedelta(hours=1))
    adapter = SandboxAdapter(config=config)
    old = {SIGNATURE_HEADER: sign(body, "old-secret-0123456789")}

    adapter.verify_webhook(headers=old, body=body, now=NOW)
    adapter.verify_webhook(headers={SIGNATURE_HEADER: sign(body, NEW_SECRET)}, body=body,
                           now=NOW)
    with pytest.raises(WebhookVerificationError):
        adapter.verify_webhook(headers=old, body=body, now=NOW + timedelta(hours=2))


def test_only_the_current_secret_without_a_rotation() -> None:
    from adapters.helpdesk.base import HelpdeskConfig

    config = HelpdeskConfig(tenant="lab", helpdesk="sandbox", webhook_secret=NEW_SECRET)
    assert SandboxAdapter(config=config).webhook_secrets(NOW) == (NEW_SECRET,)
