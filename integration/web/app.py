"""The Flask application: ``create_app(test_config=None)`` wires config, runtime, blueprints.

Whatever a request carries, the answer is a 2xx or a 4xx naming the problem, in one log line
(no traceback, control characters escaped, never the body): JSON ``{"error": ...}`` for
helpdesks and API clients, a small HTML page when the client prefers ``text/html``. While the
database is unavailable the answer is 503 with ``Retry-After`` (one log line when the outage
starts, one when it ends). Anything else that escapes a view is a bug: one log line naming
where it happened, and a 500.

``/healthz`` is liveness (touches nothing); ``/readyz`` checks the database (connects, the
schema is current) and reports the delivery backlog.
"""

from __future__ import annotations

import functools
import logging
import re
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from flask import Flask, Request, Response, g, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest, HTTPException

from integration.availability import RETRY_AFTER_SECONDS, StoreGate
from integration.config import load_config
from integration.inbound import load_json, loggable
from integration.runtime import Runtime
from integration.store.db import is_unavailable, ping, session_scope
from integration.store.health import migrations_current, outbox_lag

__all__ = ["create_app"]

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
_PROJECT = str(Path(__file__).resolve().parents[2]) + "/"
# Endpoints that never touch the database: they answer even while it is away.
_UNGATED = frozenset({"healthz", "readyz", "favicon"})
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
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\ud800-\udfff]")
_NUL_OR_SURROGATE = re.compile("[\x00\ud800-\udfff]")
_ERROR_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"


