"""The workspace page's "Secrets" panel: set, replace or generate a per-install secret.

The same as ``escalade tenant secret`` (``integration.workspaces.service.set_secret``): values are
checked (a PEM public key, a minimum length), stored encrypted and never shown back, except
one Escalade just generated, which this answer shows once (rendered directly, never put in a
redirect or a flash message, which would keep it in the session cookie). A replaced value is
still accepted for a day, and the panel says until when.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for

from integration.calendars import format_local
from integration.errors import ValidationError
from integration.workspaces.service import set_secret
from sidebar_ui.admin.connections import load_tenant, view_with_error, workspace_page
from sidebar_ui.admin.core import bp, runtime

__all__ = ["save_secret"]


@bp.post("/tenants/<slug>/secrets/<name>")
def save_secret(slug: str, name: str) -> Any:
    """Generate (``op=generate``) or replace (``op=replace`` with ``value``) one secret."""
    tenant = load_tenant(slug)
    op = request.form.get("op", "replace")
    generate = op == "generate"
    value = None if generate else request.form.get("value", "")
    try:
        change = set_secret(runtime(), slug, name, value=value, generate=generate)
    except ValidationError as err:
        field = name if err.field in ("value", "generate") else err.field
        return view_with_error(tenant, active="secrets", error=ValidationError(
            field, err.message), form={"secret": name})
    zone = runtime().matrix_for(tenant).display_zone
    grace = (f" The previous value is still accepted until "
             f"{format_local(change.previous_until, zone)}: switch the helpdesk to the new "
             "one before then." if change.previous_until is not None else "")
    if change.generated is None:
        flash(f"{change.label} saved.{grace}", "ok")
        return redirect(url_for("admin.tenant_page", slug=slug, _anchor="secrets"))
    return workspace_page(load_tenant(slug), active="secrets", generated=change,
                          generated_note=grace)
