"""What ``escalade audit`` and ``escalade replay`` call: files in, report files out.

The engine takes iterables of tickets; these helpers open a CSV export (and an organizations
file) and stream it, and write the report's JSON and HTML (each written to a temporary file
beside the target and renamed, so a failed run leaves no half-written report).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from integration.audit.exports import ImportLog, ImportProblem, read_export, read_organizations
from integration.audit.page import render_html, render_replay_html
from integration.audit.progress import ProgressCallback
from integration.audit.replay import ReplayResult, replay, replay_json
from integration.audit.report import AuditResult, audit_json, run_audit
from integration.audit.settings import AuditSettings
from integration.files import write_whole
from integration.matrix import Matrix
from integration.models import Ticket

__all__ = ["audit_csv", "csv_tickets", "replay_csv", "write_report"]


def csv_tickets(
    export: Path, *, tenant: str, settings: AuditSettings, log: ImportLog,
    organizations: Path | None = None,
) -> Iterator[Ticket]:
    """Tickets of a Zendesk or Freshdesk CSV export, streamed; the file closes at the end."""
    orgs = None
    if organizations is not None:
        with organizations.open(encoding="utf-8-sig", newline="") as f:
            orgs = read_organizations(f, name=organizations.name, log=log)
    with export.open(encoding="utf-8-sig", newline="") as f:
        yield from read_export(f, name=export.name, tenant=tenant, settings=settings, log=log,
                               organizations=orgs)


def audit_csv(
    export: Path, *, matrix: Matrix, settings: AuditSettings | None = None, tenant: str = "",
    organizations: Path | None = None, workers: int = 0, matrix_text: str | None = None,
    topics: bool = True, on_progress: ProgressCallback | None = None,
    on_problem: Callable[[ImportProblem], None] | None = None,
) -> AuditResult:
    """Audit a CSV export (``escalade audit --csv FILE [--organizations ORGS]``)."""
    settings = settings or AuditSettings()
    log = ImportLog(on_problem=on_problem)
    tickets = csv_tickets(export, tenant=tenant, settings=settings, log=log,
                          organizations=organizations)
    return run_audit(tickets, matrix=matrix, settings=settings, topics=topics, workers=workers,
                     matrix_text=matrix_text, source=log, on_progress=on_progress)


def replay_csv(
    export: Path, *, new: Matrix, current: Matrix, settings: AuditSettings | None = None,
    tenant: str = "", organizations: Path | None = None, workers: int = 0,
    max_changes: int | None = 1000, on_progress: ProgressCallback | None = None,
) -> ReplayResult:
    """Replay a CSV export under two matrices (``escalade replay NEW --csv FILE``)."""
    settings = settings or AuditSettings()
    log = ImportLog()
    tickets = csv_tickets(export, tenant=tenant, settings=settings, log=log,
                          organizations=organizations)
    return replay(tickets, new=new, current=current, workers=workers, max_changes=max_changes,
                  settings=settings, on_progress=on_progress)


def write_report(
    *, json_path: Path | None = None, html_path: Path | None = None,
    audit: AuditResult | None = None, replayed: ReplayResult | None = None,
    title: str = "Escalation history audit",
) -> dict[str, Any]:
    """Write the JSON and/or HTML of an audit and/or a replay; returns the JSON written."""
    audit_data = audit_json(audit) if audit is not None else None
    replay_data = replay_json(replayed) if replayed is not None else None
    data: dict[str, Any] = audit_data or {}
    if replay_data is not None:
        data = {**data, "replay": replay_data} if data else replay_data
    if json_path is not None:
        write_whole(json_path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    if html_path is not None:
        page = (render_html(audit_data, title=title, replay=replay_data)
                if audit_data is not None else render_replay_html(replay_data or {}, title=title))
        write_whole(html_path, page)
    return data