class _StrictJSON(DefaultJSONProvider):
    """``request.get_json`` parses with :func:`load_json`: hostile JSON is a 400, not a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return load_json(s)


class _Request(Request):
    def on_json_loading_failed(self, e: ValueError | None) -> NoReturn:
        raise BadRequest(str(e) if e is not None else "body: expected JSON") from e


class _App(Flask):
    request_class = _Request
    json_provider_class = _StrictJSON

    def handle_http_exception(self, e: HTTPException) -> Any:
        # Blueprints render their own pages; the log line still names the reason.
        g.error_message = e.description or e.name
        return super().handle_http_exception(e)


def create_app(
    test_config: Mapping[str, Any] | None = None, *, runtime: Runtime | None = None
) -> Flask:
    """Build the app: defaults, then ``ESCALADE_*`` environment, then ``test_config``."""
    config = dict(runtime.config) if runtime is not None else load_config(overrides=test_config)
    app = _App(__name__, static_folder=None)
    app.config.update(config)
    # Flask's own limit turns an oversized body into a 413 before any view reads it.
    app.config["MAX_CONTENT_LENGTH"] = int(config["MAX_BODY_BYTES"])
    logging.basicConfig(level=str(config["LOG_LEVEL"]).upper())

    runtime = runtime or Runtime(config=config)
    app.extensions["escalade"] = runtime
    gate = StoreGate(who="web", meanwhile="requests get 503 with Retry-After")
    app.extensions["escalade.store_gate"] = gate

    from integration.web.helpdesk_webhooks import bp as webhooks_bp
    from integration.web.tracker_webhooks import bp as tracker_webhooks_bp
    from sidebar_ui.admin import bp as admin_bp
    from sidebar_ui.canvas import bp as canvas_bp
    from sidebar_ui.pages import bp as pages_bp
    from sidebar_ui.sidebar import bp as sidebar_bp

    # Sessions (the admin UI) are signed with the same secret that encrypts tenant secrets.
    app.secret_key = runtime.cipher.session_key()
    blueprints = (webhooks_bp, tracker_webhooks_bp, pages_bp, sidebar_bp, canvas_bp, admin_bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    from sidebar_ui.headers import init_app as security_headers

    security_headers(app)
    if config.get("SLACK_SIGNING_SECRET"):
        from integration.web.slack_actions import slack_events_blueprint

        app.register_blueprint(
            slack_events_blueprint(runtime, signing_secret=str(config["SLACK_SIGNING_SECRET"]))
        )

    app.before_request(_refuse_control_characters)
    app.before_request(functools.partial(_store_gate, runtime, gate))
    app.after_request(_finish_errors)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, functools.partial(_unexpected, gate))

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok", "matrix_version": runtime.matrix.version})

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        report, ready = readiness(runtime, gate)
        return jsonify(report), 200 if ready else 503

    icon = (STATIC / "favicon.ico").read_bytes()

    @app.get("/favicon.ico")
    def favicon() -> Response:
        response = Response(icon, mimetype="image/vnd.microsoft.icon")
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    return app


# --- health -------------------------------------------------------------------------------


def readiness(runtime: Runtime, gate: StoreGate) -> tuple[dict[str, Any], bool]:
    """What ``/readyz`` reports: the database (reachable, schema current), the outbox lag."""
    checks: dict[str, Any] = {}
    try:
        ping(runtime.engine)
        current, head = migrations_current(runtime.engine)
        schema_ok = current == head
        checks["database"] = {"status": "ok" if schema_ok else "migrations pending",
                              "migration": current, "expected": head}
        if schema_ok:
            with session_scope(runtime.sessions) as s:
                lag = outbox_lag(s, now=runtime.now())
            checks["outbox"] = {"due": lag.due, "oldest_wait_seconds": round(lag.seconds, 1)}
    except Exception as err:
        if not is_unavailable(err):
            raise
        gate.went_down(err)  # the log has the reason; the answer does not show hosts
        checks["database"] = {"status": "unavailable", "error": type(err).__name__}
        return {"status": "unavailable", "checks": checks}, False
    gate.came_back()
    return {"status": "ready" if schema_ok else "unavailable", "checks": checks}, schema_ok


# --- before and after every request -------------------------------------------------------


def _refuse_control_characters() -> Response | None:
    # PostgreSQL text cannot hold NUL, and nothing legitimate puts control characters in a
    # path, query or header; refuse them before any view hands them to a query. Form fields
    # (a matrix, an override reason) may hold line breaks, never NUL or lone surrogates.
    lines = [("path", request.path)]
    lines += [(f"query parameter {k!r}", f"{k}{v}") for k, v in request.args.items(multi=True)]
    lines += [(f"header {k}", v) for k, v in request.headers.items()]
    for where, value in lines:
        if _CONTROL.search(value):
            return _json_error(400, f"{where} contains a control character")
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        request.get_data(cache=True)  # keep the raw body readable for signature checks
        for k, v in request.form.items(multi=True):
            if _NUL_OR_SURROGATE.search(f"{k}{v}"):
                return _json_error(400, f"form field {k!r} contains a NUL or a lone surrogate")
    return None


def _store_gate(runtime: Runtime, gate: StoreGate) -> Response | None:
    if not gate.down or request.endpoint is None:
        return None
    if request.endpoint in _UNGATED or request.endpoint.endswith(".static"):
        return None
    if not gate.probe_due():
        return _unavailable()
    try:
        ping(runtime.engine)
    except Exception as err:
        if not is_unavailable(err):
            raise
        gate.went_down(err)
        return _unavailable()
    gate.came_back()
    return None


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
    if g.get("logged") or g.get("store_unavailable") or request.endpoint in _UNGATED:
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


def _json_error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _http_error(err: HTTPException) -> Response | HTTPException:
    if err.code is None:
        return err
    response = _json_error(err.code, err.description or err.name)
    for name, value in err.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _unavailable() -> Response:
    g.store_unavailable = True
    response = _json_error(503, "the database is unavailable; retry later")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _unexpected(gate: StoreGate, err: Exception) -> Response:
    if is_unavailable(err):
        gate.went_down(err)
        return _unavailable()
    g.logged = True
    log.error("%s %s -> 500: unexpected %s at %s: %s", request.method,
              loggable(request.path, 200), type(err).__name__, _where(err), loggable(err))
    return _json_error(500, "internal error; it has been logged")


def _where(err: BaseException) -> str:
    # The innermost frame of our own code says where to look; a library's rarely does.
    frames = traceback.extract_tb(err.__traceback__)
    ours = [f for f in frames if f.filename.startswith(_PROJECT) and "/.venv/" not in f.filename]
    if ours:
        return f"{ours[-1].filename.removeprefix(_PROJECT)}:{ours[-1].lineno}"
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
