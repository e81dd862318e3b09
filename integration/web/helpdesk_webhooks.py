"""Inbound helpdesk webhooks: verify, store, acknowledge. Nothing is decided in the request."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy.exc import IntegrityError

from adapters.registry import HELPDESKS
from integration import store
from integration.errors import (
    ConfigurationError,
    UnsupportedEvent,
    ValidationError,
    WebhookVerificationError,
)
from integration.inbound import load_json, loggable
from integration.store.write_gate import urgent

if TYPE_CHECKING:
    from adapters.helpdesk.base import HelpdeskAdapter, WebhookEvent
    from integration.runtime import Runtime

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
    try:
        body = _read_body(int(current_app.config["MAX_BODY_BYTES"]))
        tenant, event = _checked_delivery(runtime, helpdesk, tenant_slug, body)
        event_id, created = _stored(runtime, tenant, helpdesk, tenant_slug, event, body)
    except _Answer as answer:
        code = answer.reply[1]
        runtime.metrics.webhook(_known(helpdesk), "ignored" if code == 202 else "refused")
        return answer.reply
    runtime.metrics.webhook(helpdesk, "accepted" if created else "duplicate")
    if not created:
        return jsonify({"status": "duplicate", "event_id": event_id}), 200
    # After the commit: a worker (or, in scale-out mode, the queued task) finds it stored.
    runtime.event_stored(event_id)
    return jsonify({"status": "accepted", "event_id": event_id}), 202


def _known(helpdesk: str) -> str:
    """The helpdesk as a metric label: a stranger's URL does not make new series."""
    return helpdesk if helpdesk in HELPDESKS else "other"


class _Answer(Exception):
    """A delivery answered before it is stored: refused, or ignored."""

    def __init__(self, reply: tuple[Response, int]) -> None:
        super().__init__(reply[1])
        self.reply = reply


def _read_body(max_bytes: int) -> bytes:
    """The request's JSON bytes, within the size limit."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise _Answer(
            _error(413, f"body is {request.content_length} bytes; the limit is {max_bytes}")
        )
    mimetype = request.mimetype or ""
    if mimetype != "application/json":
        raise _Answer(
            _error(415, f"Content-Type must be application/json, got {mimetype or 'none'!r}")
        )
    body = request.get_data(cache=False)
    if len(body) > max_bytes:
        raise _Answer(_error(413, f"body is larger than {max_bytes} bytes"))
    return body


def _checked_delivery(
    runtime: Runtime, helpdesk: str, tenant_slug: str, body: bytes
) -> tuple[store.TenantRow, WebhookEvent]:
    """The tenant the URL names and the delivery's event, once its signature holds."""
    tenant, adapter = _tenant_adapter(runtime, helpdesk, tenant_slug)
    try:
        return tenant, _verified_event(runtime, adapter, tenant_slug, body)
    except _Answer as answer:
        if answer.reply[1] != 401:
            raise
        # The row may be older than a secret another process just stored: read it again.
        tenant, again = _tenant_adapter(runtime, helpdesk, tenant_slug, fresh=True)
        if again is adapter:
            raise
        return tenant, _verified_event(runtime, again, tenant_slug, body)


def _stored(
    runtime: Runtime, tenant: store.TenantRow, helpdesk: str, tenant_slug: str,
    event: WebhookEvent, body: bytes,
) -> tuple[int, bool]:
    """The event stored and committed: its id, and whether it is new (not a duplicate)."""
    # Committed before the answer; whatever runs next (the wake-up of the workers, or a
    # task queue's enqueue) comes after the commit, never before.
    try:
        # First in line for SQLite's write lock: a helpdesk is waiting for the answer.
        with urgent(), store.session_scope(runtime.sessions) as s:
            return store.record_inbound_event(
                s,
                tenant_id=tenant.id,
                source=helpdesk,
                delivery_id=event.delivery_id,
                event_type=event.event_type,
                ticket_external_id=event.ticket_id,
                body=body.decode("utf-8"),
                now=runtime.now(),
            )
    except IntegrityError:
        # Removed by another process since its row was read: nothing is left to store for.
        if runtime.webhook_tenant(tenant_slug, fresh=True) is not None:
            raise
        raise _Answer(_unknown(helpdesk, tenant_slug)) from None


def _unknown(helpdesk: str, tenant_slug: str) -> tuple[Response, int]:
    if helpdesk not in HELPDESKS:
        # A typo in the helpdesk part of the URL: say which part is wrong.
        known = ", ".join(sorted(HELPDESKS))
        return _error(404, f"unknown helpdesk {helpdesk!r} in the webhook URL (one of: {known})")
    return _error(404, f"unknown tenant {tenant_slug!r} for helpdesk {helpdesk!r}")


def _tenant_adapter(
    runtime: Runtime, helpdesk: str, tenant_slug: str, *, fresh: bool = False
) -> tuple[store.TenantRow, HelpdeskAdapter]:
    """The tenant the URL names, on that helpdesk, and its adapter."""
    tenant = runtime.webhook_tenant(tenant_slug, fresh=fresh)
    if tenant is None or tenant.helpdesk != helpdesk:
        raise _Answer(_unknown(helpdesk, tenant_slug))
    try:
        return tenant, runtime.adapter_for(tenant)
    except ConfigurationError as err:
        g.error_detail = f"tenant {tenant_slug!r} is not configured correctly: {err}"
        raise _Answer(_error(503, f"tenant {tenant_slug!r} is not configured correctly")) from err


def _verified_event(
    runtime: Runtime, adapter: HelpdeskAdapter, tenant_slug: str, body: bytes
) -> WebhookEvent:
    """The delivery's event, once its signature holds and its fields fit."""
    headers = dict(request.headers)
    try:
        adapter.verify_webhook(headers=headers, body=body, now=runtime.now())
    except WebhookVerificationError as err:
        raise _Answer(_error(401, str(err))) from err
    except ConfigurationError as err:
        g.error_detail = f"tenant {tenant_slug!r} cannot verify webhooks: {err}"
        raise _Answer(
            _error(401, f"tenant {tenant_slug!r} has no usable webhook secret")
        ) from err
    try:
        # Only after the signature: a stranger's body is never parsed. The adapter parses
        # the same bytes again, now known to be JSON every later step can take.
        load_json(body)
    except ValidationError as err:
        raise _Answer(_error(400, str(err), field="body")) from err
    try:
        event = adapter.parse_webhook(headers=headers, body=body)
    except UnsupportedEvent as err:
        log.info("tenant %s: ignored %s", tenant_slug, loggable(err.event_type))
        raise _Answer(
            (jsonify({"status": "ignored", "event_type": err.event_type}), 202)
        ) from err
    except ValidationError as err:
        status = 400 if err.field == "body" else 422
        raise _Answer(_error(status, str(err), field=err.field)) from err
    for field, limit in _MAX_CHARS.items():
        if len(getattr(event, field)) > limit:
            raise _Answer(_error(422, f"{field}: longer than {limit} characters", field=field))
    return event
