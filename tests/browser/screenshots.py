"""Regenerate the screenshots in docs/: ``make screenshots``.

The same as ``python -m tests.browser.screenshots``.

Serves the demo workspace (``live.demo_server``) with its Slack connected to the local fake
Slack API, on a fixed clock (a Tuesday morning in Berlin) and a fixed public address, so a
second run draws the same pictures. Adds what the demo does not have on its own: a Zendesk
workspace with tested connections and a few failed deliveries in the outbox. Then photographs
with Debian's chromium, whose page clock is fixed too:

* ``start-page.png`` — the start page filtered to the staged SLA scenes after the first sweep;
* ``sidebar-tier3.png`` — the sidebar of a Tier 3 ticket at 320 px, with its timeline;
* ``sidebar-override.png`` — the same sidebar right after an agent set another tier;
* ``admin-tenant.png`` — a workspace's page: webhook URL and steps, the helpdesk, groups;
* ``admin-connections.png`` — the same page's Slack and HubSpot connections and their badges;
* ``admin-outbox.png`` — the outbox opened on what needs attention;
* ``admin-matrix-error.png`` — the matrix editor rejecting a bad threshold at its line;
* ``admin-matrix-replay.png`` — the editor replaying an edit over the stored tickets;
* ``admin-audit.png`` — the audit page with a finished audit of the demo workspace;
* ``audit-report.png`` — the top of that audit's report;
* ``admin-review.png`` — the demo's monthly review: noisy rules, missed escalations, agents'
  reasons, the first suggested change with its replay;
* ``admin-review-change.png`` — that change's diff and replay, before an admin applies it;
* ``admin-dashboard.png`` — the dashboard of the demo workspace over 13 weeks, once its past
  tickets are decided (last: it changes what the start page lists);
* ``slack-alert.png`` — the Slack message Escalade posted for a demo Tier 3 ticket, its Block
  Kit drawn as a plain HTML mock and labelled as a preview.
* ``admin-accounts.png`` — the at-risk accounts of the demo, most ARR at risk first;
* ``slack-account-at-risk.png`` — the Slack message an account's owner gets when the account
  crosses its threshold (the same kind of preview);
* ``slack-digest.png`` — the demo's weekly digest in Slack (the same kind of preview).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from integration import outbox, store
from integration.models import Action, ActionKind
from integration.worker import drain
from scheduler import sla_sweep
from tests.browser.live import (
    DemoServer,
    browser_missing,
    chromium_context,
    demo_server,
    sidebar_url,
    sign_in,
)
from tests.connectors import slack_server

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Tuesday 8 December 2026, 10:30 in Berlin (the demo's business calendar): inside business
# hours, so every tier's clock runs as the guides describe.
SHOT_AT = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
PUBLIC_URL = "https://escalade.example.com"

SIDEBAR_TICKET = "1003"  # enterprise account at risk: three rules, evidence, a renewal
OVERRIDE_TICKET = "1008"  # a refund demand an agent moves down to Tier 2
SLACK_TICKET = "1009"  # a customer who threatens to cancel
OVERRIDE_REASON = "Refund already approved by finance yesterday; only the credit note is left."

# The Slack users the fake workspace knows: the demo accounts' owners, so mentions resolve.
SLACK_USERS = {
    "nina.park@ourco.example.com": {"id": "U0NINA", "name": "Nina Park"},
    "sofia.lind@ourco.example.com": {"id": "U0SOFIA", "name": "Sofia Lind"},
    "marcus.bell@ourco.example.com": {"id": "U0MARCUS", "name": "Marcus Bell"},
}

# Example failures for the outbox page (the demo's own deliveries all land).
EXAMPLE_FAILURES: tuple[dict[str, Any], ...] = (
    {"target": "slack", "kind": ActionKind.ALERT, "status": "failed", "attempts": 1,
     "error": "slack: channel_not_found (is the bot still in C0ALERTS?)"},
    {"target": "helpdesk", "kind": ActionKind.SET_FIELD, "status": "failed", "attempts": 8,
     "error": "gave up after 8 attempts: sandbox answered 503: Service Unavailable"},
    {"target": "crm", "kind": ActionKind.INTERNAL_NOTE, "status": "pending", "attempts": 2,
     "error": "HubSpot rate limit (429): You have reached your secondly limit."},
)


class _Clock:
    """The one clock of the app, the sandbox helpdesk and the Slack connector while shooting."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@contextmanager
