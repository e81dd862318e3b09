"""``/admin/review``: a workspace's monthly review, its suggested changes, its calibration.

The page reviews one workspace's month against the matrix the editor would open (the saved
one, else the one in force): rules agents lowered, escalations the matrix missed, the reasons
agents wrote, how the matrix scores on agents' corrections, and suggested changes, each
already replayed over the stored tickets. "Replay this change" shows the change's diff and the
full replay; only then can an admin apply it, which saves a new matrix version the way the
editor saves (the previous text is kept beside it) and shows the diff. The calibration section
checks per-workspace thresholds by replay, turns the best one on, and rolls back.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import flash, redirect, request, url_for

from integration import store
from integration.analytics.review.edits import EditError, apply_edit, diff_lines
from integration.calendars import format_local
from integration.errors import ValidationError
from integration.files import write_whole
from integration.matrix import MatrixError
from integration.monthly_review import (
    HISTORY_DAYS,
    calibration_check,
    digest,
    monthly_review,
    review_matrix,
)
from integration.store.review import add_calibration, calibrations, rollback_calibration
from sidebar_ui.admin.core import bp, current_admin, page, runtime, tenant_by_slug
from sidebar_ui.admin.matrix_editor import current_matrix, saved_path

__all__ = ["review_calibrate", "review_change", "review_page", "review_rollback"]

REPLAY_LISTED = 50
# The page reads at most this many of the newest stored tickets, so it answers in seconds
# (a review reads them once, then once more per set of trigger words its suggestions change);
# `escalade review` reads up to twice as many.
PAGE_TICKETS = 1500


def _default_month(tenant: store.TenantRow) -> str:
    rt = runtime()
    return str(rt.now().astimezone(rt.matrix_for(tenant).display_zone).strftime("%Y-%m"))


def _calibration_rows(tenant: store.TenantRow) -> list[dict[str, Any]]:
    rt = runtime()
    zone = rt.matrix_for(tenant).display_zone
    with store.session_scope(rt.sessions) as s:
        return [{"id": row.id, "status": row.status,
                 "threshold": row.category_confidence, "by": row.created_by,
                 "at": format_local(row.created_at, zone),
                 "validation": row.validation or {}}
                for row in calibrations(s, tenant_id=tenant.id)]


@bp.get("/review")
def review_page() -> Any:
    """Pick a workspace and a month; the review of that month."""
    rt = runtime()
    with store.session_scope(rt.sessions) as s:
        tenants = [t.slug for t in store.list_tenants(s)]
    slug = request.args.get("tenant") or (tenants[0] if len(tenants) == 1 else "")
    tenant = tenant_by_slug(slug) if slug in tenants else None
    if tenant is None:
        return page("admin/review.html", tenants=tenants, tenant=slug, review=None)
    month = request.args.get("month") or _default_month(tenant)
    _, text = current_matrix()
    try:
        review = monthly_review(rt, tenant, month, text=text, max_tickets=PAGE_TICKETS)
    except ValidationError as err:
        return page("admin/review.html", 400, tenants=tenants, tenant=slug, review=None,
                    month=month, error=f"Month: {err.message}")
    except MatrixError as err:
        return page("admin/review.html", 409, tenants=tenants, tenant=slug, review=None,
                    month=month, error=f"The matrix does not load ({err}): fix it in the "
                                       "matrix editor first.")
    zone = rt.matrix_for(tenant).display_zone
    for reason in review["findings"]["reasons"]:
        reason["at"] = format_local(reason["at"], zone)
    return page("admin/review.html", tenants=tenants, tenant=slug, review=review, month=month,
                history_days=HISTORY_DAYS, page_tickets=PAGE_TICKETS,
                calibrations=_calibration_rows(tenant),
                calibration=(tenant.settings or {}).get("calibration"), error=None)


def _edit_from_form() -> dict[str, Any]:
    try:
        edit = json.loads(request.form.get("edit", ""))
    except json.JSONDecodeError as err:
        raise EditError("edit", "the change is not readable; open the review again") from err
    if not isinstance(edit, dict):
        raise EditError("edit", "the change is not readable; open the review again")
    return edit


@bp.post("/review/change")
def review_change() -> Any:
    """Replay one suggested change (``op=replay``) or apply a replayed one (``op=apply``)."""
    slug = request.form.get("tenant", "")
    tenant = tenant_by_slug(slug)
    if tenant is None:
        flash(f"Workspace: no workspace named “{slug}”.", "error")
        return redirect(url_for("admin.review_page")), 303
    month, base = request.form.get("month", ""), request.form.get("base", "")
    path, text = current_matrix()
    context: dict[str, Any] = {"tenant": slug, "month": month, "base": base,
                               "title": request.form.get("title", "Suggested change"),
                               "edit_json": request.form.get("edit", "")}
    if base != digest(text):
        return page("admin/review_change.html", 409, **context, conflict=True)
    try:
        edited = apply_edit(text, _edit_from_form())
        matrix = review_matrix(edited.text, (tenant.settings or {}).get("calendar"))
    except (EditError, MatrixError) as err:
        return page("admin/review_change.html", 422, **context, problem=str(err))
    context.update(diff=diff_lines(text, edited.text), rewritten=edited.rewritten,
                   new_version=matrix.version, replayed_digest=digest(edited.text))
    if request.form.get("op") == "apply" and request.form.get("replayed") == digest(edited.text):
        _save(path, text, edited.text)
        return page("admin/review_change.html", **context, saved=saved_path())
    context["replay"] = _full_replay(tenant, text, matrix)
    return page("admin/review_change.html", **context)


def _full_replay(tenant: store.TenantRow, text: str, matrix: Any) -> dict[str, Any] | None:
    from integration.audit.replay import replay, replay_json
    from integration.monthly_review import labeled_history

    rt = runtime()
    current = review_matrix(text, (tenant.settings or {}).get("calendar"))
    tickets = labeled_history(rt, tenant, current, since=rt.now() - timedelta(days=HISTORY_DAYS),
                              max_tickets=PAGE_TICKETS)
    data = replay_json(replay(tickets, new=matrix, current=current, max_changes=REPLAY_LISTED))
    return data if data["tickets"] else None


def _save(path: Path, old: str, new: str) -> None:
    # The text it replaces stays beside the saved file, named by its version, to go back to.
    kept = saved_path().parent / "matrix-versions" / f"before-{digest(old)}.yaml"
    write_whole(kept, old)
    write_whole(saved_path(), new)


@bp.post("/review/calibration")
def review_calibrate() -> Any:
    """Check the calibration thresholds by replay (``op=check``) or turn the best one on."""
    slug = request.form.get("tenant", "")
    tenant = tenant_by_slug(slug)
    if tenant is None:
        flash(f"Workspace: no workspace named “{slug}”.", "error")
        return redirect(url_for("admin.review_page")), 303
    rt = runtime()
    _, text = current_matrix()
    check = calibration_check(rt, tenant, text=text, now=rt.now(), max_tickets=PAGE_TICKETS)
    wanted = request.form.get("threshold", "")
    if request.form.get("op") != "apply":
        return page("admin/review_calibration.html", tenant=slug, check=check,
                    month=request.form.get("month", ""))
    if check["chosen"] is None or f"{check['chosen']:g}" != wanted:
        flash("Calibration: the replay no longer supports that threshold; check again.",
              "error")
        return redirect(url_for("admin.review_page", tenant=slug)), 303
    with store.session_scope(rt.sessions) as s:
        live = store.get_tenant(s, slug)
        assert live is not None
        row = add_calibration(s, tenant=live, category_confidence=float(check["chosen"]),
                              validation=check, created_by=current_admin(), now=rt.now())
        version = row.id
    flash(f"Calibration {version} is on for {slug}: a category counts from confidence "
          f"{check['chosen']:g}.", "ok")
    return redirect(url_for("admin.review_page", tenant=slug)), 303


@bp.post("/review/calibration/rollback")
def review_rollback() -> Any:
    """Turn the calibration in force off; the one before it (if any) comes back."""
    slug = request.form.get("tenant", "")
    rt = runtime()
    with store.session_scope(rt.sessions) as s:
        live = store.get_tenant(s, slug)
        if live is None:
            flash(f"Workspace: no workspace named “{slug}”.", "error")
            return redirect(url_for("admin.review_page")), 303
        try:
            back = rollback_calibration(s, tenant=live, now=rt.now())
        except ValidationError as err:
            s.rollback()
            flash(f"Calibration: {err.message}.", "error")
            return redirect(url_for("admin.review_page", tenant=slug)), 303
        shown = (f"calibration {back.id} is back on" if back is not None
                 else "the matrix applies as written")
    flash(f"Rolled back: {shown}.", "ok")
    return redirect(url_for("admin.review_page", tenant=slug)), 303
