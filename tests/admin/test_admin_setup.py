"""Finishing setup in the browser: add a workspace, connect Jira and Linear, groups, badges."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner

from integration import store
from integration.workspaces.service import REGISTRATION
from tests.admin.test_admin import (  # noqa: F401  (fixtures)
    _add_tenant,
    _csrf,
    _post,
    _tenant,
    admin,
    signed_in,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
JIRA_ME = "https://acme.atlassian.net/rest/api/3/myself"
JIRA_FORM = {"base_url": "https://acme.atlassian.net", "email": "bot@acme.example",
             "api_token": "jira-secret-token", "project": "PAY",
             "webhook_secret": "jira-webhook-secret-123"}


def _badge(html: str, key: str) -> str:
    found = re.search(rf'id="badge-{key}" data-state="([a-z]+)"', html)
    assert found, f"no badge for {key}"
    return found.group(1)


def _cli(runtime: Any, args: list[str]) -> Any:
    """Run ``escalade`` against the app's own database and key."""
    import click

    from integration.cli.tenant import tenant

    @click.group()
    def root() -> None:
        """Test root."""

    root.add_command(tenant)
    return CliRunner().invoke(root, args, obj=runtime)


# --- Jira and Linear: what the connectors read ------------------------------------------


@responses.activate
def test_jira_from_the_admin_stores_what_the_cli_stores_and_the_connector_reads(
        signed_in: Any, runtime: Any) -> None:  # noqa: F811
    responses.get(JIRA_ME, json={"accountId": "5b10", "displayName": "Escalade Bot"})
    _add_tenant(runtime, "acme")
    _add_tenant(runtime, "bigco")
    saved = _post(signed_in, "/admin/tenants/acme/jira", {**JIRA_FORM, "op": "save"},
                  page="/admin/tenants/acme")
    assert saved.status_code == 302
    by_cli = _cli(runtime, ["tenant", "connect", "bigco", "jira", "--token", "jira-secret-token",
                            "--email", "bot@acme.example", "--webhook-secret",
                            "jira-webhook-secret-123", "--option",
                            "base_url=https://acme.atlassian.net", "--option", "project=PAY"])
    assert by_cli.exit_code == 0, by_cli.output
    ui_settings, ui_secrets = _tenant(runtime, "acme")
    cli_settings, cli_secrets = _tenant(runtime, "bigco")
    assert ui_settings["jira"] == cli_settings["jira"]
    assert ui_settings["connectors"] == cli_settings["connectors"] == ["jira"]
    assert {k: v for k, v in ui_secrets.items() if k.startswith("jira.")} == {
        k: v for k, v in cli_secrets.items() if k.startswith("jira.")}
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "acme")
        s.expunge(tenant)
    connector = runtime.connector_for(tenant, "jira")
    assert (connector.project, connector.server) == ("PAY", "https://acme.atlassian.net")
    page = signed_in.get("/admin/tenants/acme").text
    assert _badge(page, "jira") == "ok"
    assert "arrives in a later release" not in page


@responses.activate
def test_linear_from_the_admin_builds_the_connector(signed_in: Any,  # noqa: F811
                                                    runtime: Any) -> None:
    responses.post("https://linear.test/graphql",
                   json={"data": {"viewer": {"id": "u1", "name": "Robin"}}})
    _add_tenant(runtime, "acme", settings={"linear": {"base_url": "https://linear.test/graphql"}})
    saved = _post(signed_in, "/admin/tenants/acme/linear",
                  {"api_key": "lin_api_secret", "team_id": "9cfb482a", "op": "save"},
                  page="/admin/tenants/acme")
    assert saved.status_code == 302
    settings, secrets = _tenant(runtime, "acme")
    assert settings["linear"]["team_id"] == "9cfb482a" and "linear" in settings["connectors"]
    assert secrets["linear.api_key"] == "lin_api_secret"
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "acme")
        s.expunge(tenant)
    assert runtime.connector_for(tenant, "linear").team_id == "9cfb482a"
    assert _badge(signed_in.get("/admin/tenants/acme").text, "linear") == "ok"


