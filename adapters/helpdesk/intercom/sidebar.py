"""The Intercom inbox app's proof: Canvas Kit's body signature.

``X-Body-Signature`` is the hex HMAC-SHA256 of the raw body keyed with the app's client
secret (tenant secret ``client_secret``, else ``webhook_secret``, which is what the adapter
calls the same secret). The body names the workspace (checked against the setting
``intercom_workspace_id`` when stored), the teammate and the conversation.
https://developers.intercom.com/docs/canvas-kit
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from adapters.helpdesk.base import (
    SidebarCaller,
    SidebarInstall,
    SidebarOtherTenant,
    SidebarProofError,
    SidebarRequest,
)
from adapters.helpdesk.common import raw_header
from integration.errors import ValidationError
from integration.inbound import load_json, same_secret

__all__ = ["BODY_SIGNATURE_HEADER", "SIDEBAR_PROOF", "body_signature", "verify_canvas_request"]

SIDEBAR_PROOF = "intercom_signature"
BODY_SIGNATURE_HEADER = "X-Body-Signature"


def body_signature(secret: str, body: bytes) -> str:
    """Intercom's ``X-Body-Signature``: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_canvas_request(request: SidebarRequest, install: SidebarInstall) -> SidebarCaller:
    """The teammate and conversation of a signed Canvas Kit request for ``install``, or raise."""
    given = (raw_header(request.headers, BODY_SIGNATURE_HEADER) or "").strip().lower()
    if not given:
        raise SidebarProofError(f"missing {BODY_SIGNATURE_HEADER} header")
    body = request.body
    name = "client_secret" if install.secrets.get("client_secret") else "webhook_secret"
    if not any(same_secret(given, body_signature(key, body))
               for key in install.versions(name)):
        def signed_by(other: Mapping[str, str]) -> bool:
            key = other.get("client_secret") or other.get("webhook_secret") or ""
            return bool(key) and same_secret(given, body_signature(key, body))

        if any(signed_by(other) for other in install.others()):
            raise SidebarOtherTenant(
                f"request signed for another tenant, not {install.tenant!r}")
        raise SidebarProofError(f"wrong {BODY_SIGNATURE_HEADER}")
    try:
        data = load_json(body)
    except ValueError as err:
        raise ValidationError("body", f"Canvas request {err}") from err
    if not isinstance(data, dict):
        raise ValidationError("body", "Canvas request body is not a JSON object")
    workspace = install.settings.get("intercom_workspace_id")
    if workspace and str(data.get("workspace_id")) != str(workspace):
        raise SidebarOtherTenant(
            f"workspace {data.get('workspace_id')} is not tenant {install.tenant!r}")
    admin = data.get("admin")
    if not isinstance(admin, dict):
        admin = {}
    return SidebarCaller(via=SIDEBAR_PROOF,
                         user=_text(admin.get("email")) or _text(admin.get("id")),
                         ticket_id=_conversation_id(data))


def _conversation_id(data: Mapping[str, Any]) -> str | None:
    conversation = data.get("conversation")
    if isinstance(conversation, dict) and conversation.get("id") is not None:
        return _text(conversation["id"])
    context = data.get("context")
    if isinstance(context, dict):
        return _text(context.get("conversation_id"))
    return None


def _text(value: Any) -> str | None:
    return str(value) if value is not None and value != "" else None
