"""The admin blueprint's frame: session login, CSRF, security headers, the overview page.

An admin signs in with an e-mail and password (``escalade admin set-password``); the session
cookie then carries the admin's id, a fingerprint of their password hash (changing the
password signs every other session out) and the sign-in time (sessions end after
``SESSION_HOURS``). Every POST carries the session's CSRF token. Failed sign-ins all get the
same answer, and too many for one address in a window are refused for a while.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
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
from integration.store.people import AdminUserRow, check_admin

__all__ = ["BADGES", "LoginThrottle", "badge", "bp", "csrf_token", "page", "runtime"]

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
               static_folder="static", static_url_path="/admin-static")

SESSION_HOURS = 12
LOGIN_FAILURES = 5
LOGIN_WINDOW_SECONDS = 15 * 60
GENERIC_LOGIN_ERROR = "That e-mail and password do not match an admin."
OPEN_ENDPOINTS = frozenset({"admin.login", "admin.static"})
# No inline script or style anywhere in the admin pages, so the policy can forbid them.
CSP = ("default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
       "object-src 'none'")

F = TypeVar("F", bound=Callable[..., Any])


class LoginThrottle:
    """Failed sign-ins per e-mail address within a sliding window, in this process."""

    def __init__(self, *, limit: int = LOGIN_FAILURES,
                 window: float = LOGIN_WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def blocked_for(self, key: str, *, now: float) -> float:
        """Seconds until ``key`` may try again; 0 when it may now."""
        with self._lock:
            recent = [t for t in self._failures.get(key, ()) if now - t < self.window]
            self._failures[key] = recent
            if len(recent) < self.limit:
                return 0.0
            return self.window - (now - recent[0])

    def failed(self, key: str, *, now: float) -> None:
        """Record one failed sign-in."""
        with self._lock:
            self._failures.setdefault(key, []).append(now)

    def succeeded(self, key: str) -> None:
        """Forget the failures of an address that signed in."""
        with self._lock:
            self._failures.pop(key, None)


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


def page(template: str, code: int = 200, /, **context: Any) -> tuple[str, int]:
    """Render an admin template (HTTP ``code``) with the signed-in admin and CSRF token."""
    return render_template(template, admin_email=session.get("admin_email"),
                           csrf_token=csrf_token(), **context), code


def _password_key(row: AdminUserRow) -> str:
    # A fingerprint, not the hash itself: the cookie is signed, not encrypted.
    return hashlib.sha256(row.password_hash.encode()).hexdigest()[:24]


def _throttle() -> LoginThrottle:
    found = current_app.extensions.get("escalade_admin_throttle")
    if not isinstance(found, LoginThrottle):
        found = LoginThrottle()
        current_app.extensions["escalade_admin_throttle"] = found
    return found


@bp.record_once
def _cookie_settings(state: BlueprintSetupState) -> None:
    config = state.app.config
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Behind HTTPS only: a Secure cookie is never sent back over plain http (local runs).
    public = str(config.get("PUBLIC_URL") or "")
    config["SESSION_COOKIE_SECURE"] = urlsplit(public).scheme == "https"


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
    admin = _current_admin()
    if admin is None:
        session.pop("admin_id", None)
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    g.admin_email = admin
    return None


def current_admin() -> str | None:
    """The signed-in admin's e-mail, or None (for pages outside /admin)."""
    return _current_admin()


def _current_admin() -> str | None:
    admin_id = session.get("admin_id")
    login_at = session.get("login_at")
    if not isinstance(admin_id, int) or not isinstance(login_at, (int, float)):
        return None
    if time.time() - login_at > SESSION_HOURS * 3600:
        return None
    with store.session_scope(runtime().sessions) as s:
        row = s.get(AdminUserRow, admin_id)
        if row is None or session.get("admin_key") != _password_key(row):
            return None
        return row.email


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "admin.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException) -> tuple[str, int]:
    return page("admin/error.html", err.code or 500, title=err.name,
                message=err.description or err.name)


def _safe_next(target: str | None) -> str:
    # Only paths inside the admin UI: never an open redirect to another host.
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.overview")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign-in form; a wrong e-mail or password gets one generic 401."""
    next_url = request.values.get("next", "")
    if request.method == "GET":
        if _current_admin() is not None:
            return redirect(_safe_next(next_url))
        return page("admin/login.html", next_url=next_url, email="")
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    throttle = _throttle()
    now = time.time()
    wait = throttle.blocked_for(email, now=now)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        body, status = page("admin/login.html", 429, next_url=next_url, email=email,
                            error=f"Too many failed sign-ins. Try again in {minutes} min.")
        return body, status, {"Retry-After": str(int(wait) + 1)}
    with store.session_scope(runtime().sessions) as s:
        row = check_admin(s, email=email, password=password, now=runtime().now())
        found = (row.id, row.email, _password_key(row)) if row is not None else None
    if found is None:
        throttle.failed(email, now=now)
        return page("admin/login.html", 401, next_url=next_url, email=email,
                    error=GENERIC_LOGIN_ERROR)
    throttle.succeeded(email)
    # A fresh session (new CSRF token too): nothing set before sign-in carries over.
    session.clear()
    session["admin_id"], session["admin_email"], session["admin_key"] = found
    session["login_at"] = now
    csrf_token()
    return redirect(_safe_next(next_url))


@bp.post("/logout")
def logout() -> Any:
    """Sign out."""
    session.clear()
    return redirect(url_for("admin.login"))


@bp.get("/")
def overview() -> Any:
    """Every workspace: its helpdesk, each connection's last test, deliveries needing care."""
    from integration.store.deliveries import delivery_counts
    from integration.tenants import connection_statuses

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
# Badge text and colour per connection state (``integration.tenants.ConnectionStatus``).
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
