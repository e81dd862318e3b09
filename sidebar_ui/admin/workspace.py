"""Adding a workspace in the browser, and a workspace's group mapping and settings.

``/admin/add-workspace`` takes what ``escalade tenant add`` takes, checked by the same code
(``integration.workspaces.validation.check_new_tenant``, then
``integration.workspaces.service.add_tenant``): the helpdesk is tested first unless the admin
unticks it, and a secret Escalade generates is shown once on the page that confirms the
workspace, never again.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import flash, redirect, request, url_for

from integration import store
from integration.errors import ValidationError
from integration.workspaces.service import (
    REGISTRATION,
    SECRET_FROM_HELPDESK,
    CheckFailed,
    add_tenant,
    group_status,
    public_url,
    registration_steps,
    webhook_url,
)
from integration.workspaces.validation import (
    CREDENTIALS,
    DEFAULT_CURRENCY,
    HELPDESKS,
    check_adapter,
    check_new_tenant,
    check_options,
    parse_option_pairs,
)
from sidebar_ui.admin.connections import load_tenant, view_with_error
from sidebar_ui.admin.core import bp, page, runtime

__all__ = ["add_workspace", "save_groups", "save_settings"]

# The credential inputs of the form, per helpdesk
# (``integration.workspaces.validation.CREDENTIALS``).
CREDENTIAL_LABELS = {"email": "Agent e-mail", "api_token": "API token", "api_key": "API key",
                     "access_token": "Access token"}
TEXT_FIELDS = ("slug", "name", "helpdesk", "base_url", "email", "calendar", "currency",
               "options")


def _form_page(form: dict[str, str], *, error: ValidationError | None = None,
               code: int = 200) -> Any:
    return page("admin/add_workspace.html", code, form=form, error=error,
                helpdesks=HELPDESKS, labels=CREDENTIAL_LABELS,
                credential_users={key: [h for h, needed in CREDENTIALS.items() if key in needed]
                                  for key in CREDENTIAL_LABELS},
                calendars=sorted(runtime().matrix.calendars))


@bp.route("/add-workspace", methods=["GET", "POST"])
def add_workspace() -> Any:
    """Add a workspace: the same fields and checks as ``escalade tenant add``."""
    if request.method == "GET":
        return _form_page({"helpdesk": "zendesk", "currency": DEFAULT_CURRENCY, "check": "on"})
    rt = runtime()
    form = {k: str(v) for k, v in request.form.items()}
    # Secrets are never put back into the page, even the ones just typed.
    shown = {k: v for k, v in form.items() if k in TEXT_FIELDS or k == "check"}
    helpdesk = form.get("helpdesk", "")
    generated = "" if helpdesk in SECRET_FROM_HELPDESK else secrets.token_urlsafe(32)
    try:
        options = parse_option_pairs(
            [line for line in form.get("options", "").splitlines() if line.strip()],
            base_dir=rt.config["VAR_DIR"], allow_files=False)
        for key in ("calendar", "currency"):
            if form.get(key, "").strip():
                options[key] = form[key].strip()
        plan = check_new_tenant(
            slug=form.get("slug", ""), helpdesk=helpdesk, name=form.get("name"),
            base_url=form.get("base_url"),
            credentials={k: form.get(k) for k in CREDENTIALS.get(helpdesk, ())},
            webhook_secret=form.get("webhook_secret"), generated_secret=generated,
            options=options, calendars=rt.matrix.calendars, base_dir=rt.config["VAR_DIR"])
        result = add_tenant(rt, plan, check=form.get("check") == "on")
    except CheckFailed as err:
        failure = ValidationError("check", f"the {HELPDESKS.get(helpdesk, helpdesk)} connection "
                                           f"test failed, nothing was added: {err}")
        return _form_page(shown, error=failure, code=422)
    except ValidationError as err:
        return _form_page(shown, error=err, code=422)
    tenant = load_tenant(plan.slug)
    url = webhook_url(public_url(rt.config, request_root=request.url_root), tenant.helpdesk,
                      tenant.slug)
    return page("admin/workspace_added.html", 201, tenant=tenant,
                helpdesk_name=HELPDESKS[tenant.helpdesk], webhook=url, result=result,
                secret=plan.secrets.get("webhook_secret") if plan.webhook_secret_generated
                else None,
                secret_from_helpdesk=tenant.helpdesk in SECRET_FROM_HELPDESK,
                registration=REGISTRATION.get(tenant.helpdesk),
                steps=registration_steps(tenant.helpdesk, url=url, slug=tenant.slug),
                groups=group_status(rt, tenant, groups=result.groups if result else None))


@bp.post("/tenants/<slug>/groups")
def save_groups(slug: str) -> Any:
    """Map the matrix's group names to the helpdesk's groups (or teams)."""
    rt = runtime()
    tenant = load_tenant(slug)
    status = group_status(rt, tenant)
    form = {k: str(v) for k, v in request.form.items()}
    if status.option is None:
        flash("The sandbox assigns groups by name: there is nothing to map.", "ok")
        return redirect(url_for("admin.tenant_page", slug=slug, _anchor="groups"))
    mapping = dict(status.mapping)
    for name in status.used:
        chosen = form.get(f"group.{name}", "").strip()
        if chosen:
            mapping[name] = chosen
        else:
            mapping.pop(name, None)
    try:
        settings = check_options({status.option: mapping}, helpdesk=tenant.helpdesk,
                                 calendars=rt.matrix.calendars, base_dir=rt.config["VAR_DIR"])
        config = rt.helpdesk_config(tenant)
        check_adapter(_with_options(config, settings))
    except ValidationError as err:
        return view_with_error(tenant, active="groups", error=err, form=form)
    _store_settings(tenant, settings)
    missing = [name for name in status.used if name not in mapping]
    if missing:
        flash(f"{status.noun.title()}s saved; still without a {status.noun}: "
              f"{', '.join(missing)} (their write-backs skip the assignment).", "error")
    else:
        flash(f"{status.noun.title()}s saved: every matrix group has a {status.noun}.", "ok")
    return redirect(url_for("admin.tenant_page", slug=slug, _anchor="groups"))


@bp.post("/tenants/<slug>/settings")
def save_settings(slug: str) -> Any:
    """The workspace's name, business calendar and currency."""
    rt = runtime()
    tenant = load_tenant(slug)
    form = {k: str(v) for k, v in request.form.items()}
    name = form.get("name", "").strip()
    try:
        if not name:
            raise ValidationError("name", "the workspace needs a name")
        settings = check_options(
            {"calendar": form.get("calendar", "").strip() or None,
             "currency": form.get("currency", "").strip() or None},
            helpdesk=tenant.helpdesk, calendars=rt.matrix.calendars,
            base_dir=rt.config["VAR_DIR"])
    except ValidationError as err:
        return view_with_error(tenant, active="settings", error=err, form=form)
    _store_settings(tenant, settings, name=name)
    flash("Workspace settings saved.", "ok")
    return redirect(url_for("admin.tenant_page", slug=slug, _anchor="settings"))


def _with_options(config: Any, settings: dict[str, Any]) -> Any:
    from dataclasses import replace

    merged = {k: v for k, v in {**config.options, **settings}.items() if v is not None}
    return replace(config, options=merged)


def _store_settings(tenant: store.TenantRow, settings: dict[str, Any],
                    name: str | None = None) -> None:
    rt = runtime()
    with store.session_scope(rt.sessions) as s:
        live = store.get_tenant(s, tenant.slug)
        if live is not None:
            store.update_tenant(s, live, cipher=rt.cipher, settings=settings, name=name)
    rt.forget_adapters()
