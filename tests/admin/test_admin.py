"""The admin UI through Flask's test client: sign-in, CSRF, connections, matrix, outbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
import responses
from click.testing import CliRunner

from integration import outbox, store
from integration.matrix.loader import DEFAULT_PATH
from integration.models import Action, ActionKind
from integration.store.people import check_admin, set_admin
from tests import recorded
from tests.connectors import hubspot_server, slack_server

ADMIN = "ops@example.com"
PASSWORD = "correct horse battery"
SECRET_VALUES = ("xoxb-test-token", "pat-na1-test-token", "jira-secret-token",
                 "lin_api_secret", "zd-api-token-123")


def _csrf(client: Any, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def _post(client: Any, path: str, data: dict[str, str], *, page: str | None = None) -> Any:
    return client.post(path, data={"csrf_token": _csrf(client, page or path), **data})


@pytest.fixture
def admin(runtime: Any) -> str:
    """An admin user."""
    with store.session_scope(runtime.sessions) as s:
        set_admin(s, email=ADMIN, password=PASSWORD, now=datetime.now(UTC))
    return ADMIN


@pytest.fixture
def signed_in(client: Any, admin: str) -> Any:
    """The test client with an admin session."""
    response = _post(client, "/admin/login", {"email": admin, "password": PASSWORD})
    assert response.status_code == 302, response.text
    return client


def _add_tenant(runtime: Any, slug: str, helpdesk: str = "sandbox", base_url: str | None = None,
                secrets: dict[str, str] | None = None,
                settings: dict[str, Any] | None = None) -> None:
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug=slug, name=slug.title(), helpdesk=helpdesk, base_url=base_url,
                         secrets=secrets or {"webhook_secret": "w" * 32},
                         settings=settings or {}, cipher=runtime.cipher)


def _tenant(runtime: Any, slug: str) -> tuple[dict[str, Any], dict[str, str]]:
    with store.session_scope(runtime.sessions) as s:
        row = store.get_tenant(s, slug)
        assert row is not None
        return dict(row.settings or {}), store.tenant_secrets(row, runtime.cipher)


# --- sign-in ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/", "/admin/matrix", "/admin/outbox",
                                  "/admin/tenants/demo"])
def test_every_page_needs_a_signed_in_admin(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


def test_wrong_password_and_unknown_email_get_the_same_401(client: Any, admin: str) -> None:
    wrong = _post(client, "/admin/login", {"email": admin, "password": "not the password"})
    unknown = _post(client, "/admin/login", {"email": "who@example.com", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    message = "That e-mail and password do not match an admin."
    assert message in wrong.text and message in unknown.text
    assert client.get("/admin/").status_code == 302


def test_sign_in_opens_the_overview_and_sign_out_closes_it(client: Any, admin: str,
                                                            sandbox_tenant: str) -> None:
    response = _post(client, "/admin/login", {"email": admin.upper(), "password": PASSWORD,
                                              "next": "/admin/outbox"})
    assert response.headers["Location"] == "/admin/outbox"
    overview = client.get("/admin/")
    assert overview.status_code == 200
    assert "/admin/tenants/demo" in overview.text and "0 failed" in overview.text
    _post(client, "/admin/logout", {}, page="/admin/")
    assert client.get("/admin/").status_code == 302


def test_next_never_leaves_the_admin(client: Any, admin: str) -> None:
    response = _post(client, "/admin/login", {"email": admin, "password": PASSWORD,
                                              "next": "https://evil.example/"})
    assert response.headers["Location"] == "/admin/"


def test_a_post_without_the_csrf_token_is_refused(client: Any, signed_in: Any) -> None:
    assert client.post("/admin/logout").status_code == 400
    assert client.post("/admin/matrix", data={"matrix": "x", "op": "save",
                                              "csrf_token": "forged"}).status_code == 400
    assert client.get("/admin/").status_code == 200  # still signed in


def test_sign_in_form_needs_its_csrf_token_too(client: Any, admin: str) -> None:
    response = client.post("/admin/login", data={"email": admin, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_a_password_change_ends_other_sessions(signed_in: Any, runtime: Any) -> None:
    with store.session_scope(runtime.sessions) as s:
        set_admin(s, email=ADMIN, password="another long password", now=datetime.now(UTC))
    assert signed_in.get("/admin/").status_code == 302


def test_session_cookie_is_httponly_lax_and_secure_behind_https(
        app_config: dict[str, Any], app: Any, admin: str) -> None:
    from integration.web import create_app

    plain = app.test_client()
    _post(plain, "/admin/login", {"email": admin, "password": PASSWORD})
    cookie = plain.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert not cookie.secure
    https = create_app({**app_config, "PUBLIC_URL": "https://escalade.example"})
    try:
        client = https.test_client()
        response = client.get("/admin/login", base_url="https://escalade.example")
        assert "Secure" in response.headers["Set-Cookie"]
        assert "SameSite=Lax" in response.headers["Set-Cookie"]
    finally:
        https.extensions["escalade"].engine.dispose()


def test_admin_pages_cannot_be_framed_or_cached(signed_in: Any) -> None:
    response = signed_in.get("/admin/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


# --- connections --------------------------------------------------------------------------


def test_slack_connects_against_the_fake_slack_api(signed_in: Any, runtime: Any) -> None:
    with slack_server.running_slack_api() as fake:
        _add_tenant(runtime, "acme", settings={"slack": {"base_url": fake.url}})
        form = {"bot_token": slack_server.TOKEN, "channel": "C0ALERTS", "team_id": "T0ESCALADE",
                "users": "U0ABC123 = 42\nU0DEF456 = 43"}
        tested = _post(signed_in, "/admin/tenants/acme/slack", {**form, "op": "test"},
                       page="/admin/tenants/acme")
        assert tested.status_code == 200
        assert "Connection works: Slack workspace Escalade Test (T0ESCALADE)" in tested.text
        assert "not saved yet" in tested.text
        saved = _post(signed_in, "/admin/tenants/acme/slack", {**form, "op": "save"},
                      page="/admin/tenants/acme")
        assert saved.status_code == 302
        settings, secrets = _tenant(runtime, "acme")
        assert settings["slack"] == {"base_url": fake.url, "channel": "C0ALERTS",
                                     "team_id": "T0ESCALADE",
                                     "users": {"U0ABC123": "42", "U0DEF456": "43"}}
        assert "slack" in settings["connectors"]
        assert secrets["slack.bot_token"] == slack_server.TOKEN
        # Testing again with the secret field left blank uses the stored token.
        again = _post(signed_in, "/admin/tenants/acme/slack",
                      {"channel": "C0ALERTS", "users": "", "op": "test"},
                      page="/admin/tenants/acme")
        assert "Connection works: Slack workspace" in again.text
        refused = _post(signed_in, "/admin/tenants/acme/slack",
                        {"bot_token": "xoxb-wrong", "channel": "C0ALERTS", "op": "test"},
                        page="/admin/tenants/acme")
        assert "Connection failed" in refused.text and "invalid_auth" in refused.text
        # Test, the test that "Save" runs, test again with the stored token, the wrong one.
        assert [c.token for c in fake.calls_to("auth.test")] == [
            slack_server.TOKEN, slack_server.TOKEN, slack_server.TOKEN, "xoxb-wrong"]
        # The form's wrong token was not saved: the stored connection's last test stands.
        page = signed_in.get("/admin/tenants/acme").text
        assert re.search(r'id="badge-slack" data-state="ok"', page)


def test_a_bad_slack_channel_is_shown_at_the_field_and_nothing_is_saved(
        signed_in: Any, runtime: Any) -> None:
    _add_tenant(runtime, "acme")
    response = _post(signed_in, "/admin/tenants/acme/slack",
                     {"bot_token": "xoxb-test-token", "channel": "#alerts", "op": "save"},
                     page="/admin/tenants/acme")
    assert response.status_code == 422
    assert re.search(r'id="slack-channel"[^>]*aria-invalid="true"', response.text)
    assert "channel must be a channel id" in response.text
    assert "xoxb-test-token" not in response.text  # a typed secret is not echoed back either
    settings, secrets = _tenant(runtime, "acme")
    assert "slack" not in settings and "slack.bot_token" not in secrets


def test_hubspot_test_connection_against_the_mock(signed_in: Any, runtime: Any) -> None:
    with hubspot_server.HubSpotMock() as hubspot:
        hubspot.add_owner("7", "kim@vendor.example", "Kim", "Lee")
        _add_tenant(runtime, "acme", settings={"crm": {"base_url": hubspot.base_url}})
        ok = _post(signed_in, "/admin/tenants/acme/crm",
                   {"access_token": hubspot_server.TOKEN, "arr": "arr_usd", "op": "test"},
                   page="/admin/tenants/acme")
        assert "Connection works: HubSpot: 1 owners visible" in ok.text
        refused = _post(signed_in, "/admin/tenants/acme/crm",
                        {"access_token": "pat-wrong", "op": "test"}, page="/admin/tenants/acme")
        assert "Connection failed" in refused.text
        _post(signed_in, "/admin/tenants/acme/crm",
              {"access_token": hubspot_server.TOKEN, "arr": "arr_usd", "op": "save"},
              page="/admin/tenants/acme")
    settings, secrets = _tenant(runtime, "acme")
    assert settings["crm"] == {"base_url": hubspot.base_url, "properties": {"arr": "arr_usd"}}
    assert secrets["crm.access_token"] == hubspot_server.TOKEN


@responses.activate
def test_jira_test_connection_success_and_401(signed_in: Any, runtime: Any) -> None:
    _add_tenant(runtime, "acme")
    url = "https://acme.atlassian.net/rest/api/3/myself"
    responses.get(url, json={"accountId": "5b10", "displayName": "Dana Admin",
                             "emailAddress": "dana@acme.example"})
    responses.get(url, status=401, json={"errorMessages": ["Client must be authenticated"]})
    form = {"base_url": "https://acme.atlassian.net/", "email": "dana@acme.example",
            "api_token": "jira-secret-token", "project": "SUP", "op": "test"}
    ok = _post(signed_in, "/admin/tenants/acme/jira", form, page="/admin/tenants/acme")
    assert "Connection works: Jira https://acme.atlassian.net: connected as Dana Admin" in ok.text
    assert recorded.header(responses.calls[0].request, "Authorization").startswith("Basic ")
    refused = _post(signed_in, "/admin/tenants/acme/jira", form, page="/admin/tenants/acme")
    assert "Connection failed: jira: check the credentials failed with HTTP 401: Client must " \
           "be authenticated" in refused.text
    _post(signed_in, "/admin/tenants/acme/jira", {**form, "op": "save"},
          page="/admin/tenants/acme")
    settings, secrets = _tenant(runtime, "acme")
    # Where the Jira connector reads them: the site is base_url, the e-mail a credential.
    assert settings["jira"] == {"base_url": "https://acme.atlassian.net/", "project": "SUP"}
    assert "jira" in settings["connectors"]
    assert secrets["jira.api_token"] == "jira-secret-token"
    assert secrets["jira.email"] == "dana@acme.example"


@responses.activate
def test_linear_test_connection_success_and_401(signed_in: Any, runtime: Any) -> None:
    _add_tenant(runtime, "acme",
                settings={"linear": {"base_url": "https://linear.test/graphql"}})
    responses.post("https://linear.test/graphql",
                   json={"data": {"viewer": {"id": "u1", "name": "Robin"}}})
    responses.post("https://linear.test/graphql", status=401, json={
        "errors": [{"message": "Authentication required, not authenticated"}]})
    form = {"api_key": "lin_api_secret", "team_id": "ENG-team-1", "op": "test"}
    ok = _post(signed_in, "/admin/tenants/acme/linear", form, page="/admin/tenants/acme")
    assert "Connection works: Linear: connected as Robin" in ok.text
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "lin_api_secret"
    assert b"viewer" in recorded.body(sent)
    refused = _post(signed_in, "/admin/tenants/acme/linear", form, page="/admin/tenants/acme")
    assert "Connection failed" in refused.text
    assert "Authentication required, not authenticated" in refused.text


@responses.activate
@pytest.mark.parametrize(("helpdesk", "url", "secrets", "body", "groups"), [
    ("zendesk", "https://acme.zendesk.com/api/v2/users/me.json",
     {"email": "bot@acme.example", "api_token": "zd-api-token-123"},
     {"user": {"id": 9, "name": "Escalade Bot", "role": "admin"}},
     ("https://acme.zendesk.com/api/v2/groups.json",
      {"groups": [{"id": 360001, "name": "Escalations"}], "meta": {"has_more": False}})),
    ("freshdesk", "https://acme.freshdesk.com/api/v2/agents/me", {"api_key": "fd-key"},
     {"id": 5, "contact": {"name": "Escalade Bot"}},
     ("https://acme.freshdesk.com/api/v2/groups", [{"id": 360001, "name": "Escalations"}])),
    ("intercom", "https://api.intercom.io/me", {"access_token": "ic-token"},
     {"type": "admin", "id": "1", "name": "Escalade Bot", "app": {"name": "Acme"}},
     ("https://api.intercom.io/teams",
      {"type": "team.list", "teams": [{"type": "team", "id": "360001", "name": "Escalations"}]})),
])
def test_helpdesk_test_connection_asks_who_the_credentials_are(
        signed_in: Any, runtime: Any, helpdesk: str, url: str, secrets: dict[str, str],
        body: dict[str, Any], groups: tuple[str, Any]) -> None:
    base = None if helpdesk == "intercom" else url.split("/api")[0]
    _add_tenant(runtime, "acme", helpdesk=helpdesk, base_url=base,
                secrets={**secrets, "webhook_secret": "w" * 32})
    responses.get(url, json=body)
    responses.get(url, status=401, json={"error": "Couldn't authenticate you"})
    responses.get(groups[0], json=groups[1])
    ok = _post(signed_in, "/admin/tenants/acme/helpdesk", {"op": "test"},
               page="/admin/tenants/acme")
    assert "Connection works:" in ok.text and "Escalade Bot" in ok.text
    assert "Escalations (360001)" in ok.text
    refused = _post(signed_in, "/admin/tenants/acme/helpdesk", {"op": "test"},
                    page="/admin/tenants/acme")
    assert "Connection failed:" in refused.text and "401" in refused.text


@responses.activate
def test_zendesk_answering_as_anonymous_is_a_failed_test(signed_in: Any, runtime: Any) -> None:
    _add_tenant(runtime, "acme", helpdesk="zendesk", base_url="https://acme.zendesk.com",
                secrets={"email": "bot@acme.example", "api_token": "t",
                         "webhook_secret": "w" * 32})
    responses.get("https://acme.zendesk.com/api/v2/users/me.json",
                  json={"user": {"id": None, "name": "Anonymous user", "role": "end-user"}})
    response = _post(signed_in, "/admin/tenants/acme/helpdesk", {"op": "test"},
                     page="/admin/tenants/acme")
    assert "Connection failed: Zendesk answered as an anonymous user" in response.text


@responses.activate
def test_saving_the_helpdesk_keeps_blank_secrets_and_sets_the_base_url(
        signed_in: Any, runtime: Any) -> None:
    _add_tenant(runtime, "acme", helpdesk="zendesk", base_url="https://old.zendesk.com",
                secrets={"email": "bot@acme.example", "api_token": "zd-api-token-123",
                         "webhook_secret": "w" * 32})
    response = _post(signed_in, "/admin/tenants/acme/helpdesk",
                     {"base_url": "https://acme.zendesk.com", "email": "", "api_token": "",
                      "op": "save"}, page="/admin/tenants/acme")
    assert response.status_code == 302
    with store.session_scope(runtime.sessions) as s:
        row = store.get_tenant(s, "acme")
        assert row is not None and row.base_url == "https://acme.zendesk.com"
        assert store.tenant_secrets(row, runtime.cipher)["api_token"] == "zd-api-token-123"
    missing = _post(signed_in, "/admin/tenants/acme/helpdesk",
                    {"base_url": "", "op": "save"}, page="/admin/tenants/acme")
    assert missing.status_code == 422 and "Base URL is required" in missing.text


def test_stored_secrets_are_never_rendered(signed_in: Any, runtime: Any) -> None:
    _add_tenant(runtime, "acme", helpdesk="zendesk", base_url="https://acme.zendesk.com",
                secrets={"email": "bot@acme.example", "api_token": "zd-api-token-123",
                         "webhook_secret": "w" * 32, "slack.bot_token": "xoxb-test-token",
                         "crm.access_token": "pat-na1-test-token",
                         "jira.api_token": "jira-secret-token",
                         "linear.api_key": "lin_api_secret"},
                settings={"connectors": ["slack", "crm"],
                          "slack": {"channel": "C0ALERTS"},
                          "jira": {"base_url": "https://acme.atlassian.net"}})
    html = signed_in.get("/admin/tenants/acme").text
    for value in (*SECRET_VALUES, "w" * 32):
        assert value not in html
    assert html.count("stored — leave blank to keep") == 7
    assert "C0ALERTS" in html and "https://acme.atlassian.net" in html


def test_disconnect_forgets_the_connector_and_its_secret(signed_in: Any, runtime: Any) -> None:
    _add_tenant(runtime, "acme", secrets={"webhook_secret": "w" * 32,
                                          "slack.bot_token": "xoxb-test-token"},
                settings={"connectors": ["slack"], "slack": {"channel": "C0ALERTS"}})
    response = _post(signed_in, "/admin/tenants/acme/slack", {"op": "disconnect"},
                     page="/admin/tenants/acme")
    assert response.status_code == 302
    settings, secrets = _tenant(runtime, "acme")
    assert settings["connectors"] == [] and settings["slack"] == {}
    assert secrets["slack.bot_token"] == ""


def test_unknown_tenant_or_section_is_404(signed_in: Any, runtime: Any) -> None:
    assert signed_in.get("/admin/tenants/nope").status_code == 404
    _add_tenant(runtime, "acme")
    assert _post(signed_in, "/admin/tenants/acme/zapier", {"op": "test"},
                 page="/admin/tenants/acme").status_code == 404


# --- the matrix editor ------------------------------------------------------------------


def _default_text() -> str:
    return DEFAULT_PATH.read_text(encoding="utf-8")


def _matrix_post(client: Any, data: dict[str, str]) -> Any:
    """Submit the editor as a browser does: with the page's CSRF token and base digest."""
    html = client.get("/admin/matrix").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    base = re.search(r'name="base" value="([^"]+)"', html)
    assert token and base
    return client.post("/admin/matrix", data={"csrf_token": token.group(1),
                                              "base": base.group(1), **data})


