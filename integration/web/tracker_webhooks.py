"""Closing the loop: Jira and Linear tell us a bug was resolved; linked tickets hear about it.

``POST /webhooks/jira/<tenant>``: a Jira admin webhook with a secret signs the body as
``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>``; the tenant secret is
``jira.webhook_secret``. Acted on: ``jira:issue_updated`` whose status category is now
``done`` (or whose resolution is set) and whose changelog moved the status or resolution.
https://developer.atlassian.com/cloud/jira/platform/webhooks/

``POST /webhooks/linear/<tenant>``: ``Linear-Signature`` is the hex HMAC-SHA256 of the body
with ``linear.webhook_secret``; ``webhookTimestamp`` (ms) must be within 60 s. Acted on: an
``Issue`` ``update`` whose ``data.state.type`` is ``completed`` and whose state changed in this
update (``updatedFrom.stateId``). https://linear.app/developers/webhooks

A replaced secret's old value is accepted too for a day after the rotation (the tracker's
webhook cannot switch at the same instant). Answers: 401 bad or missing signature (or no
secret configured), 404 unknown tenant, 400 not
JSON, 202 ``ignored`` for other events, 200 with the number of tickets notified. Nothing is
stored here: the resolved handler (``set_resolved_handler``) is the lead's hook into the
tickets linked to the issue and must be idempotent (vendors redeliver).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from adapters.helpdesk.base import verify_with_any
from integration import store
from integration.errors import (
    RetriableError,
    UnsupportedEvent,
    ValidationError,
    WebhookVerificationError,
)
from integration.inbound import load_json, loggable, same_secret
from integration.workspaces.install_secrets import secret_versions

__all__ = [
    "LINEAR_MAX_SKEW_SECONDS",
    "ResolvedHandler",
    "bp",
    "jira_resolved_key",
    "linear_resolved_key",
    "on_resolved",
    "set_resolved_handler",
    "sign",
    "verify_jira",
    "verify_linear",
]

log = logging.getLogger(__name__)

ResolvedHandler = Callable[[str, str, str], int]
"""(tenant slug, tracker ``jira``/``linear``, issue key) -> number of tickets notified."""

LINEAR_MAX_SKEW_SECONDS = 60

bp = Blueprint("tracker_webhooks", __name__, url_prefix="/webhooks")


# None: the bug service closes the loop (integration.bugs.service.on_resolved).
_handler: ResolvedHandler | None = None


def set_resolved_handler(fn: ResolvedHandler | None) -> ResolvedHandler | None:
    """Replace what is called for each resolved issue (``None``: the bug service); the old."""
    global _handler
    previous, _handler = _handler, fn
    return previous


def on_resolved(runtime: Any, tenant_slug: str, tracker: str, issue_key: str) -> int:
    """A tracker issue was resolved: notify its linked tickets through the handler."""
    if _handler is not None:
        return _handler(tenant_slug, tracker, issue_key)
    from integration.bugs.service import on_resolved as close_the_loop

    return close_the_loop(runtime, tenant_slug, tracker, issue_key)


# --- pure: signatures and payloads --------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body`` (what both vendors send, Jira with a ``sha256=`` prefix)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_jira(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Raise ``WebhookVerificationError`` unless ``X-Hub-Signature`` matches."""
    given = headers.get("X-Hub-Signature") or ""
    method, _, digest = given.partition("=")
    if not digest or method.lower() != "sha256":
        raise WebhookVerificationError("missing or malformed X-Hub-Signature (sha256=<hex>)")
    if not same_secret(digest.strip().lower(), sign(secret, body)):
        raise WebhookVerificationError("X-Hub-Signature does not match the body")