def test_the_admin_and_the_cli_refuse_a_bad_project_alike(signed_in: Any,  # noqa: F811
                                                          runtime: Any) -> None:
    _add_tenant(runtime, "acme")
    page = _post(signed_in, "/admin/tenants/acme/jira",
                 {**JIRA_FORM, "project": "pay shop", "op": "save"}, page="/admin/tenants/acme")
    assert page.status_code == 422
    assert re.search(r'id="jira-project"[^>]*aria-invalid="true"', page.text)
    cli = _cli(runtime, ["tenant", "connect", "acme", "jira", "--token", "t", "--email",
                         "bot@acme.example", "--option", "base_url=https://acme.atlassian.net",
                         "--option", "project=pay shop"])
    message = cli.stderr.strip().removeprefix("Error: --option project: ")
    assert message == "'pay shop' is not a Jira project key such as PAY"
    assert message.replace("'", "&#39;") in page.text
    assert "jira" not in _tenant(runtime, "acme")[0]


# --- badges: green only after a passed test ------------------------------------------------


@responses.activate
def test_a_badge_is_green_only_when_the_last_test_of_these_settings_passed(
        signed_in: Any, runtime: Any) -> None:  # noqa: F811
    _add_tenant(runtime, "acme", secrets={"webhook_secret": "w" * 32,
                                          "jira.api_token": "jira-secret-token",
                                          "jira.email": "bot@acme.example"},
                settings={"connectors": ["jira"],
                          "jira": {"base_url": "https://acme.atlassian.net", "project": "PAY"}})
    page = signed_in.get("/admin/tenants/acme").text
    assert _badge(page, "jira") == "untested" and _badge(page, "slack") == "off"
    overview = signed_in.get("/admin/").text
    assert 'data-state="untested"' in overview and "Jira: not tested yet" in overview
    assert 'class="pill good" data-state="ok"' not in overview

    responses.get(JIRA_ME, status=401, json={"errorMessages": ["Client must be authenticated"]})
    _post(signed_in, "/admin/tenants/acme/jira", {"op": "test"}, page="/admin/tenants/acme")
    page = signed_in.get("/admin/tenants/acme").text
    assert _badge(page, "jira") == "failed"
    assert re.search(r'id="badge-error-jira">Last test: jira: check the credentials failed '
                     r'with HTTP 401: Client must be authenticated', page)
    assert re.search(r'id="tested-jira">tested \w{3} \d+ \w{3} \d\d:\d\d', page)

    responses.replace("GET", JIRA_ME, json={"accountId": "5b10", "displayName": "Bot"})
    _post(signed_in, "/admin/tenants/acme/jira", {"op": "test"}, page="/admin/tenants/acme")
    assert _badge(signed_in.get("/admin/tenants/acme").text, "jira") == "ok"
    assert "Jira: connected" in signed_in.get("/admin/").text

    # Testing other values does not vouch for the stored ones...
    other = _post(signed_in, "/admin/tenants/acme/jira", {"project": "OPS", "op": "test"},
                  page="/admin/tenants/acme")
    assert "not saved yet" in other.text
    # ...and a change made elsewhere (the CLI) makes the old result stale.
    assert _cli(runtime, ["tenant", "connect", "acme", "jira", "--option",
                          "project=OPS"]).exit_code == 0
    assert _badge(signed_in.get("/admin/tenants/acme").text, "jira") == "changed"


# --- adding a workspace -------------------------------------------------------------------


def _add(client: Any, form: dict[str, str]) -> Any:
    token = _csrf(client, "/admin/add-workspace")
    return client.post("/admin/add-workspace", data={"csrf_token": token, **form},
                       base_url="http://localhost:8101")


def test_adding_a_freshdesk_workspace_shows_its_secret_once(signed_in: Any,  # noqa: F811
                                                            runtime: Any) -> None:
    form = {"helpdesk": "freshdesk", "slug": "acme", "name": "Acme Inc.",
            "base_url": "https://acme.freshdesk.com", "api_key": "fd-secret-key-1",
            "currency": "eur", "calendar": "business_us",
            "options": 'tier_field=cf_escalade_tier\ngroup_ids={"escalations": 5003}'}
    added = _add(signed_in, form)
    assert added.status_code == 201, added.text
    secret = re.search(r'id="webhook-secret">([^<]+)<', added.text)
    assert secret, "the generated secret is shown on the confirmation page"
    settings, secrets = _tenant(runtime, "acme")
    assert secrets["webhook_secret"] == secret.group(1)
    assert secrets["api_key"] == "fd-secret-key-1"
    assert settings == {"currency": "EUR", "calendar": "business_us",
                        "tier_field": "cf_escalade_tier", "group_ids": {"escalations": 5003}}
    assert "http://localhost:8101/webhooks/freshdesk/acme" in added.text
    assert REGISTRATION["freshdesk"].where in added.text
    page = signed_in.get("/admin/tenants/acme", base_url="http://localhost:8101").text
    assert secret.group(1) not in page and "fd-secret-key-1" not in page
    assert "http://localhost:8101/webhooks/freshdesk/acme" in page