def test_matrix_editor_rejects_a_threshold_out_of_range_at_its_line(
        signed_in: Any, runtime: Any) -> None:
    text = _default_text().replace("health_below: 0.4", "health_below: 1.5")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "health_below: 1.5" in t)
    response = _matrix_post(signed_in, {"matrix": text, "op": "save"})
    assert response.status_code == 422
    assert f'<a href="#L{line}" data-line="{line}">line {line}</a>' in response.text
    assert "bumps.1.when.all.1.health_below" in response.text
    assert "1.5 is out of range [0, 1]" in response.text
    assert f'<span id="L{line}" class="bad">' in response.text
    assert not (Path(runtime.config["VAR_DIR"]) / "matrix.yaml").exists()


def test_matrix_editor_validates_without_saving(signed_in: Any, runtime: Any) -> None:
    response = _matrix_post(signed_in, {"matrix": _default_text(), "op": "validate"})
    assert response.status_code == 200 and "Valid: this matrix would load as" in response.text
    assert not (Path(runtime.config["VAR_DIR"]) / "matrix.yaml").exists()


def test_matrix_editor_saves_a_valid_edit_to_var_dir(signed_in: Any, runtime: Any) -> None:
    in_force = runtime.matrix.version
    text = _default_text().replace("health_below: 0.4", "health_below: 0.35")
    response = _matrix_post(signed_in, {"matrix": text.replace("\n", "\r\n"), "op": "save"})
    saved = Path(runtime.config["VAR_DIR"]) / "matrix.yaml"
    assert response.status_code == 200
    assert saved.read_text(encoding="utf-8") == text
    assert f"ESCALADE_MATRIX_PATH={saved}" in response.text
    # The next visit edits the saved file; the running matrix is unchanged.
    assert "health_below: 0.35" in signed_in.get("/admin/matrix").text
    assert runtime.matrix.version == in_force


