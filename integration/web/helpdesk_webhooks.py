"""Inbound helpdesk webhooks: verify, store, acknowledge. Nothing is decided in the request."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, g, jsonify, request

from integration import store
from integration.errors import (
    ConfigurationError,
    UnsupportedEvent,
    ValidationError,
    WebhookVerificationError,
)
from integration.inbound import load_json, loggable

__all__ = ["bp"]

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


# Column widths of inbound_events: PostgreSQL refuses longer values, so they are a 422 here.
_MAX_CHARS = {"delivery_id": 200, "event_type": 100, "ticket_id": 100}


def _error(status: int, message: str, **extra: object) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


@bp.route("/<helpdesk>/<tenant_slug>", methods=["HEAD"])
def reachable(helpdesk: str, tenant_slug: str) -> tuple[str, int]:
    """Answer a helpdesk checking that the URL is reachable (Intercom does when it is saved).

    Nothing is read or stored, and it says nothing about whether the workspace exists.
    """
    return "", 200


@bp.post("/<helpdesk>/<tenant_slug>")
def receive(helpdesk: str, tenant_slug: str) -> tuple[Response, int]:
    """Accept one webhook delivery: 202 once stored, 4xx naming the problem otherwise."""
    runtime = current_app.extensions["escalade"]
    max_bytes = int(current_app.config["MAX_BODY_BYTES"])
    if request.content_length is not None and request.content_length > max_bytes:
        return _error(413, f"body is {request.content_length} bytes; the limit is {max_bytes}")
    mimetype = request.mimetype or ""
    if mimetype != "application/json":
        return _error(415, f"Content-Type must be application/json, got {mimetype or 'none'!r}")
    body = request.get_data(cache=False)
    if len(body) > max_bytes:
        return _error(413, f"body is larger than {max_bytes} bytes")

    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, tenant_slug)
        if tenant is None or tenant.helpdesk != helpdesk:
            return _error(404, f"unknown tenant {tenant_slug!r} for helpdesk {helpdesk!r}")
        s.expunge(tenant)
    try:
        adapter = runtime.adapter_for(tenant)
    except ConfigurationError as err:
        g.error_detail = f"tenant {tenant_slug!r} is not configured correctly: {err}"
        return _error(503, f"tenant {tenant_slug!r} is not configured correctly")
    headers = dict(request.headers)
    try:
        adapter.verify_webhook(headers=headers, body=body, now=runtime.now())
    except WebhookVerificationError as err:
        return _error(401, str(err))
    except ConfigurationError as err:
        g.error_detail = f"tenant {tenant_slug!r} cannot verify webhooks: {err}"
        return _error(401, f"tenant {tenant_slug!r} has no usable webhook secret")
    try:
        # Only after the signature: a stranger's body is never parsed. The adapter parses
        # the same bytes again, now known to be JSON every later step can take.
        load_json(body)
    except ValidationError as err:
        return _error(400, str(err), field="body")
    try:
        event = adapter.parse_webhook(headers=headers, body=body)
    except UnsupportedEvent as err:
        log.info("tenant %s: ignored %s", tenant_slug, loggable(err.event_type))
        return jsonify({"status": "ignored", "event_type": err.event_type}), 202
    except ValidationError as err:
        status = 400 if err.field == "body" else 422
        return _error(status, str(err), field=err.field)
    for field, limit in _MAX_CHARS.items():
        if len(getattr(event, field)) > limit:
            return _error(422, f"{field}: longer than {limit} characters", field=field)

    with store.session_scope(runtime.sessions) as s:
        row, created = store.store_inbound_event(
            s,
            tenant_id=tenant.id,
            source=helpdesk,
            delivery_id=event.delivery_id,
            event_type=event.event_type,
            ticket_external_id=event.ticket_id,
            body=body.decode("utf-8"),
            now=runtime.now(),
        )
        event_id = row.id
    if not created:
        return jsonify({"status": "duplicate", "event_id": event_id}), 200
    runtime.wake()
    return jsonify({"status": "accepted", "event_id": event_id}), 202