def _frozen_vendors(clock: _Clock) -> Iterator[None]:
    """The sandbox helpdesk and the Slack connector read ``clock`` instead of the wall's."""
    import adapters.connectors.slack.client as slack_module
    import adapters.helpdesk.sandbox.client as sandbox_module

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:  # noqa: ANN401 (datetime's own signature)
            return clock().astimezone(tz) if tz else clock().replace(tzinfo=None)

    saved = [(m, m.datetime) for m in (sandbox_module, slack_module)]
    for module, _ in saved:
        # The clients import datetime by name and take no clock: swap the name for the shots.
        module.datetime = Frozen  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module, original in saved:
            module.datetime = original  # type: ignore[attr-defined]  # as above


# The pages name the app's folder (the matrix editor says where it saves): one fixed folder.
WORK = Path(tempfile.gettempdir()) / "escalade-screenshots"
_MARK = ".made-by-escalade-screenshots"


@contextmanager
def _work_folder() -> Iterator[Path]:
    """A fresh ``WORK`` folder, removed afterwards; never one this script did not make."""
    if WORK.exists():
        if not (WORK / _MARK).is_file():
            raise SystemExit(f"{WORK} exists and was not made by this script: move it away")
        shutil.rmtree(WORK)
    WORK.mkdir()
    (WORK / _MARK).touch()
    try:
        yield WORK
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


def _connect_slack(slack_url: str) -> Any:
    """Before seeding: the demo workspace, its Slack on the fake (so Tier 3 alerts post)."""
    import secrets

    def connect(runtime: Any) -> None:
        with store.session_scope(runtime.sessions) as s:
            store.add_tenant(
                s, slug="demo", name="Demo workspace", helpdesk="sandbox", base_url=None,
                secrets={"webhook_secret": secrets.token_urlsafe(32),
                         "slack.bot_token": slack_server.TOKEN},
                settings={"slack": {"base_url": slack_url, "channel": "C0ALERTS",
                                    "team_id": slack_server.TEAM_ID},
                          "connectors": ["slack"]},
                cipher=runtime.cipher, now=runtime.now())
    return connect


def _example_failures(server: DemoServer) -> None:
    runtime = server.runtime
    now = runtime.now()
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        for n, example in enumerate(EXAMPLE_FAILURES):
            target = str(example["target"])
            row = outbox.enqueue(
                s, tenant_id=tenant.id, target=target,
                ticket_external_id=("1005", "1011", "1012")[n],
                actions=[Action(kind=example["kind"], target=target)],
                idempotency_key=f"screenshot-{n}", now=now - timedelta(minutes=40 - n * 10))
            assert row is not None
            row.status, row.attempts = example["status"], example["attempts"]
            row.last_error = str(example["error"])
            row.next_attempt_at = now + timedelta(minutes=2)


def _zendesk_workspace(server: DemoServer, slack_url: str) -> None:
    """A Zendesk workspace as an admin leaves it after the first connection tests."""
    from adapters.helpdesk.base import HelpdeskGroup
    from integration.workspaces.connection_tests import (
        CheckResult,
        record_if_stored,
        stored_connection,
    )

    runtime = server.runtime
    with store.session_scope(runtime.sessions) as s:
        tenant = store.add_tenant(
            s, slug="acme", name="Acme Support", helpdesk="zendesk",
            base_url="https://acme.zendesk.com",
            secrets={"email": "escalade@acme.example", "api_token": "zd-example-token",
                     "webhook_secret": "zd-example-signing-secret",
                     "slack.bot_token": slack_server.TOKEN, "crm.access_token": "pat-example"},
            settings={"currency": "EUR", "group_ids": {"escalations": "360001",
                                                       "support_tier_2": "360002"},
                      "slack": {"base_url": slack_url, "channel": "C0ALERTS",
                                "team_id": slack_server.TEAM_ID},
                      "connectors": ["slack", "crm"]},
            cipher=runtime.cipher, now=runtime.now())
        s.expunge(tenant)
    groups = (HelpdeskGroup(id="360001", name="Escalations"),
              HelpdeskGroup(id="360002", name="Support Tier 2"),
              HelpdeskGroup(id="360003", name="Support"))
    results = (
        CheckResult(connection="helpdesk", ok=True, groups=groups,
                    message="Zendesk: signed in as Escalade Bot (admin)"),
        CheckResult(connection="slack", ok=True,
                    message="Slack workspace Acme (T0ESCALADE) as escalade"),
        CheckResult(connection="crm", ok=False,
                    message="HubSpot rejected the access token (401): Authentication credentials "
                            "not found; check the private app token and its scopes"),
    )
    for result in results:
        settings, secrets = stored_connection(runtime, tenant, result.connection)
        assert record_if_stored(runtime, tenant, result, settings=settings, secrets=secrets)


