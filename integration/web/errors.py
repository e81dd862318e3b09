"""One answer for every error, and one log line for it.

Whatever a request carries, the answer is a 2xx or a 4xx naming the problem, in one log line
(no traceback, control characters escaped, never the body): JSON ``{"error": ...}`` for
helpdesks and API clients, a small HTML page (``templates/errors/error.html``) when the client
prefers ``text/html``. While the database is unavailable the answer is 503 with
``Retry-After``. Anything else that escapes a view is a bug: one log line naming where it
happened, and a 500.

The blueprint ``bp`` carries no routes of its own: it registers these handlers for the whole
app. The agent sidebar and the admin pages render their own error pages; the log line is
still this one.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from pathlib import Path

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from integration.inbound import loggable
from integration.store.db import is_unavailable

__all__ = ["POLLED", "RETRY_AFTER_SECONDS", "bp", "json_error", "unavailable"]

log = logging.getLogger(__name__)

bp = Blueprint("errors", __name__, template_folder="templates")

# What a 503 tells the helpdesk; vendors retry a 503 sooner than their own backoff with it.
RETRY_AFTER_SECONDS = 10

# Polled by load balancers and browsers, never sent by a helpdesk: refusals go unlogged.
POLLED = frozenset({"health.healthz", "health.readyz", "favicon"})

_PROJECT = str(Path(__file__).resolve().parents[2]) + "/"
_TITLES: Mapping[int, tuple[str, str]] = {
    400: ("Bad request", "The request could not be read."),
    401: ("Not signed in", "Sign in again, or reload the page in your helpdesk."),
    403: ("Not allowed", "This account may not see that."),
    404: ("Not found", "Check the address."),
    405: ("Method not allowed", ""),
    413: ("Too large", ""),
    415: ("Unsupported content type", ""),
    422: ("Cannot be processed", "The request was read but a field is not acceptable."),
    500: ("Something went wrong", "The error has been logged. Try again in a moment."),
    503: ("Temporarily unavailable", "Escalade cannot reach its database right now. "
          "Try again in a few seconds."),
}
_ERROR_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"


def json_error(status: int, message: str) -> Response:
    """``{"error": message}`` with ``status``."""
    response = jsonify({"error": message})
    response.status_code = status
    return response


def unavailable() -> Response:
    """The 503 while the database is away (said in the log once per outage, not here)."""
    g.store_unavailable = True
    response = json_error(503, "the database is unavailable; retry later")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


# --- after every request ------------------------------------------------------------------


@bp.after_app_request
def _finish_errors(response: Response) -> Response:
    status = response.status_code
    if status < 400:
        return response
    message = _error_message(response)
    _log_rejection(status, message)
    if status == 503:
        response.headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
    if response.mimetype == "application/json" and _prefers_html():
        return _html_error(status, message, response)
    return response


def _error_message(response: Response) -> str:
    if g.get("error_detail"):
        return str(g.error_detail)  # what the operator needs, beyond what the client is told
    if response.mimetype == "application/json" and not response.direct_passthrough:
        body = response.get_json(silent=True)
        if isinstance(body, dict) and body.get("error"):
            return str(body["error"])
    return str(g.get("error_message") or response.status)


def _log_rejection(status: int, message: str) -> None:
    if g.get("logged") or g.get("store_unavailable") or request.endpoint in POLLED:
        return  # said once already (the unexpected error, the outage) or polled, not sent
    size = request.content_length
    level = logging.INFO if status in (404, 405) else logging.WARNING
    log.log(level, "%s %s -> %s (%s bytes): %s", request.method, loggable(request.path, 200),
            status, size if size is not None else 0, loggable(message))


def _prefers_html() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def _html_error(status: int, message: str, original: Response) -> Response:
    title, hint = _TITLES.get(status, (original.status, ""))
    page = render_template("errors/error.html", code=status, title=title, message=message,
                           hint=hint)
    response = Response(page, status=status, mimetype="text/html")
    for name in ("Retry-After", "Allow", "WWW-Authenticate"):
        if name in original.headers:
            response.headers[name] = original.headers[name]
    response.headers["Content-Security-Policy"] = _ERROR_PAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- error handlers -----------------------------------------------------------------------


@bp.app_errorhandler(HTTPException)
def _http_error(err: HTTPException) -> Response | HTTPException:
    if err.code is None:
        return err
    response = json_error(err.code, err.description or err.name)
    for name, value in err.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


@bp.app_errorhandler(Exception)
def _unexpected(err: Exception) -> Response:
    if is_unavailable(err):
        current_app.extensions["escalade.store_gate"].went_down(err)
        return unavailable()
    g.logged = True
    log.error("%s %s -> 500: unexpected %s at %s: %s", request.method,
              loggable(request.path, 200), type(err).__name__, _where(err), loggable(err))
    return json_error(500, "internal error; it has been logged")


def _where(err: BaseException) -> str:
    # The innermost frame of our own code says where to look; a library's rarely does.
    frames = traceback.extract_tb(err.__traceback__)
    ours = [f for f in frames if f.filename.startswith(_PROJECT) and "/.venv/" not in f.filename]
    if ours:
        return f"{ours[-1].filename.removeprefix(_PROJECT)}:{ours[-1].lineno}"
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
