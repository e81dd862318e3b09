"""The Flask application: ``create_app(test_config=None)`` wires config, runtime, blueprints.

What a request meets, in order: strict reading (``strict``: control characters are a 400
naming where, hostile JSON too), the database gate (``health``: a 503 at once while the
database is away), the view, then one answer for any error (``errors``: JSON, or a small page
for a browser, and one log line). The favicon is the app's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, g
from werkzeug.exceptions import HTTPException

from integration.availability import StoreGate
from integration.config import load_config
from integration.logs import configure_logging
from integration.runtime import Runtime
from integration.web import errors, health, helpdesk_webhooks, metrics, tracker_webhooks
from integration.web.strict import StrictJSONProvider, StrictRequest, refuse_control_characters

__all__ = ["create_app"]

STATIC = Path(__file__).resolve().parent / "static"


class _App(Flask):
    request_class = StrictRequest
    json_provider_class = StrictJSONProvider

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
    configure_logging(str(config["LOG_LEVEL"]), str(config.get("LOG_FORMAT") or "auto"))

    runtime = runtime or Runtime(config=config)
    app.extensions["escalade"] = runtime
    app.extensions["escalade.store_gate"] = StoreGate(
        who="web", meanwhile="requests get 503 with Retry-After")

    from sidebar_ui.admin import bp as admin_bp
    from sidebar_ui.canvas import bp as canvas_bp
    from sidebar_ui.headers import init_app as security_headers
    from sidebar_ui.pages import bp as pages_bp
    from sidebar_ui.sidebar import bp as sidebar_bp

    # Sessions (the admin UI) are signed with the same secret that encrypts tenant secrets.
    app.secret_key = runtime.cipher.session_key()
    blueprints = (helpdesk_webhooks.bp, tracker_webhooks.bp, pages_bp, sidebar_bp, canvas_bp,
                  admin_bp, health.bp, metrics.bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    security_headers(app)
    if config.get("SLACK_SIGNING_SECRET"):
        from integration.web.slack_actions import slack_events_blueprint

        app.register_blueprint(
            slack_events_blueprint(runtime, signing_secret=str(config["SLACK_SIGNING_SECRET"]))
        )
    # Last: after-request hooks run newest first, so an error page, made after every view's
    # own hooks, still gets the security headers.
    app.register_blueprint(errors.bp)

    app.before_request(refuse_control_characters)
    app.before_request(health.gate_requests)

    icon = (STATIC / "favicon.ico").read_bytes()

    @app.get("/favicon.ico")
    def favicon() -> Response:
        response = Response(icon, mimetype="image/vnd.microsoft.icon")
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    return app