def test_matrix_save_says_restart_when_the_saved_file_is_the_one_in_force(
        signed_in: Any, runtime: Any) -> None:
    saved = Path(runtime.config["VAR_DIR"]) / "matrix.yaml"
    assert runtime.matrix is not None  # loaded at start, before the file exists
    runtime.config["MATRIX_PATH"] = saved
    signed_in.application.config["MATRIX_PATH"] = saved
    response = _matrix_post(signed_in, {"matrix": _default_text(), "op": "save"})
    assert response.status_code == 200
    assert "restart the app and its workers to put it in force" in response.text


def test_matrix_save_refuses_when_the_file_changed_meanwhile(signed_in: Any,
                                                             runtime: Any) -> None:
    token = _csrf(signed_in, "/admin/matrix")
    base = re.search(r'name="base" value="([^"]+)"', signed_in.get("/admin/matrix").text)
    assert base is not None
    saved = Path(runtime.config["VAR_DIR"]) / "matrix.yaml"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(_default_text().replace("0.4", "0.45", 1), encoding="utf-8")
    response = signed_in.post("/admin/matrix", data={
        "csrf_token": token, "base": base.group(1), "matrix": _default_text(), "op": "save"})
    assert response.status_code == 409
    assert "0.45" in saved.read_text(encoding="utf-8")


