"""Operators finish setup: per-install secrets set and rotated from the CLI and the admin page.

A replaced secret still works for a day (the helpdesk cannot switch at the same instant), then
only the new one does.
"""

# ruff: noqa: F811  (fixtures imported from tests.admin.test_admin are parameters here)

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import click
import flask
import pytest
from click.testing import CliRunner

from adapters.helpdesk.sandbox import SIGNATURE_HEADER, sign
from integration import store
from integration.web.tracker_webhooks import set_resolved_handler
from integration.web.tracker_webhooks import sign as tracker_sign
from integration.workspaces.install_secrets import (
    SECRET_GRACE,
    install_secret,
    secret_versions,
    with_rotation,
)
from sidebar_ui.auth import identify
from tests.admin.test_admin import (  # noqa: F401  (fixtures)
    _csrf,
    _post,
    _tenant,
    admin,
    signed_in,
)
from tests.admin.test_admin_sessions import Clock
from tests.conftest import make_ticket, sandbox_body
from tests.sidebar.test_auth import NOW, ZENDESK_PRIVATE, ZENDESK_PUBLIC, zendesk_token

FD_API_KEY = "fd-api-key-never-shown"
OLD_HOOK = "old-webhook-secret-0123456789"


@pytest.fixture
def clock(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The runtime's clock, pinned where the Zendesk test tokens were issued."""
    found = Clock()
    found.now = NOW
    monkeypatch.setattr(runtime, "now", found)
    return found


@pytest.fixture
def workspaces(runtime: Any) -> Any:
    """A Freshdesk, a Zendesk and a sandbox workspace with Jira connected."""
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="fd", name="Fd", helpdesk="freshdesk",
                         base_url="https://fd.freshdesk.com",
                         secrets={"api_key": FD_API_KEY, "webhook_secret": OLD_HOOK},
                         settings={}, cipher=runtime.cipher)
        store.add_tenant(s, slug="acme", name="Acme", helpdesk="zendesk",
                         base_url="https://acme.zendesk.com",
                         secrets={"email": "bot@acme.example", "api_token": "zd-token"},
                         settings={}, cipher=runtime.cipher)
        store.add_tenant(s, slug="lab", name="Lab", helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": OLD_HOOK,
                                  "jira.webhook_secret": "old-jira-secret-0123456789"},
                         settings={"connectors": ["jira"]}, cipher=runtime.cipher)
    return runtime


def _cli(runtime: Any, args: list[str], stdin: str | None = None) -> Any:
    from integration.cli.tenant import tenant

    @click.group()
    def root() -> None:
        """Test root."""

    root.add_command(tenant)
    return CliRunner().invoke(root, ["tenant", "secret", *args], input=stdin, obj=runtime)


def _secrets(runtime: Any, slug: str) -> dict[str, str]:
    return _tenant(runtime, slug)[1]


def _sidebar_with(app: Any, runtime: Any, secret: str) -> Any:
    with app.test_request_context("/sidebar/freshdesk/fd",
                                  headers={"X-Escalade-Install-Secret": secret}):
        return identify(flask.request, runtime=runtime, helpdesk="freshdesk", tenant="fd")


def _post_lab(client: Any, secret: str, delivery: str) -> Any:
    body = sandbox_body(make_ticket(tenant="lab", id=delivery), delivery_id=delivery)
    return client.post("/webhooks/sandbox/lab", data=body, headers={
        "Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)})


# --- the CLI ------------------------------------------------------------------------------


def test_the_freshdesk_sidebar_secret_is_generated_printed_once_and_opens_the_sidebar(
        app: Any, workspaces: Any, clock: Clock) -> None:
    result = _cli(workspaces, ["fd", "sidebar_secret", "--generate"])

    assert result.exit_code == 0, result.output
    value = result.output.splitlines()[1]
    assert _secrets(workspaces, "fd")["sidebar_secret"] == value and len(value) >= 32
    assert _sidebar_with(app, workspaces, value).via == "freshdesk_secret"
    listing = _cli(workspaces, ["fd"])
    assert "sidebar_secret: set, last set" in listing.output
    assert value not in listing.output and FD_API_KEY not in listing.output
    assert OLD_HOOK not in listing.output


def test_listing_says_what_is_missing_and_how_to_set_it(workspaces: Any) -> None:
    listing = _cli(workspaces, ["acme"]).output

    assert "webhook_secret: not set: escalade tenant secret acme webhook_secret " \
           "--value-stdin" in listing
    assert "zendesk_app_public_key: not set" in listing
    assert "jira.webhook_secret: not connected (Jira)" in listing


def test_the_zendesk_public_key_is_read_from_stdin_and_verifies_signed_urls(
        app: Any, workspaces: Any, clock: Clock) -> None:
    result = _cli(workspaces, ["acme", "zendesk_app_public_key", "--value-stdin"],
                  stdin=ZENDESK_PUBLIC)

    assert result.exit_code == 0, result.output
    assert "acme: zendesk_app_public_key saved" in result.output
    with app.test_request_context("/sidebar/zendesk/acme", method="POST",
                                  data={"token": zendesk_token()}):
        assert identify(flask.request, runtime=workspaces, helpdesk="zendesk",
                        tenant="acme").via == "zendesk_jwt"


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["acme", "zendesk_app_public_key", "--value-stdin"], "not a key at all",
     "--value-stdin: not a PEM public key"),
    (["acme", "zendesk_app_public_key", "--value-stdin"], ZENDESK_PRIVATE,
     "--value-stdin: not a PEM public key"),
    (["acme", "zendesk_app_public_key", "--value-stdin"],
     "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
     "--value-stdin: the PEM public key cannot be read"),
    (["fd", "webhook_secret", "--value-stdin"], "short\n", "--value-stdin: at least 16 "
                                                            "characters (got 5)"),
    (["fd", "webhook_secret", "--value-stdin"], "has a space in the middle\n",
     "no spaces or line breaks"),
    (["acme", "webhook_secret", "--generate"], None, "--generate: Zendesk makes it"),
    (["fd", "api_key", "--generate"], None, "NAME: 'api_key' is not a secret of a Freshdesk "
                                            "workspace (one of: webhook_secret, sidebar_secret"),
    (["acme", "jira.webhook_secret", "--generate"], None,
     "NAME: Jira is not connected to 'acme'"),
])
def test_bad_secrets_are_one_line_naming_the_option_and_store_nothing(
        workspaces: Any, args: list[str], stdin: str | None, message: str) -> None:
    before = {slug: _secrets(workspaces, slug) for slug in ("fd", "acme")}

    result = _cli(workspaces, args, stdin=stdin)

    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert {slug: _secrets(workspaces, slug) for slug in ("fd", "acme")} == before


