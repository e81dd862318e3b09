"""The admin blueprint's frame: server-side sessions, sign-in throttling, CSRF, the overview.

An admin signs in with an e-mail and password (``escalade admin set-password``). The session
cookie then carries only a random token; the session itself lives in the database
(``store.sessions``), so signing out ends it for good (a copied cookie stops working), "sign
out everywhere" and a new password end all of the admin's sessions, and every session ends
after ``ESCALADE_ADMIN_SESSION_IDLE_MINUTES`` unused or ``ESCALADE_ADMIN_SESSION_HOURS`` after
sign-in. Every POST carries the session's CSRF token. Failed sign-ins all get the same answer
and wait longer and longer per address and account (``sidebar_ui.admin.guard``), counted in
the database so a restart forgets nothing.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException

from integration import store
from integration.errors import ConfigurationError
from integration.store.people import check_admin
from integration.store.sessions import (
    close_session,
    close_sessions_of,
    find_session,
    open_session,
)
from sidebar_ui.admin.guard import (
    Network,
    SignInKeys,
    begin_sign_in,
    client_address,
    in_networks,
    parse_networks,
    sign_in_succeeded,
)

__all__ = ["BADGES", "badge", "bp", "client_ip", "csrf_token", "current_admin", "page",
           "runtime", "safe_next", "tenant_by_slug"]

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
               static_folder="static", static_url_path="/admin-static")

GENERIC_LOGIN_ERROR = "That e-mail and password do not match an admin."
OPEN_ENDPOINTS = frozenset({"admin.login", "admin.static"})
SESSION_COOKIE_KEY = "sid"


def runtime() -> Any:
    """The app's ``Runtime``."""
    return current_app.extensions["escalade"]


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def tenant_by_slug(slug: str | None) -> store.TenantRow | None:
    """The workspace ``slug`` names, detached from its session; None when there is none."""
    if not slug:
        return None
    with store.session_scope(runtime().sessions) as s:
        tenant = store.get_tenant(s, slug)
        if tenant is not None:
            s.expunge(tenant)
        return tenant


def page(template: str, code: int = 200, /, **context: Any) -> tuple[str, int]:
    """Render an admin template (HTTP ``code``) with the signed-in admin and CSRF token."""
    return render_template(template, admin_email=current_admin(),
                           csrf_token=csrf_token(), **context), code


def _networks() -> tuple[tuple[Network, ...], tuple[Network, ...]]:
    found = current_app.extensions["escalade_admin_networks"]
    return found  # type: ignore[no-any-return]


def client_ip() -> str:
    """The client's address (past the reverse proxies ``ESCALADE_TRUSTED_PROXIES`` names)."""
    _, proxies = _networks()
    return client_address(request.remote_addr, request.headers.get("X-Forwarded-For"), proxies)


def _lifetimes() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return (timedelta(minutes=int(config["ADMIN_SESSION_IDLE_MINUTES"])),
            timedelta(hours=int(config["ADMIN_SESSION_HOURS"])))


@bp.record_once
def _settings(state: BlueprintSetupState) -> None:
    config = state.app.config
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Behind HTTPS only: a Secure cookie is never sent back over plain http (local runs).
    public = str(config.get("PUBLIC_URL") or "")
    config["SESSION_COOKIE_SECURE"] = urlsplit(public).scheme == "https"
    for key in ("ADMIN_SESSION_IDLE_MINUTES", "ADMIN_SESSION_HOURS"):
        if int(config.get(key) or 0) < 1:
            raise ConfigurationError(f"ESCALADE_{key}: must be at least 1")
    # Read once at start-up, so a typo stops the app instead of every sign-in.
    state.app.extensions["escalade_admin_networks"] = (
        parse_networks("ESCALADE_ADMIN_TRUSTED_NETWORKS", config.get("ADMIN_TRUSTED_NETWORKS")),
        parse_networks("ESCALADE_TRUSTED_PROXIES", config.get("TRUSTED_PROXIES")),
    )


@bp.before_request
def _guard() -> Any:
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        expected = session.get("csrf")
        if not (isinstance(expected, str) and expected
                and hmac.compare_digest(sent.encode(), expected.encode())):
            return page("admin/error.html", 400, title="Form expired",
                        message="The form's security token is missing or stale. "
                                "Reload the page and submit again.")
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_admin() is None:
        session.pop(SESSION_COOKIE_KEY, None)
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    return None


def current_admin() -> str | None:
    """The signed-in admin's e-mail, or None; read once per request (also outside /admin)."""
    if "admin_session" not in g:
        g.admin_session = _session_info()
    info = g.admin_session
    return info.email if info is not None else None


def _session_info() -> Any:
    token = session.get(SESSION_COOKIE_KEY)
    if not isinstance(token, str) or not token:
        return None
    idle, _ = _lifetimes()
    rt = runtime()
    with store.session_scope(rt.sessions) as s:
        return find_session(s, token, now=rt.now(), idle=idle)


@bp.after_request
def _headers(response: Response) -> Response:
    # The policy itself is every page's (sidebar_ui.headers); admin pages are never cached.
    if request.endpoint != "admin.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException) -> tuple[str, int]:
    return page("admin/error.html", err.code or 500, title=err.name,
                message=err.description or err.name)