# --- the outbox ---------------------------------------------------------------------------


def _failed_row(runtime: Any, slug: str, key: str, *, error: str) -> int:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, slug)
        assert tenant is not None
        row = outbox.enqueue(s, tenant_id=tenant.id, target="helpdesk", ticket_external_id="1042",
                             actions=[Action(kind=ActionKind.ADD_TAGS, target="helpdesk",
                                             payload={"tags": ["tier-3"]})],
                             idempotency_key=key, now=datetime.now(UTC) - timedelta(hours=1))
        assert row is not None
        row.status, row.attempts, row.last_error = "failed", 8, error
        return row.id


def test_outbox_lists_failed_rows_and_retry_resets_one(signed_in: Any, runtime: Any) -> None:
    _add_tenant(runtime, "acme")
    row_id = _failed_row(runtime, "acme", "k1", error="Zendesk answered 422: tier field gone")
    page = signed_in.get("/admin/outbox")
    assert page.status_code == 200
    assert f'id="outbox-{row_id}"' in page.text
    assert "Zendesk answered 422: tier field gone" in page.text and "add_tags" in page.text
    before = datetime.now(UTC)
    response = _post(signed_in, f"/admin/outbox/{row_id}/retry", {"status": "failed"},
                     page="/admin/outbox")
    assert response.status_code == 302 and "status=failed" in response.headers["Location"]
    with store.session_scope(runtime.sessions) as s:
        row = s.get(store.OutboxRow, row_id)
        assert row is not None
        assert (row.status, row.attempts) == ("pending", 0)
        assert row.next_attempt_at >= before - timedelta(seconds=1)
    again = _post(signed_in, f"/admin/outbox/{row_id}/retry", {}, page="/admin/outbox")
    assert "is not failed" in signed_in.get(again.headers["Location"]).text