def test_generate_and_a_value_together_is_a_usage_error(workspaces: Any) -> None:
    result = _cli(workspaces, ["fd", "webhook_secret", "--generate", "--value-stdin"])
    assert result.exit_code == 2 and "exactly one of --generate or --value-stdin" in result.output


# --- the grace period ---------------------------------------------------------------------


def test_a_rotated_webhook_secret_still_works_for_a_day_then_only_the_new_one(
        client: Any, workspaces: Any, clock: Clock) -> None:
    result = _cli(workspaces, ["lab", "webhook_secret", "--generate"])
    new = result.output.splitlines()[1]
    assert "the previous value is still accepted until" in result.output

    assert _post_lab(client, OLD_HOOK, "d1").status_code == 202
    assert _post_lab(client, new, "d2").status_code == 202
    clock.advance(seconds=SECRET_GRACE.total_seconds() + 1)
    assert _post_lab(client, OLD_HOOK, "d3").status_code == 401
    assert _post_lab(client, new, "d4").status_code == 202


def test_a_webhook_secret_replaced_by_configure_keeps_its_grace_too(
        client: Any, workspaces: Any, clock: Clock) -> None:
    from integration.cli.tenant import tenant

    @click.group()
    def root() -> None:
        """Test root."""

    root.add_command(tenant)
    new = "configured-secret-0123456789"
    result = CliRunner().invoke(root, ["tenant", "configure", "lab", "--webhook-secret", new],
                                obj=workspaces)

    assert result.exit_code == 0, result.output
    assert "the previous webhook secret is still accepted until" in result.output
    assert _post_lab(client, OLD_HOOK, "c1").status_code == 202
    clock.advance(hours=25)
    assert _post_lab(client, OLD_HOOK, "c2").status_code == 401
    assert _post_lab(client, new, "c3").status_code == 202


def test_a_rotated_jira_secret_keeps_working_for_a_day(
        client: Any, workspaces: Any, clock: Clock) -> None:
    seen: list[Any] = []

    def resolved(*args: Any) -> int:
        seen.append(args)
        return 1

    previous = set_resolved_handler(resolved)
    try:
        body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {
            "key": "PAY-1", "fields": {"status": {"statusCategory": {"key": "done"}}}}}).encode()

        def post(secret: str) -> int:
            status: int = client.post("/webhooks/jira/lab", data=body, headers={
                "Content-Type": "application/json",
                "X-Hub-Signature": f"sha256={tracker_sign(secret, body)}"}).status_code
            return status

        new = "new-jira-secret-0123456789"
        assert _cli(workspaces, ["lab", "jira.webhook_secret", "--value-stdin"],
                    stdin=new).exit_code == 0
        assert post("old-jira-secret-0123456789") == 200
        assert post(new) == 200
        clock.advance(hours=24, seconds=1)
        assert post("old-jira-secret-0123456789") == 401
        assert post(new) == 200
    finally:
        set_resolved_handler(previous)


def test_a_rotated_sidebar_secret_keeps_working_for_a_day(
        app: Any, workspaces: Any, clock: Clock) -> None:
    from werkzeug.exceptions import Unauthorized

    first = _cli(workspaces, ["fd", "sidebar_secret", "--generate"]).output.splitlines()[1]
    second = _cli(workspaces, ["fd", "sidebar_secret", "--generate"]).output.splitlines()[1]

    assert _sidebar_with(app, workspaces, first).tenant == "fd"
    assert _sidebar_with(app, workspaces, second).tenant == "fd"
    clock.advance(hours=25)
    with pytest.raises(Unauthorized):
        _sidebar_with(app, workspaces, first)


