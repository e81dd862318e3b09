"""The agent sidebar inside each helpdesk: one ticket's tier, why, context, and the override.

Routes (all HTML for a 320 px iframe; no external requests of any kind):

- ``GET|POST /sidebar/<helpdesk>/<tenant>`` bootstrap: verifies the helpdesk's proof (a
  Zendesk signed-URL POST, the Freshdesk install secret) or a sidebar token, then goes to the
  ticket named by ``?ticket_id=``; without one it serves a page whose script asks the
  helpdesk's SDK (when vendored) for the ticket id, or says clearly what is missing.
- ``GET /sidebar/<helpdesk>/<tenant>/tickets/<ticket_id>`` the sidebar of one ticket.
- ``POST /sidebar/<helpdesk>/<tenant>/tickets/<ticket_id>/override`` form or JSON
  ``{tier, reason}``: 422 with the errors at their fields and nothing written, else the
  override is recorded and written back (``sidebar_ui.override``) and the page shows it.

Every request is authenticated (``sidebar_ui.auth``): a sidebar token in the
``X-Escalade-Sidebar-Token`` header, the ``t`` / ``sidebar_token`` query or form field, or the
helpdesk's own mechanism. Pages hand out a token bound to the ticket (a third-party iframe gets
no cookies), so the override form needs no CSRF cookie: a forged post has no token. A sandbox
workspace other than the public demo opens for a signed-in admin (pages only; the override
still needs the page's token), and sends anyone else to sign in.

Only the helpdesk may frame the pages: ``frame-ancestors`` names its agent workspace's origins
(``sidebar_ui.headers.frame_ancestors``), never everyone.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import Forbidden, HTTPException, NotFound, Unauthorized

from integration import store
from integration.errors import ConfigurationError
from integration.runtime import Runtime
from integration.store.pages import linked_bug
from integration.store.people import overrides_for_ticket
from sidebar_ui.admin.core import current_admin
from sidebar_ui.auth import (
    ADMIN_PROOF,
    SIDEBAR_TOKEN_FIELD,
    SidebarIdentity,
    helpdesk_class,
    identify,
    is_demo,
    issue_sidebar_token,
    opens_for_admins,
    read_sidebar_token,
    require_ticket_access,
    sidebar_token_of,
    token_accepted,
)
from sidebar_ui.headers import content_security_policy, frame_ancestors
from sidebar_ui.override import try_override
from sidebar_ui.sidebar_view import build_sidebar, currency_of

__all__ = ["TOKEN_QUERY", "bp"]

log = logging.getLogger(__name__)

bp = Blueprint("sidebar", __name__, template_folder="templates", static_folder="static",
               static_url_path="/sidebar-static")

TOKEN_QUERY = "t"
# A helpdesk's vendored app SDK (the adapter's ``sidebar_sdk``), when it is there (never a CDN).
VENDORED = Path(__file__).resolve().parent / "static" / "vendor"
ZAF_PARAMS = ("origin", "app_guid")
# Decisions the timeline shows; a ticket's earlier ones are counted, not listed.
STORY_STEPS = 10
_TIERS = ((1, "Tier 1 · self-serve / AI"), (2, "Tier 2 · agent-assisted"),
          (3, "Tier 3 · specialist / account manager"))


def _runtime() -> Runtime:
    runtime = current_app.extensions["escalade"]
    assert isinstance(runtime, Runtime)
    return runtime


@bp.after_request
def _headers(response: Response) -> Response:
    # Tokens ride in URLs (iframe navigation): never leak them in a Referer, never cache.
    response.headers.setdefault("Content-Security-Policy", content_security_policy(
        frame_ancestors=_framers(), connect=True, default="'none'"))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.endpoint != "sidebar.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(HTTPException)
def _error(err: HTTPException) -> tuple[Response | str, int]:
    code = err.code or 500
    if _wants_json():
        return jsonify({"error": err.description or err.name}), code
    return render_template("sidebar/error.html", code=code, title=err.name,
                           message=err.description or err.name), code


def _framers() -> str:
    """Who may frame this page: the helpdesk's agent workspace (and the tenant's own host)."""
    args = request.view_args or {}
    helpdesk, tenant = str(args.get("helpdesk") or ""), args.get("tenant")
    if not helpdesk:
        return "'none'"
    base_url, settings = None, None
    if tenant:
        with store.session_scope(_runtime().sessions) as s:
            row = store.get_tenant(s, str(tenant))
            if row is not None and row.helpdesk == helpdesk:
                base_url, settings = row.base_url, dict(row.settings or {})
    return frame_ancestors(helpdesk, base_url=base_url, settings=settings)


# --- routes -------------------------------------------------------------------------------


@bp.route("/sidebar/<helpdesk>/<tenant>", methods=["GET", "POST"])
def bootstrap(helpdesk: str, tenant: str) -> ResponseReturnValue:
    """Verify the helpdesk, then open the ticket it names (or let the SDK name it)."""
    runtime = _runtime()
    identity = _authenticate(runtime, helpdesk=helpdesk, tenant=tenant, ticket_id=None)
    ticket_id = (request.values.get("ticket_id") or identity.ticket_id or "").strip()
    if ticket_id:
        require_ticket_access(identity, tenant=tenant, ticket_id=ticket_id)
        token = _token(runtime, identity, ticket_id)
        return redirect(_ticket_url(helpdesk, tenant, ticket_id, token), code=303)
    token = _token(runtime, identity, None)
    # sidebar.js puts the ticket id in place of ``__TICKET__``; the rest is our own route.
    template = _ticket_url(helpdesk, tenant, "__TICKET__", token)
    return render_template(
        "sidebar/bootstrap.html", helpdesk=helpdesk, tenant=tenant, ticket_url=template,
        sidebar_sdk=_sidebar_sdk(helpdesk),
    )


@bp.get("/sidebar/<helpdesk>/<tenant>/tickets/<ticket_id>")
def ticket_page(helpdesk: str, tenant: str, ticket_id: str) -> tuple[str, int]:
    """The sidebar of one ticket."""
    runtime = _runtime()
    identity = _authenticate(runtime, helpdesk=helpdesk, tenant=tenant, ticket_id=ticket_id)
    done = request.args.get("done", type=int)
    return _render(runtime, identity, helpdesk, tenant, ticket_id, done=done)


@bp.post("/sidebar/<helpdesk>/<tenant>/tickets/<ticket_id>/override")
def override(helpdesk: str, tenant: str, ticket_id: str) -> ResponseReturnValue:
    """Set the tier by hand with a reason; written back and kept with the ticket."""
    runtime = _runtime()
    identity = _authenticate(runtime, helpdesk=helpdesk, tenant=tenant, ticket_id=ticket_id)
    data = _payload()
    now = runtime.now()
    with store.session_scope(runtime.sessions) as s:
        tenant_row, row = _load(s, helpdesk, tenant, ticket_id)
        result, errors = try_override(s, data, runtime=runtime, tenant=tenant_row, ticket=row,
                                      agent=identity.user, now=now)
    if result is None:
        if _wants_json():
            return jsonify({"errors": errors}), 422
        return _render(runtime, identity, helpdesk, tenant, ticket_id, errors=errors,
                       form=data, status=422)
    runtime.wake()
    log.info("override %s:%s:%s tier %s -> %s by %s", tenant, helpdesk, ticket_id,
             result.from_tier, result.to_tier, identity.user or "?")
    if _wants_json():
        return jsonify({
            "tier": result.to_tier, "from_tier": result.from_tier,
            "override_id": result.override_id, "decision_id": result.decision_id,
            "outbox_ids": list(result.outbox_ids),
            "message": f"Tier set to {result.to_tier}; recorded with the ticket.",
        })
    token = _token(runtime, identity, ticket_id)
    return redirect(_ticket_url(helpdesk, tenant, ticket_id, token, done=result.override_id),
                    code=303)


# --- helpers ------------------------------------------------------------------------------


def _authenticate(
    runtime: Runtime, *, helpdesk: str, tenant: str, ticket_id: str | None
) -> SidebarIdentity:
    token = request.args.get(TOKEN_QUERY) or _json_token() or sidebar_token_of(request)
    identity: SidebarIdentity | None = None
    if token:
        found = read_sidebar_token(token, key=runtime.cipher.sign_key("sidebar"),
                                   now=runtime.now())
        if found.helpdesk != helpdesk:
            raise Forbidden(f"this sidebar token is not for {helpdesk}")
        _check_access(found, tenant=tenant, ticket_id=ticket_id)
        # Not enough for this workspace (an old link of a sandbox one): an admin must sign in.
        if token_accepted(found, tenant=tenant, helpdesk=helpdesk):
            identity = found
    elif not _admin_may_open(helpdesk, tenant):
        identity = identify(request, runtime=runtime, helpdesk=helpdesk, tenant=tenant)
    if identity is None:
        identity = _admin_identity(helpdesk, tenant)
    _check_access(identity, tenant=tenant, ticket_id=ticket_id)
    return identity


def _check_access(identity: SidebarIdentity, *, tenant: str, ticket_id: str | None) -> None:
    if ticket_id is not None:
        require_ticket_access(identity, tenant=tenant, ticket_id=ticket_id)
    elif identity.tenant != tenant:
        raise Forbidden(f"signed in for tenant {identity.tenant!r}, not {tenant!r}")


def _admin_may_open(helpdesk: str, tenant: str) -> bool:
    # A workspace no helpdesk frames (the sandbox) other than the demo, asked for a page
    # with no proof of its own.
    if not opens_for_admins(helpdesk) or is_demo(tenant, helpdesk):
        return False
    header = helpdesk_class(helpdesk).sidebar_proof_header
    return not (header and request.headers.get(header))


def _admin_identity(helpdesk: str, tenant: str) -> SidebarIdentity:
    """A signed-in admin opening a sandbox page; anyone else is sent to sign in."""
    admin = current_admin()
    if request.method != "GET" or not _admin_may_open(helpdesk, tenant):
        # A post rides on the page's token, never on the cookie alone (no cross-site posts).
        raise Unauthorized("this sidebar needs its page's token: reload the ticket")
    if admin is None:
        # Back here after signing in, without the token that did not open the page.
        kept = {k: v for k, v in request.args.items() if k not in (TOKEN_QUERY,
                                                                  SIDEBAR_TOKEN_FIELD)}
        here = request.path + (f"?{urlencode(kept)}" if kept else "")
        abort(redirect(url_for("admin.login", next=here), code=302))
    return SidebarIdentity(tenant=tenant, helpdesk=helpdesk, user=admin, ticket_id=None,
                           via=ADMIN_PROOF)


def _json_token() -> str | None:
    if not request.is_json:
        return None
    body = request.get_json(silent=True)
    if isinstance(body, dict):
        value = body.get(SIDEBAR_TOKEN_FIELD) or body.get("token")
        return str(value) if value else None
    return None


def _payload() -> dict[str, Any]:
    if request.is_json:
        body = request.get_json(silent=True)
        return dict(body) if isinstance(body, dict) else {}
    return {key: request.form.get(key, "") for key in ("tier", "reason")}


def _wants_json() -> bool:
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes["text/html"] == 0


def _token(runtime: Runtime, identity: SidebarIdentity, ticket_id: str | None) -> str:
    # Bound to the ticket the page shows: a leaked page token opens nothing else.
    bound = dataclasses.replace(identity, ticket_id=ticket_id or identity.ticket_id)
    return issue_sidebar_token(bound, key=runtime.cipher.sign_key("sidebar"),
                               now=runtime.now())


def _ticket_url(helpdesk: str, tenant: str, ticket_id: str, token: str, **extra: Any) -> str:
    path = url_for("sidebar.ticket_page", helpdesk=helpdesk, tenant=tenant,
                   ticket_id=ticket_id)
    # The Zendesk SDK finds its parent frame by these two; keep them across our redirects.
    kept = {k: request.args[k] for k in ZAF_PARAMS if request.args.get(k)}
    return f"{path}?{urlencode({TOKEN_QUERY: token, **kept, **extra})}"


def _load(s: Any, helpdesk: str, tenant: str, ticket_id: str) -> tuple[Any, Any]:
    tenant_row = store.get_tenant(s, tenant)
    if tenant_row is None or tenant_row.helpdesk != helpdesk:
        raise NotFound(f"unknown tenant {tenant!r} for helpdesk {helpdesk!r}")
    row = store.get_ticket(s, tenant_row.id, helpdesk, ticket_id)
    if row is None:
        raise NotFound(f"Escalade has not triaged ticket {ticket_id} yet: it will appear "
                       "here once the helpdesk sends its first update.")
    return tenant_row, row


def _render(
    runtime: Runtime,
    identity: SidebarIdentity,
    helpdesk: str,
    tenant: str,
    ticket_id: str,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    done: int | None = None,
    status: int = 200,
) -> tuple[str, int]:
    now = runtime.now()
    with store.session_scope(runtime.sessions) as s:
        tenant_row, row = _load(s, helpdesk, tenant, ticket_id)
        matrix = runtime.matrix_for(tenant_row)
        story = store.ticket_stories(s, [row.id], per_ticket=STORY_STEPS, context=True)[row.id]
        bug = linked_bug(s, row.id)
        view = build_sidebar(
            row, story.decisions, overrides_for_ticket(s, row.id), matrix=matrix, now=now,
            ticket_link=_ticket_link(runtime, tenant_row, ticket_id),
            linked_bug=dataclasses.asdict(bug) if bug is not None else None,
            writes=story.writes, earlier=story.earlier, currency=currency_of(tenant_row.settings),
            answer=store.answers.answer_for_ticket(s, row.id),
        )
    just_done = next((o for o in view.overrides if done is not None and o.id == done), None)
    return render_template(
        "sidebar/ticket.html", view=view, tenant=tenant, errors=errors or {},
        form=form or {}, tiers=_TIERS, token=_token(runtime, identity, ticket_id),
        token_field=SIDEBAR_TOKEN_FIELD, done=just_done, sidebar_sdk=_sidebar_sdk(helpdesk),
    ), status


def _sidebar_sdk(helpdesk: str) -> str | None:
    name = helpdesk_class(helpdesk).sidebar_sdk
    return name if name and (VENDORED / name).is_file() else None


def _ticket_link(
    runtime: Runtime, tenant: store.TenantRow, ticket_id: str
) -> Callable[[str], str | None] | None:
    try:
        adapter = runtime.adapter_for(tenant)
    except ConfigurationError as err:
        # A half-configured install still shows its sidebar, only without helpdesk links.
        log.warning("tenant %s: no helpdesk links in the sidebar: %s", tenant.slug, err)
        return None
    return adapter.ticket_url if adapter.ticket_url(ticket_id) else None