def test_adding_checks_like_the_cli_and_stores_nothing_on_a_problem(
        signed_in: Any, runtime: Any) -> None:  # noqa: F811
    bad = _add(signed_in, {"helpdesk": "zendesk", "slug": "acme",
                           "base_url": "https://acme.zendesk.com", "email": "bot",
                           "api_token": "zd-typed-token", "check": "on"})
    assert bad.status_code == 422
    assert re.search(r'id="email"[^>]*aria-invalid="true"', bad.text)
    assert "not an e-mail address: &#39;bot&#39;" in bad.text
    assert "zd-typed-token" not in bad.text
    with responses.RequestsMock() as rsps:
        rsps.get("https://acme.zendesk.com/api/v2/users/me.json", status=401,
                 json={"error": "Couldn't authenticate you"})
        refused = _add(signed_in, {"helpdesk": "zendesk", "slug": "acme",
                                   "base_url": "https://acme.zendesk.com",
                                   "email": "bot@acme.example", "api_token": "t",
                                   "check": "on"})
    assert refused.status_code == 422
    assert "nothing was added: Zendesk answered 401: Couldn&#39;t authenticate you" in refused.text
    with store.session_scope(runtime.sessions) as s:
        assert store.get_tenant(s, "acme") is None


@pytest.mark.parametrize(("options", "said"), [
    ("nosuch=1", "nosuch: unknown option"),
    ("routing={oops", "routing: not valid JSON"),
    ("tier_field_id", "expected KEY=VALUE, got &#39;tier_field_id&#39;"),
])
def test_a_bad_option_is_named_under_more_options_by_its_key(
        signed_in: Any, runtime: Any, options: str, said: str) -> None:  # noqa: F811
    # It was a banner reading "options.nosuch: unknown option ...".
    bad = _add(signed_in, {"helpdesk": "sandbox", "slug": "acme", "options": options})
    assert bad.status_code == 422
    assert re.search(r'id="options"[^>]*aria-invalid="true"', bad.text)
    shown = re.search(r'id="error-options">([^<]+)<', bad.text)
    assert shown is not None and shown.group(1).startswith(said)
    assert "options." not in bad.text and 'id="add-error"' not in bad.text


@responses.activate
def test_a_zendesk_workspace_lists_its_groups_and_maps_them_from_the_page(
        signed_in: Any, runtime: Any) -> None:  # noqa: F811
    responses.get("https://acme.zendesk.com/api/v2/users/me.json",
                  json={"user": {"id": 9, "name": "Escalade Bot", "role": "admin"}})
    pages = [json.loads((FIXTURES / f"zendesk/groups_page{n}.json").read_text())
             for n in (1, 2)]
    responses.get("https://acme.zendesk.com/api/v2/groups.json", json=pages[0],
                  match=[responses.matchers.query_param_matcher(
                      {"page[size]": "100", "exclude_deleted": "true"})])
    responses.get("https://acme.zendesk.com/api/v2/groups.json", json=pages[1])
    added = _add(signed_in, {"helpdesk": "zendesk", "slug": "acme",
                             "base_url": "https://acme.zendesk.com",
                             "email": "bot@acme.example", "api_token": "zd-token-1",
                             "check": "on"})
    assert added.status_code == 201, added.text
    assert "Connection works: Zendesk: signed in as Escalade Bot" in added.text
    assert "Escalations (360003)" in added.text
    # Zendesk makes the signing secret: the page says where to get it instead of one.
    assert 'id="webhook-secret"' not in added.text and "Reveal secret" in added.text
    page = signed_in.get("/admin/tenants/acme").text
    assert _badge(page, "helpdesk") == "ok"
    assert re.search(r'id="secret-missing">No webhook secret yet: .*webhook signing secret below',
                     page)
    assert "Without a group: escalations, support_tier_2, support." in page
    # The helpdesk's own groups are offered, same-named ones preselected.
    select = re.search(r'<select id="group-support_tier_2".*?</select>', page, re.S)
    assert select and re.search(r'<option value="360002" selected>Support Tier 2', select.group(0))
    token = _csrf(signed_in, "/admin/tenants/acme")
    saved = signed_in.post("/admin/tenants/acme/groups", data={
        "csrf_token": token, "group.escalations": "360003", "group.support_tier_2": "360002",
        "group.support": "360001"})
    assert saved.status_code == 302
    assert _tenant(runtime, "acme")[0]["group_ids"] == {
        "escalations": "360003", "support_tier_2": "360002", "support": "360001"}
    page = signed_in.get("/admin/tenants/acme").text
    assert "Without a group" not in page and "every matrix group has a group" in page
    bad = signed_in.post("/admin/tenants/acme/groups", data={
        "csrf_token": token, "group.escalations": "escalations"})
    assert bad.status_code == 422 and "expected a numeric id" in bad.text