def _shoot(page: Any, name: str, *, full_page: bool = False) -> Path:
    path = OUT / name
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    print(f"wrote {path.relative_to(OUT.parents[1])}")
    return path


def _shoot_between(page: Any, name: str, first: str, last: str) -> Path:
    """The full width of the page from the top of ``first`` to the bottom of ``last``."""
    top, bottom = page.locator(first).bounding_box(), page.locator(last).bounding_box()
    assert top is not None and bottom is not None, (first, last)
    width = page.viewport_size["width"]
    clip = {"x": 0, "y": max(0, top["y"] - 16), "width": width,
            "height": bottom["y"] + bottom["height"] + 16 - max(0, top["y"] - 16)}
    path = OUT / name
    page.screenshot(path=str(path), full_page=True, clip=clip, animations="disabled")
    print(f"wrote {path.relative_to(OUT.parents[1])}")
    return path


@contextmanager
def _browser(clock: _Clock, *, width: int, height: int) -> Iterator[Any]:
    with chromium_context(width=width, height=height) as context:
        # The sidebar counts the SLA down in the browser: from the same fixed moment.
        context.clock.set_fixed_time(clock())
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page


def take_all() -> list[Path]:
    """Serve the demo and write every screenshot; returns the files written."""
    OUT.mkdir(parents=True, exist_ok=True)
    clock = _Clock(SHOT_AT)
    written: list[Path] = []
    with slack_server.running_slack_api() as fake, _frozen_vendors(clock):
        fake.epoch = int(SHOT_AT.timestamp())
        fake.users.update({u["id"]: {"id": u["id"], "name": u["name"], "real_name": u["name"],
                                   "profile": {"email": email}}
                           for email, u in SLACK_USERS.items()})
        with _work_folder() as work, demo_server(
                now=clock, public_url=PUBLIC_URL, before_seed=_connect_slack(fake.url),
                var_dir=work / "var") as server:
            _example_failures(server)
            _zendesk_workspace(server, fake.url)
            written += _sidebar_shots(server, clock)
            written += _admin_shots(server, clock)
            written.append(_slack_shot(server, clock, fake))
            written += _accounts_shots(server, clock, fake)
            # The scheduler's first sweep: the demo's staged scenes warn, breach and promote.
            clock.at = SHOT_AT + timedelta(seconds=20)
            sla_sweep(server.runtime, clock())
            drain(server.runtime, now=clock())
            with _browser(clock, width=1280, height=900) as page:
                page.goto(f"{server.url}/?tier=3&category=account_access")
                page.wait_for_selector("#showing")
                written.append(_shoot(page, "start-page.png"))
            written.append(_dashboard_shot(server, clock))
            written.append(_digest_shot(server, clock, fake))
    return written


