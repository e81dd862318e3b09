"""Who may open a sidebar without a helpdesk: the demo for anyone, other sandboxes for admins.

And who may frame it: exactly the helpdesk's own origins; every other page, nobody.
"""

# ruff: noqa: F811  (fixtures imported from tests.admin.test_admin are parameters here)

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from integration import store
from integration.demo.seed import seed_demo
from integration.store.people import TierOverrideRow
from integration.worker import drain
from sidebar_ui.auth import SidebarIdentity, issue_sidebar_token, read_sidebar_token
from sidebar_ui.headers import content_security_policy, frame_ancestors
from tests.admin.test_admin import (  # noqa: F401  (fixtures)
    ADMIN,
    _post,
    admin,
    signed_in,
)
from tests.conftest import make_ticket, post_sandbox, sandbox_body

LAB_SECRET = "lab-webhook-secret-0123456789"


@pytest.fixture
def lab(runtime: Any, client: Any) -> str:
    """A sandbox workspace that is not the demo (an admin's test bed), with ticket 7."""
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="lab", name="Lab", helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": LAB_SECRET}, settings={},
                         cipher=runtime.cipher)
    ticket = make_ticket(tenant="lab", id="7", subject="Refund now or we cancel",
                         messages=[{"id": "m1", "author": "customer", "public": True,
                                    "body": "I want a refund or we cancel the contract.",
                                    "created_at": "2026-11-02T09:14:00Z"}])
    response = post_sandbox(client, sandbox_body(ticket, delivery_id="lab-7"),
                            secret=LAB_SECRET, tenant="lab")
    assert response.status_code == 202, response.text
    drain(runtime)
    return "lab"


def _lab_row(runtime: Any) -> Any:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "lab")
        assert tenant is not None
        s.expunge(tenant)
        return tenant


def _overrides(runtime: Any) -> int:
    with store.session_scope(runtime.sessions) as s:
        return s.scalar(select(func.count()).select_from(TierOverrideRow)) or 0


def _old_style_token(runtime: Any, tenant: str, ticket_id: str) -> str:
    # What the start page and Slack links handed to anyone before: no proof recorded.
    identity = SidebarIdentity(tenant=tenant, helpdesk="sandbox", user="demo-agent",
                               ticket_id=ticket_id, via="sidebar_token")
    return issue_sidebar_token(identity, key=runtime.cipher.sign_key("sidebar"),
                               now=runtime.now())


# --- links without a helpdesk's proof -------------------------------------------------------


def test_slack_links_carry_a_token_only_for_the_demo(runtime: Any, lab: str) -> None:
    seed_demo(runtime)
    with store.session_scope(runtime.sessions) as s:
        demo = store.get_tenant(s, "demo")
        assert demo is not None
        s.expunge(demo)

    demo_link = runtime.tenant_context(demo).ticket_link("1001")
    lab_link = runtime.tenant_context(_lab_row(runtime)).ticket_link("7")

    assert "t" in parse_qs(urlsplit(demo_link).query)
    assert lab_link.endswith("/sidebar/sandbox/lab/tickets/7")


def test_an_anonymous_token_no_longer_opens_a_sandbox_workspace(client: Any, runtime: Any,
                                                                lab: str) -> None:
    token = _old_style_token(runtime, "lab", "7")

    page = client.get(f"/sidebar/sandbox/lab/tickets/7?t={token}")
    posted = client.post("/sidebar/sandbox/lab/tickets/7/override",
                         data={"sidebar_token": token, "tier": "1", "reason": "mine now"})

    assert page.status_code == 302
    assert page.headers["Location"].startswith("/admin/login?next=")
    assert "t%3D" not in page.headers["Location"]  # the token is not carried along
    assert posted.status_code == 401
    assert _overrides(runtime) == 0


def test_a_demo_link_opens_nothing_but_the_demo(client: Any, runtime: Any, lab: str) -> None:
    identity = SidebarIdentity(tenant="lab", helpdesk="sandbox", user=None, ticket_id="7",
                               via="demo")
    token = issue_sidebar_token(identity, key=runtime.cipher.sign_key("sidebar"),
                                now=runtime.now())

    assert client.get(f"/sidebar/sandbox/lab/tickets/7?t={token}").status_code == 403


