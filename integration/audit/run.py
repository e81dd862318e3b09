"""What ``escalade audit`` and ``escalade replay`` call: files in, report files out.

The engine takes iterables of tickets; these helpers open a CSV export (and an organizations
file) and stream it, and write the report's JSON and HTML (each written to a temporary file
beside the target and renamed, so a failed run leaves no half-written report). An
``OrganizationSource`` (``integration.audit_orgs``: the CRM, a file, the tickets) fills each
ticket's organization in while the tickets stream; the report says where they came from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from integration.audit.exports import (
    ImportLog,
    ImportProblem,
    Organizations,
    read_export,
    read_organizations,
)
from integration.audit.page import render_html, render_replay_html
from integration.audit.progress import ProgressCallback
from integration.audit.replay import ReplayResult, replay, replay_json
from integration.audit.report import AuditResult, audit_json, run_audit
from integration.audit.settings import AuditSettings
from integration.files import write_whole
from integration.matrix import Matrix
from integration.models import Ticket

__all__ = [
    "OrganizationSource",
    "audit_csv",
    "audit_tickets",
    "csv_tickets",
    "organizations_file",
    "replay_csv",
    "write_report",
]


class OrganizationSource(Protocol):
    """Where an audit takes organizations from: it fills them in while the tickets stream."""

    def fill(self, tickets: Iterable[Ticket]) -> Iterator[Ticket]:
        """``tickets``, each with its organization from this source."""

    def summary(self) -> dict[str, Any]:
        """The report's ``organizations`` block (``source`` first)."""


def organizations_file(path: Path, *, log: ImportLog) -> Organizations:
    """An organizations CSV (name, plan, ARR, health, domain), read whole: it is small."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        return read_organizations(f, name=path.name, log=log)


def csv_tickets(
    export: Path, *, tenant: str, settings: AuditSettings, log: ImportLog,
    organizations: Path | Organizations | None = None,
) -> Iterator[Ticket]:
    """Tickets of a Zendesk or Freshdesk CSV export, streamed; the file closes at the end."""
    orgs = (organizations_file(organizations, log=log) if isinstance(organizations, Path)
            else organizations)
    with export.open(encoding="utf-8-sig", newline="") as f:
        yield from read_export(f, name=export.name, tenant=tenant, settings=settings, log=log,
                               organizations=orgs)


def audit_tickets(
    tickets: Iterable[Ticket], *, matrix: Matrix, organizations: OrganizationSource | None = None,
    **options: Any,
) -> AuditResult:
    """``run_audit`` with each ticket's organization from ``organizations``, said in the report."""
    if organizations is not None:
        tickets = organizations.fill(tickets)
    result = run_audit(tickets, matrix=matrix, **options)
    result.organizations = (organizations.summary() if organizations is not None
                            else {"source": "tickets"})
    return result


def audit_csv(
    export: Path, *, matrix: Matrix, settings: AuditSettings | None = None, tenant: str = "",
    organizations: Path | None = None, workers: int = 0, matrix_text: str | None = None,
    topics: bool = True, on_progress: ProgressCallback | None = None,
    on_problem: Callable[[ImportProblem], None] | None = None,
    organizations_from: OrganizationSource | None = None,
) -> AuditResult:
    """Audit a CSV export (``escalade audit --csv FILE [--organizations ORGS]``).

    The organizations file is applied as the export is read; ``organizations_from`` (the
    CRM, say) fills in organizations after that.
    """
    settings = settings or AuditSettings()
    log = ImportLog(on_problem=on_problem)
    orgs = organizations_file(organizations, log=log) if organizations is not None else None
    tickets = csv_tickets(export, tenant=tenant, settings=settings, log=log, organizations=orgs)
    result = audit_tickets(tickets, matrix=matrix, organizations=organizations_from,
                           settings=settings, topics=topics, workers=workers,
                           matrix_text=matrix_text, source=log, on_progress=on_progress)
    if organizations is not None and orgs is not None and organizations_from is None:
        result.organizations = {"source": "csv", "file": organizations.name,
                                "organizations": len(orgs)}
    return result


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