def _digest_shot(server: DemoServer, clock: _Clock, fake: Any) -> Path:
    """The weekly digest of the demo's last week, once its past tickets are decided."""
    from integration.digest import send_digests

    with store.session_scope(server.runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        tenant.settings = {**tenant.settings, "digest": {"channel": "C0ALERTS"}}
    send_digests(server.runtime, clock())
    drain(server.runtime, now=clock())
    message = next((dict(m) for m in fake.messages.values()
                    if "Weekly digest · demo" in json.dumps(m.get("blocks") or [],
                                                            ensure_ascii=False)), None)
    if message is None:
        raise SystemExit("no weekly digest was posted for the demo workspace")
    with _browser(clock, width=760, height=200) as page:
        page.set_content(slack_preview_html(message, users=SLACK_USERS,
                                            about="the demo workspace's weekly digest"))
        return _shoot(page, "slack-digest.png", full_page=True)


def _dashboard_shot(server: DemoServer, clock: _Clock) -> Path:
    from integration.demo.decided import decide_history

    decide_history(server.runtime)
    with _browser(clock, width=1280, height=900) as page:
        sign_in(page, server)
        page.goto(f"{server.url}/admin/dashboard?workspace=demo&period=13w")
        page.wait_for_selector("#tile-tickets")
        return _shoot_between(page, "admin-dashboard.png", "body", "#per-tier")


def _sidebar_shots(server: DemoServer, clock: _Clock) -> list[Path]:
    written = []
    with _browser(clock, width=320, height=900) as page:
        page.goto(sidebar_url(server, SIDEBAR_TICKET))
        page.wait_for_selector("#timeline")
        written.append(_shoot(page, "sidebar-tier3.png", full_page=True))
        page.goto(sidebar_url(server, OVERRIDE_TICKET))
        page.select_option("#override-tier", "2")
        page.fill("#override-reason", OVERRIDE_REASON)
        page.click("#override-submit")
        page.wait_for_function(
            "() => document.getElementById('override-result').innerText.trim().length > 0")
        page.evaluate("() => window.scrollTo(0, 0)")
        written.append(_shoot(page, "sidebar-override.png"))
    return written


def _admin_shots(server: DemoServer, clock: _Clock) -> list[Path]:
    written = []
    with _browser(clock, width=1280, height=900) as page:
        sign_in(page, server)
        page.goto(f"{server.url}/admin/tenants/acme")
        page.wait_for_selector("#webhook-url")
        written.append(_shoot_between(page, "admin-tenant.png", "body", "#settings"))
        written.append(_shoot_between(page, "admin-connections.png", ".section-title", "#crm"))
        page.goto(f"{server.url}/admin/outbox")
        written.append(_shoot(page, "admin-outbox.png", full_page=True))
        page.goto(f"{server.url}/admin/matrix")
        text = page.input_value("#matrix")
        page.fill("#matrix", text.replace("health_below: 0.4", "health_below: 1.5"))
        page.click("#validate")
        page.wait_for_selector(".issue")
        # The editor scrolls to the first problem's line once the page has loaded.
        page.wait_for_function("() => document.getElementById('matrix').scrollTop > 0 && "
                               "document.getElementById('gutter').scrollTop > 0")
        written.append(_shoot(page, "admin-matrix-error.png"))
        written += _replay_and_audit_shots(page, server)
    return written


# A rule an admin might try: every how-to question to Tier 3 (the replay shows what it does).
EVERY_HOW_TO = ("tiers:\n  3:\n    rules:\n      - id: every_how_to\n"
                "        description: Every how-to question\n        when: {category: [how_to]}\n")


def _replay_and_audit_shots(page: Any, server: DemoServer) -> list[Path]:
    from integration.audit_runs import run_next_audit
    from integration.matrix.loader import DEFAULT_PATH

    page.goto(f"{server.url}/admin/matrix")
    page.fill("#matrix", DEFAULT_PATH.read_text(encoding="utf-8").replace(
        "tiers:\n  3:\n    rules:\n", EVERY_HOW_TO, 1))
    page.click("#validate")
    page.wait_for_selector("#replay")
    written = [_shoot_between(page, "admin-matrix-replay.png", "#matrix-result", "#replay")]
    page.goto(f"{server.url}/admin/audit?tenant=demo")
    page.click("#run-audit")
    run_next_audit(server.runtime)
    page.goto(f"{server.url}/admin/audit?tenant=demo")
    written.append(_shoot(page, "admin-audit.png"))
    page.click("a[id^=report-]")
    page.wait_for_selector("figure")
    written.append(_shoot(page, "audit-report.png"))
    return written + _review_shots(page, server)


def _review_shots(page: Any, server: DemoServer) -> list[Path]:
    page.goto(f"{server.url}/admin/review?tenant=demo")
    page.wait_for_selector("#suggestions")
    written = [_shoot_between(page, "admin-review.png", "h1", "#suggestion-1")]
    page.locator("article.suggestion").first.locator("button.replay-change").click()
    page.wait_for_selector("#replay")
    written.append(_shoot_between(page, "admin-review-change.png", "h1", "#replay-changed"))
    return written


# --- the Slack preview ----------------------------------------------------------------------


def _slack_shot(server: DemoServer, clock: _Clock, fake: Any) -> Path:
    message = _alert_for(fake, SLACK_TICKET)
    with _browser(clock, width=760, height=200) as page:
        page.set_content(slack_preview_html(message, users=SLACK_USERS))
        return _shoot(page, "slack-alert.png", full_page=True)


def _accounts_shots(server: DemoServer, clock: _Clock, fake: Any) -> list[Path]:
    """The at-risk list, then the owner's Slack message once the scheduler scored accounts."""
    from integration.account_watch import watch_accounts

    with _browser(clock, width=1280, height=900) as page:
        sign_in(page, server)
        page.goto(f"{server.url}/admin/accounts?tenant=demo")
        page.wait_for_selector("#accounts")
        written = [_shoot(page, "admin-accounts.png")]
    watch_accounts(server.runtime, clock())
    drain(server.runtime, now=clock())
    message = next((dict(m) for m in fake.messages.values()
                    if "Account at risk · Halcyon" in json.dumps(m.get("blocks") or [],
                                                                 ensure_ascii=False)), None)
    if message is None:
        raise SystemExit("no at-risk alert was posted for Halcyon Health Systems")
    with _browser(clock, width=760, height=200) as page:
        page.set_content(slack_preview_html(message, users=SLACK_USERS,
                                            about="a demo account that crossed its threshold"))
        written.append(_shoot(page, "slack-account-at-risk.png", full_page=True))
    return written


def _alert_for(fake: Any, ticket_id: str) -> dict[str, Any]:
    """The escalation message the connector posted for ``ticket_id`` (top level or held)."""
    for message in fake.messages.values():
        blocks = message.get("blocks") or []
        if blocks and blocks[0].get("type") == "header" and any(
                f"#{ticket_id}" in _block_text(b) for b in blocks):
            return dict(message)
    raise SystemExit(f"no Slack alert was posted for demo ticket #{ticket_id}")


def _block_text(block: Mapping[str, Any]) -> str:
    texts = [block.get("text") or {}, *(block.get("fields") or []),
             *(block.get("elements") or [])]
    return " ".join(str(t.get("text", "")) if isinstance(t, Mapping) else "" for t in texts)


_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>|<(https?://[^>]+)>|<@(U[A-Z0-9]+)>")
# Slack draws these shortcodes as emoji; the preview uses glyphs any font has.
_EMOJI = {
    "warning": "\u26a0", "rotating_light": "\u26a0", "white_check_mark": "\u2714",
    "red_circle": '<span class="dot red">\u25cf</span>',
    "large_yellow_circle": '<span class="dot yellow">\u25cf</span>',
    "large_green_circle": '<span class="dot green">\u25cf</span>',
}


def _mrkdwn(text: str, names: Mapping[str, str]) -> str:
    """Slack's mrkdwn as HTML: links, mentions, *bold*, _italic_, `code`, > quotes, emoji."""
    links: list[str] = []

    def link(match: re.Match[str]) -> str:
        if match.group(4):
            name = html.escape(names.get(match.group(4), match.group(4)))
            links.append(f'<span class="mention">@{name}</span>')
        else:
            url, label = ((match.group(1), match.group(2)) if match.group(1)
                          else (match.group(3), match.group(3)))
            links.append(f'<a href="{html.escape(url)}">{_entities(label)}</a>')
        return f"\x00{len(links) - 1}\x00"

    # Slack escapes &, < and > itself; undo that before escaping for HTML.
    out = _entities(_LINK.sub(link, text))
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", out)
    out = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"<i>\1</i>", out)
    out = re.sub(r":([a-z_]+):", lambda m: _EMOJI.get(m.group(1), m.group(0)), out)
    out = re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], out)
    return "".join(f'<span class="quote">{line[4:].lstrip()}</span>'
                   if line.startswith("&gt;") else f"{line}<br>"
                   for line in out.split("\n")).removesuffix("<br>")