def test_a_signed_in_admin_opens_a_sandbox_workspace_and_overrides_with_the_page_token(
        signed_in: Any, runtime: Any, lab: str) -> None:
    page = signed_in.get("/sidebar/sandbox/lab/tickets/7")
    assert page.status_code == 200
    token = re.search(r'name="sidebar_token" value="([^"]+)"', page.text)
    assert token is not None
    assert read_sidebar_token(token.group(1), key=runtime.cipher.sign_key("sidebar"),
                              now=runtime.now()).user == ADMIN

    # The cookie alone never posts: a cross-site form has no page token.
    bare = signed_in.post("/sidebar/sandbox/lab/tickets/7/override",
                          data={"tier": "1", "reason": "cookie only"})
    assert bare.status_code == 401
    assert _overrides(runtime) == 0

    done = signed_in.post("/sidebar/sandbox/lab/tickets/7/override",
                          data={"sidebar_token": token.group(1), "tier": "1",
                                "reason": "a test ticket"})
    assert done.status_code == 303
    assert _overrides(runtime) == 1


def test_signing_in_leads_back_to_the_sidebar(client: Any, admin: str, lab: str) -> None:
    page = client.get("/sidebar/sandbox/lab/tickets/7")
    login = page.headers["Location"]

    response = _post(client, "/admin/login",
                     {"email": ADMIN, "password": "correct horse battery",
                      "next": parse_qs(urlsplit(login).query)["next"][0]}, page=login)

    assert response.headers["Location"] == "/sidebar/sandbox/lab/tickets/7"
    assert client.get(response.headers["Location"]).status_code == 200


def test_the_start_page_links_a_sandbox_workspace_only_for_an_admin(
        client: Any, signed_in: Any, runtime: Any, lab: str) -> None:
    html = signed_in.get("/?q=Refund").text
    link = re.search(r'href="(/sidebar/sandbox/lab/tickets/7\?t=[^"]+)"', html)
    assert link is not None
    token = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)["t"][0]
    read = read_sidebar_token(token, key=runtime.cipher.sign_key("sidebar"), now=runtime.now())
    assert (read.user, read.proof) == (ADMIN, "admin_session")

    _post(signed_in, "/admin/logout", {}, page="/admin/")
    anonymous = client.get("/?q=Refund").text
    assert "/sidebar/sandbox/lab/" not in anonymous


def test_a_real_helpdesk_workspace_called_demo_is_not_public(client: Any, runtime: Any) -> None:
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="demo", name="Acme (Zendesk)", helpdesk="zendesk",
                         base_url="https://acme.zendesk.com",
                         secrets={"email": "a@acme.example", "api_token": "t"}, settings={},
                         cipher=runtime.cipher)
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        store.upsert_ticket(s, tenant_id=tenant.id, ticket=_ticket("zendesk", "demo", "55"),
                            tier=3, priority="urgent", category="legal", sla_due_at=None,
                            input_fingerprint=None)

    assert "Private customer matter" not in client.get("/").text


def _ticket(helpdesk: str, tenant: str, ticket_id: str) -> Any:
    from integration.models import Ticket

    return Ticket.from_dict(make_ticket(tenant=tenant, helpdesk=helpdesk, id=ticket_id,
                                        subject="Private customer matter"))


# --- who may frame what ---------------------------------------------------------------------


def test_the_start_page_and_admin_pages_cannot_be_framed(client: Any, signed_in: Any) -> None:
    for path in ("/", "/admin/", "/admin/login"):
        headers = signed_in.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(("helpdesk", "base_url", "settings", "framers"), [
    ("zendesk", "https://support.acme.example", {},
     "https://*.zendesk.com https://support.acme.example"),
    ("freshdesk", "https://acme.freshdesk.com", {},
     "https://*.freshdesk.com https://*.freshworks.com https://acme.freshdesk.com"),
    ("intercom", None, {}, "https://app.intercom.com"),
    ("intercom", None, {"region": "eu"}, "https://app.eu.intercom.com"),
    ("sandbox", None, {}, "'self'"),
])
def test_a_sidebar_may_be_framed_by_its_helpdesk_only(
        client: Any, runtime: Any, helpdesk: str, base_url: str | None,
        settings: dict[str, Any], framers: str) -> None:
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="acme", name="Acme", helpdesk=helpdesk, base_url=base_url,
                         secrets={}, settings=settings, cipher=runtime.cipher)

    response = client.get("/sidebar/" + helpdesk + "/acme/tickets/1")

    assert response.status_code in (302, 401)
    policy = response.headers["Content-Security-Policy"]
    assert f"frame-ancestors {framers}" in policy
    assert "X-Frame-Options" not in response.headers
    assert "*" not in framers.replace("https://*.", "")


def test_frame_ancestors_of_an_unknown_helpdesk_is_none() -> None:
    assert frame_ancestors("kayako") == "'none'"
    assert frame_ancestors("zendesk", base_url="https://*.evil.example") == "https://*.zendesk.com"


def test_an_inline_script_needs_the_requests_nonce() -> None:
    policy = content_security_policy(nonce="n0nce")
    assert "script-src 'self' 'nonce-n0nce'" in policy
    assert "'nonce-" not in content_security_policy()