def verify_linear(headers: Mapping[str, str], body: bytes, secret: str, now: datetime) -> None:
    """Raise ``WebhookVerificationError`` unless ``Linear-Signature`` matches and is fresh."""
    given = (headers.get("Linear-Signature") or "").strip().lower()
    if not given:
        raise WebhookVerificationError("missing Linear-Signature")
    if not same_secret(given, sign(secret, body)):
        raise WebhookVerificationError("Linear-Signature does not match the body")
    try:
        payload = load_json(body)
    except ValidationError as err:
        raise WebhookVerificationError(f"body has no webhookTimestamp ({err})") from err
    stamp = payload.get("webhookTimestamp") if isinstance(payload, Mapping) else None
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        raise WebhookVerificationError("body has no numeric webhookTimestamp")
    skew = abs(now.timestamp() - stamp / 1000.0)
    if skew > LINEAR_MAX_SKEW_SECONDS:
        raise WebhookVerificationError(
            f"webhookTimestamp is {skew:.0f} s off (limit {LINEAR_MAX_SKEW_SECONDS} s)")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(where, "expected an object")
    return value


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def jira_resolved_key(payload: Mapping[str, Any]) -> str:
    """The key of the issue this Jira event resolved; ``UnsupportedEvent`` otherwise."""
    event = str(payload.get("webhookEvent") or "")
    if event != "jira:issue_updated":
        raise UnsupportedEvent(event or "unknown")
    issue = _mapping(payload.get("issue"), "issue")
    fields = _mapping(issue.get("fields"), "issue.fields")
    category = _obj(_obj(fields.get("status")).get("statusCategory")).get("key")
    if category != "done" and not fields.get("resolution"):
        raise UnsupportedEvent(f"{event} (not done)")
    items = _obj(payload.get("changelog")).get("items")
    # Edits to an already-done issue also arrive as issue_updated: act only on the transition.
    if isinstance(items, list) and not any(
        isinstance(i, Mapping) and str(i.get("field", "")).lower() in ("status", "resolution")
        for i in items
    ):
        raise UnsupportedEvent(f"{event} (no status change)")
    key = issue.get("key")
    if not isinstance(key, str) or not key:
        raise ValidationError("issue.key", "expected the issue key")
    return key


def linear_resolved_key(payload: Mapping[str, Any]) -> str:
    """The identifier of the issue this Linear event completed; ``UnsupportedEvent`` otherwise."""
    kind, action = str(payload.get("type") or ""), str(payload.get("action") or "")
    if kind != "Issue" or action != "update":
        raise UnsupportedEvent(f"{kind or 'unknown'}.{action or 'unknown'}")
    data = _mapping(payload.get("data"), "data")
    state = _mapping(data.get("state"), "data.state")
    if state.get("type") != "completed":
        raise UnsupportedEvent("Issue.update (not completed)")
    updated_from = payload.get("updatedFrom")
    if isinstance(updated_from, Mapping) and "stateId" not in updated_from:
        raise UnsupportedEvent("Issue.update (no state change)")
    key = data.get("identifier")
    if not isinstance(key, str) or not key:
        raise ValidationError("data.identifier", "expected the issue identifier")
    return key


# --- the views ----------------------------------------------------------------------------

_Verify = Callable[[Mapping[str, str], bytes, str, datetime], None]
_VENDORS: dict[str, tuple[_Verify, Callable[[Mapping[str, Any]], str]]] = {
    "jira": (lambda h, b, s, _now: verify_jira(h, b, s), jira_resolved_key),
    "linear": (verify_linear, linear_resolved_key),
}


def _error(status: int, message: str, **extra: object) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


def _receive(tracker: str, tenant_slug: str) -> tuple[Response, int]:
    runtime = current_app.extensions["escalade"]
    verify, resolved_key = _VENDORS[tracker]
    body = request.get_data(cache=False)
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, tenant_slug)
        if tenant is None:
            return _error(404, f"unknown tenant {tenant_slug!r}")
        stored = store.tenant_secrets(tenant, runtime.cipher)
    # A rotated secret's old value still counts during its grace period.
    secrets = secret_versions(stored, f"{tracker}.webhook_secret", now=runtime.now())
    if not secrets:
        return _error(401, f"tenant {tenant_slug!r} has no {tracker}.webhook_secret")
    headers = dict(request.headers)
    try:
        verify_with_any(secrets, lambda secret: verify(headers, body, secret, runtime.now()))
    except WebhookVerificationError as err:
        return _error(401, str(err))
    try:
        payload = _mapping(load_json(body), "body")
    except ValidationError as err:
        return _error(400, str(err), field=err.field)
    try:
        issue_key = resolved_key(payload)
    except UnsupportedEvent as err:
        log.info("tenant %s: ignored %s event %s", tenant_slug, tracker,
                 loggable(err.event_type))
        return jsonify({"status": "ignored", "event_type": err.event_type}), 202
    except ValidationError as err:
        return _error(422, str(err), field=err.field)
    try:
        notified = on_resolved(runtime, tenant_slug, tracker, issue_key)
    except RetriableError as err:
        g.error_detail = (f"tenant {tenant_slug}: {tracker} {loggable(issue_key)} resolved, "
                          f"notifying failed: {err}")
        return _error(503, "could not notify the linked tickets yet; retry")
    return jsonify({"status": "resolved", "issue": issue_key, "tickets_notified": notified}), 200


@bp.post("/jira/<tenant_slug>")
def jira_webhook(tenant_slug: str) -> tuple[Response, int]:
    """A Jira webhook delivery for ``tenant_slug``."""
    return _receive("jira", tenant_slug)


@bp.post("/linear/<tenant_slug>")
def linear_webhook(tenant_slug: str) -> tuple[Response, int]:
    """A Linear webhook delivery for ``tenant_slug``."""
    return _receive("linear", tenant_slug)
