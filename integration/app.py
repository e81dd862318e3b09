"""The Flask application: ``create_app(test_config=None)`` wires config, runtime, blueprints."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from integration.config import load_config
from integration.runtime import Runtime

__all__ = ["create_app"]


def create_app(
    test_config: Mapping[str, Any] | None = None, *, runtime: Runtime | None = None
) -> Flask:
    """Build the app: defaults, then ``ESCALADE_*`` environment, then ``test_config``."""
    config = dict(runtime.config) if runtime is not None else load_config(overrides=test_config)
    app = Flask(__name__, static_folder=None)
    app.config.update(config)
    # Flask's own limit turns an oversized body into a 413 before any view reads it.
    app.config["MAX_CONTENT_LENGTH"] = int(config["MAX_BODY_BYTES"])
    logging.basicConfig(level=str(config["LOG_LEVEL"]).upper())

    runtime = runtime or Runtime(config=config)
    app.extensions["escalade"] = runtime

    from integration.tracker_webhooks import bp as tracker_webhooks_bp
    from integration.webhooks import bp as webhooks_bp
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
        from integration.slack_actions import slack_events_blueprint

        app.register_blueprint(
            slack_events_blueprint(runtime, signing_secret=str(config["SLACK_SIGNING_SECRET"]))
        )

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok", "matrix_version": runtime.matrix.version})

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> tuple[Response, int]:
        # Machine clients (helpdesks) get JSON with the reason, never an HTML error page.
        return jsonify({"error": err.description or err.name}), err.code or 500

    return app
