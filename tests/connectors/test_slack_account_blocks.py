"""The at-risk message's Block Kit: what it says, escaped, and its one button."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from adapters.connectors.slack.blocks import (
    alert_blocks,
    alert_text,
    held_summary_blocks,
    held_summary_text,
)
from integration.account_risk import AccountHistory, RiskPolicy, TicketPoint, score_account
from integration.account_watch import alert_payload
from integration.models import Account

NOW = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)


def _payload() -> dict[str, object]:
    history = AccountHistory(
        account=Account(id="c&1", name="Wren & <Co>", arr=18000.0, owner="am@ourco.example",
                        renewal_date=date(2026, 12, 20)),
        tickets=(TicketPoint(ref="7", created_at=NOW, tier=3, open=True),
                 TicketPoint(ref="8", created_at=NOW, tier=3, open=True)))
    result = score_account(history, now=NOW, policy=RiskPolicy(threshold=0.3))
    return alert_payload("demo", result, policy=RiskPolicy(threshold=0.3), crossing=2,
                         base_url="https://escalade.example/", zone="Europe/Berlin")


def test_the_message_names_the_account_score_reasons_and_links_the_evidence() -> None:
    payload = _payload()
    assert payload["dedupe_key"] == "demo:account:c&1:risk:2"
    blocks = alert_blocks(payload, now=NOW, currency="€")
    assert blocks[0]["text"]["text"] == "Account at risk · Wren & <Co>"  # plain text
    text = json.dumps(blocks, ensure_ascii=False)
    assert "Score *0.33* (at risk from 0.30)" in text
    assert "ARR at risk *€5,940* of €18,000" in text and "Owner am@ourco.example" in text
    page = "https://escalade.example/admin/accounts/demo/c%261"
    assert f"• 2 Tier 3 tickets open. <{page}#evidence-tier3|evidence>" in text
    assert "Renews in 12 days, on 2026-12-20." in text
    assert "No product activity data" in text
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    (button,) = actions["elements"]
    assert button["text"]["text"] == "Open account" and button["url"] == page
    assert alert_text(payload) == "Account at risk · Wren & <Co>"
    assert held_summary_text([payload]).endswith("held by the rate limit: Account at risk · "
                                                 "Wren & <Co>")
    held = json.dumps(held_summary_blocks([payload], limit=10, window=timedelta(minutes=10),
                                          frees_at=NOW), ensure_ascii=False)
    assert "Account at risk: Wren &amp; &lt;Co&gt;" in held


def test_the_owner_is_mentioned_when_slack_knows_them() -> None:
    payload = {**_payload(), "account_owner_slack": "U0AM"}
    text = json.dumps(alert_blocks(payload, now=NOW))
    assert "Owner <@U0AM>" in text and "am@ourco.example" not in text
