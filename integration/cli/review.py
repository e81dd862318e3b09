"""``escalade review``: the monthly review of a workspace in the terminal.

The same review as ``/admin/review``: rules agents lowered, escalations the matrix missed,
agents' reasons, how the matrix scores on agents' corrections, and the suggested changes with
their replay over the stored tickets. ``--json OUT`` writes it whole. ``--calibrate`` adds the
calibration check; ``--apply-calibration`` turns on the threshold it found (only when the
replay supports one) and ``--rollback-calibration`` turns the one in force off. Suggested
changes are applied in the admin pages, where the diff and the replay are shown first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from integration.cli.common import runtime_of
from integration.errors import ValidationError

if TYPE_CHECKING:
    from integration.runtime import Runtime
    from integration.store.tables import TenantRow

__all__ = ["review"]


@click.command()
@click.option("--month", required=True, help="The month to review, as YYYY-MM.")
@click.option("--tenant", "slug", default=None,
              help="The workspace [default: the only one there is].")
@click.option("--json", "json_path", default=None, type=click.Path(dir_okay=False),
              help="Also write the whole review to this JSON file.")
@click.option("--calibrate", is_flag=True,
              help="Also check per-workspace calibration thresholds by replay.")
@click.option("--apply-calibration", is_flag=True,
              help="Turn on the calibration the check found (nothing when it found none).")
@click.option("--rollback-calibration", is_flag=True,
              help="Turn the calibration in force off (the previous one comes back).")
@click.pass_context
def review(ctx: click.Context, month: str, slug: str | None, json_path: str | None,
           calibrate: bool, apply_calibration: bool, rollback_calibration: bool) -> None:
    """Review a month: noisy rules, missed escalations, reasons, suggested matrix changes."""
    from datetime import UTC

    from integration.monthly_review import monthly_review, parse_month

    parse_month(month, zone=UTC, option="--month")  # a bad month before anything is read
    runtime, tenant = _workspace(ctx, slug)
    report = monthly_review(runtime, tenant, month, text=_matrix_text(runtime))
    if rollback_calibration:
        report["calibration_rollback"] = _rollback(runtime, tenant)
    if calibrate or apply_calibration:
        report["calibration"] = _calibration(runtime, tenant, apply=apply_calibration)
    if json_path:
        _write_json(Path(json_path), report)
    for line in summary_lines(report):
        click.echo(line)


def _matrix_text(runtime: Runtime) -> str:
    from integration.matrix.loader import DEFAULT_PATH

    return runtime.matrix_text() or DEFAULT_PATH.read_text(encoding="utf-8")


def _workspace(ctx: click.Context, slug: str | None) -> tuple[Runtime, TenantRow]:
    from integration import store

    runtime = runtime_of(ctx)
    with store.session_scope(runtime.sessions) as s:
        if slug is None:
            tenants = store.list_tenants(s)
            if len(tenants) != 1:
                raise ValidationError("--tenant", "name the workspace to review "
                                                  "(see `escalade tenant list`)")
            tenant = tenants[0]
        else:
            found = store.get_tenant(s, slug)
            if found is None:
                raise ValidationError("--tenant",
                                      f"no tenant {slug!r} (see `escalade tenant list`)")
            tenant = found
        s.expunge(tenant)
    return runtime, tenant


def _calibration(runtime: Runtime, tenant: TenantRow, *, apply: bool) -> dict[str, Any]:
    from integration import store
    from integration.monthly_review import calibration_check
    from integration.store.review import add_calibration

    check = calibration_check(runtime, tenant, text=_matrix_text(runtime), now=runtime.now())
    if apply and check["chosen"] is not None:
        with store.session_scope(runtime.sessions) as s:
            live = store.get_tenant(s, tenant.slug)
            assert live is not None
            row = add_calibration(s, tenant=live, category_confidence=float(check["chosen"]),
                                  validation=check, created_by="escalade review",
                                  now=runtime.now())
            check["applied_version"] = row.id
    return check


def _rollback(runtime: Runtime, tenant: TenantRow) -> dict[str, Any]:
    from integration import store
    from integration.store.review import rollback_calibration

    with store.session_scope(runtime.sessions) as s:
        live = store.get_tenant(s, tenant.slug)
        assert live is not None
        back = rollback_calibration(s, tenant=live, now=runtime.now())
        return {"in_force": back.id if back is not None else None}


def _write_json(path: Path, report: dict[str, Any]) -> None:
    from integration.files import write_whole

    try:
        write_whole(path, json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    except OSError as err:
        raise click.ClickException(f"{path}: cannot write: {err.strerror or err}") from err


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The review as terminal lines."""
    found, labels = report["findings"], report["labels"]
    score = labels["score"]
    lines = [
        f"Monthly review of {report['tenant']}, {report['month']} "
        f"(matrix {report['matrix_version']})",
        f"  {found['tickets']} tickets this month: tier 3 {found['tiers']['3']}, "
        f"tier 2 {found['tiers']['2']}, tier 1 {found['tiers']['1']}; "
        f"{found['escalated_in_helpdesk']} escalated in the helpdesk",
        f"  agents lowered {found['lowered']}, raised {found['raised']}; "
        f"{found['escalated_by_hand']} escalated by hand without Escalade flagging them",
        f"  agents' corrections: {labels['examples']} labeled examples; the matrix agrees "
        f"with {score['labels_agree']} of {score['labels']}",
        "Rules agents turn down:",
    ]
    lines += [f"  {r['rule']}: fired {r['fired']}, lowered {r['lowered']} "
              f"({r['lowered_share']:.0%}), {r['unescalated']} at tier 3 closed unescalated"
              for r in found["noisy_rules"]] or ["  none"]
    noisy_triggers = [f"{t['trigger']} {t['lowered']} of {t['fired']}"
                      for t in found["triggers"] if t["lowered"]]
    if noisy_triggers:
        lines.append("  triggers in the tickets agents lowered: " + ", ".join(noisy_triggers))
    lines.append("Escalations the matrix missed:")
    lines += [f"  {m['ticket']} {m['subject']}: {m['source']}, needed tier {m['label_tier']}, "
              f"matrix tier {m['now_tier']}" for m in found["missed"] if not m["caught_now"]
              ] or ["  none"]
    lines.append("What agents wrote:")
    lines += [f"  {r['ticket']} tier {r['from_tier']} -> {r['to_tier']}: {r['reason']}"
              for r in found["reasons"]] or ["  no overrides"]
    lines.append("Suggested changes (replayed over the stored tickets):")
    for s in report["suggestions"]:
        r = s["replay"]
        lines.append(f"  {s['title']}: {r['changed']} tickets change tier ({r['raised']} up, "
                     f"{r['lowered']} down); agreement with corrections "
                     f"{r['labels_agree_before']} -> {r['labels_agree_after']} of {r['labels']}")
    if not report["suggestions"]:
        lines.append("  none")
    if "calibration" in report:
        check = report["calibration"]
        chosen = check["chosen"]
        lines.append("Calibration: " + (
            f"a category counts from confidence {chosen:g}"
            + (f" (turned on as version {check['applied_version']})"
               if "applied_version" in check else " (not turned on)")
            if chosen is not None else "no threshold agrees better; nothing to turn on"))
    if "calibration_rollback" in report:
        back = report["calibration_rollback"]["in_force"]
        lines.append(f"Calibration rolled back: now {'version ' + str(back) if back else 'none'}"
                     " in force")
    return lines