def safe_next(target: str | None, default: str | None = None) -> str:
    """A path on this site to go to after sign-in; never another host (no open redirect)."""
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and not urlsplit(target).netloc):
        return target
    return default or url_for("admin.overview")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign-in form; a wrong e-mail or password gets one generic 401."""
    next_url = request.values.get("next", "")
    if request.method == "GET":
        if current_admin() is not None:
            return redirect(safe_next(next_url))
        return page("admin/login.html", next_url=next_url, email="")
    email = request.form.get("email", "").strip().lower()[:320]
    password = request.form.get("password", "")
    rt = runtime()
    now = rt.now()
    address = client_ip()
    trusted_networks, _ = _networks()
    keys = SignInKeys.of(address=address, email=email)
    with store.session_scope(rt.sessions) as s:
        wait = begin_sign_in(s, keys, trusted=in_networks(address, trusted_networks), now=now)
        if wait > 0:
            s.rollback()  # a refused attempt counts for nothing
    if wait > 0:
        seconds = int(wait) + 1
        shown = f"{seconds} s" if seconds < 120 else f"{round(seconds / 60)} min"
        body, status = page("admin/login.html", 429, next_url=next_url, email=email,
                            error=f"Too many failed sign-ins. Try again in {shown}.")
        return body, status, {"Retry-After": str(seconds)}
    _, lifetime = _lifetimes()
    with store.session_scope(rt.sessions) as s:
        row = check_admin(s, email=email, password=password, now=now)
        token = None
        if row is not None:
            sign_in_succeeded(s, keys)
            token = open_session(s, admin=row, now=now, lifetime=lifetime, address=address)
    if token is None:
        return page("admin/login.html", 401, next_url=next_url, email=email,
                    error=GENERIC_LOGIN_ERROR)
    # A fresh session (new CSRF token too): nothing set before sign-in carries over.
    session.clear()
    session[SESSION_COOKIE_KEY] = token
    g.pop("admin_session", None)
    csrf_token()
    return redirect(safe_next(next_url))


@bp.post("/logout")
def logout() -> Any:
    """Sign out: this session ends on the server too, so a copy of the cookie is worthless."""
    token = session.get(SESSION_COOKIE_KEY)
    if isinstance(token, str) and token:
        with store.session_scope(runtime().sessions) as s:
            close_session(s, token)
    session.clear()
    return redirect(url_for("admin.login"))


@bp.post("/logout-everywhere")
def logout_everywhere() -> Any:
    """End every session of the signed-in admin, in every browser, this one included."""
    info = g.get("admin_session")
    if info is not None:
        with store.session_scope(runtime().sessions) as s:
            ended = close_sessions_of(s, info.admin_id)
        session.clear()
        flash(f"Signed out everywhere ({ended} session{'s' if ended != 1 else ''} ended).",
              "ok")
    return redirect(url_for("admin.login"))


@bp.get("/")
def overview() -> Any:
    """Every workspace: its helpdesk, each connection's last test, deliveries needing care."""
    from integration.store.deliveries import delivery_counts
    from integration.workspaces.connection_tests import connection_statuses

    rt = runtime()
    rows = []
    with store.session_scope(rt.sessions) as s:
        tenants = store.list_tenants(s)
        for tenant in tenants:
            s.expunge(tenant)
        counts = {t.slug: delivery_counts(s, tenant_slug=t.slug) for t in tenants}
    for tenant in tenants:
        statuses = connection_statuses(rt, tenant)
        rows.append({
            "slug": tenant.slug,
            "name": tenant.name,
            "helpdesk": tenant.helpdesk,
            "base_url": tenant.base_url,
            "connections": [(CONNECTION_NAMES.get(key, key), badge(rt, tenant, status))
                            for key, status in statuses.items() if status.state != "off"],
            "failed": counts[tenant.slug]["failed"],
            "retrying": counts[tenant.slug]["retrying"],
        })
    return page("admin/overview.html", tenants=rows, matrix_version=rt.matrix.version)


CONNECTION_NAMES = {"helpdesk": "Helpdesk", "slack": "Slack", "crm": "HubSpot", "jira": "Jira",
                    "linear": "Linear"}
# Badge text and colour per connection state (``connection_tests.ConnectionStatus``).
BADGES: dict[str, tuple[str, str]] = {
    "ok": ("connected", "good"),
    "failed": ("connection failed", "bad"),
    "untested": ("not tested yet", "warn"),
    "changed": ("changed since the last test", "warn"),
    "off": ("not connected", ""),
}


def badge(rt: Any, tenant: store.TenantRow, status: Any) -> dict[str, str]:
    """What a connection's badge shows: label, colour, when it was tested, the error."""
    from integration.calendars import format_local

    label, tone = BADGES[status.state]
    when = (format_local(status.checked_at, rt.matrix_for(tenant).display_zone)
            if status.checked_at else "")
    return {"label": label, "tone": tone, "state": status.state, "when": when,
            "message": status.message}