def _entities(text: str) -> str:
    return html.escape(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"),
                       quote=False)


def _render_block(block: Mapping[str, Any], names: Mapping[str, str]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f'<div class="header">{html.escape(block["text"]["text"])}</div>'
    if kind == "section":
        parts = []
        if block.get("text"):
            parts.append(f'<div class="text">{_mrkdwn(block["text"]["text"], names)}</div>')
        if block.get("fields"):
            cells = "".join(f'<div class="field">{_mrkdwn(f["text"], names)}</div>'
                            for f in block["fields"])
            parts.append(f'<div class="fields">{cells}</div>')
        return f'<div class="section">{"".join(parts)}</div>'
    if kind == "context":
        items = " ".join(f"<span>{_mrkdwn(e.get('text', ''), names)}</span>"
                         for e in block.get("elements", []))
        return f'<div class="context">{items}</div>'
    if kind == "actions":
        buttons = "".join(
            f'<span class="button {html.escape(str(e.get("style", "")))}">'
            f'{html.escape(e["text"]["text"])}</span>' for e in block.get("elements", []))
        return f'<div class="actions">{buttons}</div>'
    if kind == "divider":
        return "<hr>"
    return f'<div class="unknown">[{html.escape(str(kind))} block]</div>'


_PREVIEW_CSS = """
body { margin: 0; background: #f4f4f5; font: 15px/1.46 "DejaVu Sans", Arial, sans-serif;
       color: #1d1c1d; }
.banner { background: #fff4d6; border-bottom: 1px solid #e8c66b; padding: 8px 16px;
          font-size: 13px; color: #5c4500; }
.channel { padding: 10px 16px; font-weight: bold; border-bottom: 1px solid #ddd;
           background: #fff; }
.message { display: flex; gap: 10px; padding: 14px 16px; background: #fff; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #b8312f; color: #fff;
          font-weight: bold; display: flex; align-items: center; justify-content: center;
          flex: none; }
.who b { margin-right: 6px; } .app { font-size: 11px; background: #e8e8e8; padding: 1px 4px;
       border-radius: 3px; color: #555; margin-right: 6px; } .time { color: #616061;
       font-size: 12px; }
.header { font-size: 18px; font-weight: bold; margin: 6px 0 4px; }
.section { margin: 6px 0; } .fields { display: grid; grid-template-columns: 1fr 1fr;
          gap: 6px 16px; margin-top: 6px; }
.context { color: #616061; font-size: 13px; margin: 6px 0; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 10px; }
.button { border: 1px solid #bbb; border-radius: 4px; padding: 4px 12px; font-weight: bold;
          font-size: 14px; background: #fff; }
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
a { color: #1264a3; text-decoration: none; }
code { font-size: 13px; background: #f6f6f6; border: 1px solid #ddd; border-radius: 3px;
       padding: 0 3px; color: #c01343; }
.quote { display: block; border-left: 4px solid #ddd; padding-left: 10px; }
.dot.red { color: #e01e5a; } .dot.yellow { color: #ecb22e; } .dot.green { color: #2eb67d; }
"""


def slack_preview_html(message: Mapping[str, Any], *, users: Mapping[str, Mapping[str, str]],
                       about: str = "a demo Tier 3 ticket") -> str:
    """A page showing a posted Slack message's blocks the way Slack lays them out, roughly."""
    names = {u["id"]: u["name"] for u in users.values()}
    blocks: Sequence[Mapping[str, Any]] = message.get("blocks") or []
    body = "".join(_render_block(b, names) for b in blocks)
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Preview of an Escalade alert in Slack</title><style>{_PREVIEW_CSS}</style></head><body>
<div class="banner"><b>Preview</b> — drawn from the message Escalade posts to Slack for
{html.escape(about)}; not a screenshot of Slack itself.</div>
<div class="channel"># escalations</div>
<div class="message"><div class="avatar">E</div><div>
<div class="who"><b>Escalade</b><span class="app">APP</span><span class="time">10:30</span></div>
{body}</div></div></body></html>"""


def main() -> int:
    """Entry point; 2 when chromium or Playwright is missing."""
    reason = browser_missing()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 2
    take_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