def test_retry_all_failed_respects_the_tenant_filter(signed_in: Any, runtime: Any) -> None:
    _add_tenant(runtime, "acme")
    _add_tenant(runtime, "bigco")
    ids = [_failed_row(runtime, "acme", "a1", error="x"), _failed_row(runtime, "acme", "a2",
                                                                      error="y")]
    other = _failed_row(runtime, "bigco", "b1", error="z")
    filtered = signed_in.get("/admin/outbox?status=failed&tenant=acme").text
    assert f'id="outbox-{other}"' not in filtered and f'id="outbox-{ids[0]}"' in filtered
    _post(signed_in, "/admin/outbox/retry-failed", {"tenant": "acme"}, page="/admin/outbox")
    with store.session_scope(runtime.sessions) as s:
        rows = {i: s.get(store.OutboxRow, i) for i in (*ids, other)}
        statuses = {i: row.status if row is not None else None for i, row in rows.items()}
    assert statuses == {ids[0]: "pending", ids[1]: "pending", other: "failed"}
    assert "1 failed" in signed_in.get("/admin/").text


# --- the CLI ------------------------------------------------------------------------------


def test_set_password_command_creates_an_admin(runtime: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from integration.cli.admin import admin

    @click.group()
    def main() -> None:
        """Test root."""

    main.add_command(admin)
    runner = CliRunner()
    monkeypatch.setenv("ESCALADE_ADMIN_PASSWORD", "a long enough password")
    result = runner.invoke(main, ["admin", "set-password", "--email", "New@Example.com"],
                           obj=runtime)
    assert result.exit_code == 0, result.output
    assert "new@example.com" in result.output
    with store.session_scope(runtime.sessions) as s:
        assert check_admin(s, email="new@example.com", password="a long enough password",
                           now=datetime.now(UTC)) is not None
    monkeypatch.delenv("ESCALADE_ADMIN_PASSWORD")
    short = runner.invoke(main, ["admin", "set-password", "--email", "new@example.com"],
                          input="short\nshort\n", obj=runtime)
    assert short.exit_code == 2 and "at least 10 characters" in short.output


def test_set_password_reads_the_first_line_of_standard_input(
        runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from integration.cli.admin import admin

    @click.group()
    def main() -> None:
        """Test root."""

    main.add_command(admin)
    runner = CliRunner()
    # Standard input wins over the environment: a script that pipes a password means it.
    monkeypatch.setenv("ESCALADE_ADMIN_PASSWORD", "the environment's password")
    result = runner.invoke(
        main, ["admin", "set-password", "--email", "ci@example.com", "--password-stdin"],
        input=" piped password 1 \nsecond line ignored\n", obj=runtime)
    assert result.exit_code == 0, result.output
    with store.session_scope(runtime.sessions) as s:
        assert check_admin(s, email="ci@example.com", password=" piped password 1 ",
                           now=datetime.now(UTC)) is not None
        assert check_admin(s, email="ci@example.com", password="the environment's password",
                           now=datetime.now(UTC)) is None
    empty = runner.invoke(
        main, ["admin", "set-password", "--email", "ci2@example.com", "--password-stdin"],
        input="", obj=runtime)
    assert empty.exit_code == 2 and "--password-stdin" in empty.output
    with store.session_scope(runtime.sessions) as s:
        assert check_admin(s, email="ci2@example.com", password="",
                           now=datetime.now(UTC)) is None