def test_workspace_settings_take_an_iso_currency(signed_in: Any,  # noqa: F811
                                                 runtime: Any) -> None:
    _add_tenant(runtime, "acme")
    token = _csrf(signed_in, "/admin/tenants/acme")
    bad = signed_in.post("/admin/tenants/acme/settings",
                         data={"csrf_token": token, "name": "Acme", "currency": "euros"})
    assert bad.status_code == 422 and "is not an ISO 4217 currency code" in bad.text
    good = signed_in.post("/admin/tenants/acme/settings",
                          data={"csrf_token": token, "name": "Acme EU", "currency": "eur",
                                "calendar": "business_us"})
    assert good.status_code == 302
    settings, _ = _tenant(runtime, "acme")
    assert (settings["currency"], settings["calendar"]) == ("EUR", "business_us")


# --- webhook URLs and where to register them ---------------------------------------------


@pytest.mark.parametrize("helpdesk", ["zendesk", "freshdesk", "intercom"])
def test_the_page_shows_the_served_webhook_url_and_the_helpdesks_own_steps(
        signed_in: Any, runtime: Any, helpdesk: str) -> None:  # noqa: F811
    _add_tenant(runtime, "acme", helpdesk=helpdesk,
                base_url=None if helpdesk == "intercom" else f"https://acme.{helpdesk}.com")
    page = signed_in.get("/admin/tenants/acme", base_url="http://localhost:8101").text
    assert f'id="webhook-url">http://localhost:8101/webhooks/{helpdesk}/acme<' in page
    assert REGISTRATION[helpdesk].where in page
    steps = re.search(r'<ol class="steps" id="register-steps">(.*?)</ol>', page, re.S)
    assert steps and f"http://localhost:8101/webhooks/{helpdesk}/acme" in steps.group(1)
    runtime.config["PUBLIC_URL"] = "https://escalade.acme.example"
    signed_in.application.config["PUBLIC_URL"] = "https://escalade.acme.example"
    page = signed_in.get("/admin/tenants/acme", base_url="http://localhost:8101").text
    assert f'id="webhook-url">https://escalade.acme.example/webhooks/{helpdesk}/acme<' in page


def test_readme_and_page_name_the_same_menus() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for helpdesk, registration in REGISTRATION.items():
        if helpdesk != "sandbox":
            assert registration.where in readme, f"README lacks {helpdesk}: {registration.where}"


def test_the_slack_user_map_hint_names_the_button_the_alert_shows() -> None:
    from datetime import UTC, datetime

    from adapters.connectors.slack.blocks import alert_blocks
    from integration.workspaces.connector_fields import CONNECTOR_FIELDS

    (users,) = [f for f in CONNECTOR_FIELDS["slack"] if f.name == "users"]
    blocks = alert_blocks({"dedupe_key": "t:1:tier_3"}, now=datetime(2026, 12, 8, tzinfo=UTC))
    labels = [e["text"]["text"] for b in blocks for e in b.get("elements", [])
              if e.get("type") == "button"]
    named = [label for label in labels if f"“{label}”" in users.hint]
    assert named == ["Take ownership"]