def test_rotation_bookkeeping_is_pure_and_keeps_only_the_last_value() -> None:
    from datetime import UTC, datetime

    t0 = datetime(2026, 12, 8, 9, tzinfo=UTC)
    stored = {"webhook_secret": "a" * 20}
    once = {**stored, **with_rotation(stored, {"webhook_secret": "b" * 20}, now=t0)}
    twice = {**once, **with_rotation(once, {"webhook_secret": "c" * 20},
                                     now=t0 + timedelta(hours=1))}

    assert secret_versions(once, "webhook_secret", now=t0) == ("b" * 20, "a" * 20)
    assert secret_versions(twice, "webhook_secret", now=t0) == ("c" * 20, "b" * 20)
    assert secret_versions(twice, "webhook_secret",
                           now=t0 + timedelta(hours=26)) == ("c" * 20,)
    cleared = {**twice, **with_rotation(twice, {"webhook_secret": ""}, now=t0)}
    assert secret_versions(cleared, "webhook_secret", now=t0) == ()
    # Credentials are not proofs: replacing an API key keeps no old value around.
    assert with_rotation({"api_key": "x"}, {"api_key": "y"}, now=t0) == {"api_key": "y"}
    assert install_secret("zendesk", "zendesk_app_public_key").kind == "pem"


# --- the admin page -----------------------------------------------------------------------


def test_the_workspace_page_lists_the_secrets_without_their_values(
        signed_in: Any, workspaces: Any) -> None:
    html = signed_in.get("/admin/tenants/fd").text

    panel = html[html.index('id="secrets"'):html.index('id="helpdesk"')]
    assert "Sidebar secret" in panel and "Webhook secret" in panel
    assert re.search(r'id="secret-webhook_secret".*?data-state="set"', panel, re.S)
    assert re.search(r'id="secret-sidebar_secret".*?data-state="unset"', panel, re.S)
    assert "Jira not connected" in panel
    assert "keeps the old value working for 24 hours" in panel
    assert OLD_HOOK not in html and FD_API_KEY not in html


def test_generate_from_the_page_shows_the_value_once(
        app: Any, signed_in: Any, workspaces: Any, clock: Clock) -> None:
    response = _post(signed_in, "/admin/tenants/fd/secrets/sidebar_secret", {"op": "generate"},
                     page="/admin/tenants/fd")

    assert response.status_code == 200
    value = re.search(r'<code id="secret-value">([^<]+)</code>', response.text)
    assert value is not None
    assert _secrets(workspaces, "fd")["sidebar_secret"] == value.group(1)
    assert _sidebar_with(app, workspaces, value.group(1)).tenant == "fd"
    again = signed_in.get("/admin/tenants/fd").text
    assert value.group(1) not in again
    assert "last set" in again[again.index('id="secret-sidebar_secret"'):]


def test_replacing_a_webhook_secret_from_the_page_says_until_when_the_old_one_works(
        client: Any, signed_in: Any, workspaces: Any, clock: Clock) -> None:
    response = _post(signed_in, "/admin/tenants/lab/secrets/webhook_secret",
                     {"op": "replace", "value": "typed-in-secret-0123456789"},
                     page="/admin/tenants/lab")

    assert response.status_code == 302
    page = signed_in.get("/admin/tenants/lab").text
    assert "The previous value is still accepted until" in page
    assert 'id="secret-webhook_secret-grace"' in page
    assert "typed-in-secret-0123456789" not in page
    assert _post_lab(client, OLD_HOOK, "p1").status_code == 202


def test_a_bad_public_key_is_shown_at_its_field_and_nothing_is_stored(
        signed_in: Any, workspaces: Any) -> None:
    response = _post(signed_in, "/admin/tenants/acme/secrets/zendesk_app_public_key",
                     {"op": "replace", "value": "-----BEGIN CERTIFICATE-----\nxx"},
                     page="/admin/tenants/acme")

    assert response.status_code == 422
    row = response.text[response.text.index('id="secret-zendesk_app_public_key"'):]
    assert 'aria-invalid="true"' in row[:2000]
    assert "not a PEM public key" in row[:3000]
    assert "zendesk_app_public_key" not in _secrets(workspaces, "acme")


def test_the_page_refuses_to_generate_what_the_vendor_makes(
        signed_in: Any, workspaces: Any) -> None:
    response = _post(signed_in, "/admin/tenants/acme/secrets/webhook_secret",
                     {"op": "generate"}, page="/admin/tenants/acme")

    assert response.status_code == 422
    assert "Zendesk makes it" in response.text
    assert 'id="secret-webhook_secret-generate"' not in response.text
    assert "webhook_secret" not in _secrets(workspaces, "acme")


def test_the_secrets_form_needs_the_csrf_token(signed_in: Any, workspaces: Any) -> None:
    response = signed_in.post("/admin/tenants/fd/secrets/sidebar_secret",
                              data={"op": "generate"})
    assert response.status_code == 400
    assert "sidebar_secret" not in _secrets(workspaces, "fd")
