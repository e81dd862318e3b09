"""The Slack preview drawn for the docs: a posted alert's Block Kit as a labelled HTML mock."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.connectors.slack.blocks import alert_blocks
from tests.browser.screenshots import slack_preview_html

USERS = {"nina.park@ourco.example.com": {"id": "U0NINA", "name": "Nina Park"}}


def test_the_preview_draws_every_part_of_an_alert_and_says_it_is_a_preview() -> None:
    payload = {
        "dedupe_key": "demo:1009:tier_3", "tier": 3, "subject": "Cancel our subscription",
        "ticket_url": "https://escalade.example.com/t/1009",
        "account": {"name": "Orchid Dental Group", "arr": 24000},
        "reasons": ["Churn risk (wants to cancel)"], "summary": "Wants: cancel at term end.",
    }
    message = {"blocks": alert_blocks(payload, now=datetime(2026, 12, 8, 9, 30, tzinfo=UTC))}

    page = slack_preview_html(message, users=USERS)

    assert "<b>Preview</b>" in page and "not a screenshot of Slack" in page
    assert "Tier 3 escalation · Orchid Dental Group" in page
    assert "Churn risk (wants to cancel)" in page
    for button in ("Acknowledge", "Take ownership", "Snooze 1 h", "Open ticket"):
        assert f">{button}</span>" in page
    assert "class=\"unknown\"" not in page  # every block type drawn


def test_mrkdwn_links_mentions_emphasis_and_emoji_become_html() -> None:
    text = ("*<https://x.example/1|#1009 Cancel>* for <@U0NINA>\n"
            ":warning: _soon_ `code` &lt;b&gt;\n&gt; quoted")
    message = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}

    page = slack_preview_html(message, users=USERS)

    assert '<b><a href="https://x.example/1">#1009 Cancel</a></b>' in page
    assert '<span class="mention">@Nina Park</span>' in page
    assert "\u26a0 <i>soon</i> <code>code</code> &lt;b&gt;" in page
    assert '<span class="quote">quoted</span>' in page
