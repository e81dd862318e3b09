"""``escalade audit`` and ``escalade replay``: read the team's history before changing rules.

Both read a history — a workspace's stored tickets (``--tenant T --days N``, imported with
``escalade backfill``) or a file (a helpdesk's CSV export for the audit, normalized tickets as
JSON lines for the replay) — and stream it, so a large history needs little memory. Progress
goes to stderr; rows that cannot be read are named there with file and line and skipped; the
report files are written only once everything has been read, never half.

The audit's organizations (plan, ARR) come from ``--organizations FILE`` when given, else
from the workspace's CRM when one is connected, else from the tickets
(``--organizations-from`` chooses; ``integration.audit_orgs`` does the asking).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from integration.cli.common import BadInput, matrix_input, runtime_of
from integration.errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from integration.audit.progress import Progress
    from integration.audit.run import OrganizationSource
    from integration.audit.settings import AuditSettings
    from integration.matrix import Matrix
    from integration.models import Ticket
    from integration.runtime import Runtime
    from integration.store.tables import TenantRow

__all__ = ["audit", "replay", "replay_lines"]

# Problems named one by one on stderr; the rest are counted.
SHOWN_PROBLEMS = 20


def _history_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where the history records the agent's label and escalations (shared by both commands)."""
    for option in reversed((
        click.option("--label", default="type", show_default=True,
                     help="Where agents record a ticket's category: type, field:NAME, "
                          "tag:PREFIX or tags:A,B,C."),
        click.option("--escalation-tags", default=None,
                     help="Tags that mean the ticket was escalated, comma-separated; a tag "
                          "ending in * is a prefix [default: escalated, escalation, "
                          "escalated_*, escalation_*]."),
        click.option("--escalation-field", default=None,
                     help="A custom field whose value is the stated reason of an escalation."),
        click.option("--escalation-groups", default=None,
                     help="Groups that escalated tickets are moved into, comma-separated."),
        click.option("--ignore-priority-raise", is_flag=True,
                     help="Do not count a priority raised after creation as an escalation."),
        click.option("--zone", default=None,
                     help="Time zone for days and hours, e.g. Europe/Berlin [default: the "
                          "matrix's display zone]."),
        click.option("--workers", default=None, type=click.IntRange(0, 8),
                     help="Extra processes that read tickets (0: all in this process) "
                          "[default: one per core on a machine with several]."),
    )):
        command = option(command)
    return command


def _workers(options: dict[str, Any]) -> int:
    """The reading processes asked for, else one per core where there are several."""
    if options["workers"] is not None:
        return int(options["workers"])
    from integration.triage_pool import default_workers

    cores = default_workers()
    return cores if cores > 1 else 0


def _settings(options: dict[str, Any], **extra: Any) -> AuditSettings:
    from integration.audit.settings import (
        AuditSettings,
        parse_escalation,
        parse_label,
        parse_zone,
    )

    zone = parse_zone(options["zone"], option="--zone") if options.get("zone") else None
    evidence = parse_escalation(
        tags=options.get("escalation_tags"), field_name=options.get("escalation_field"),
        groups=options.get("escalation_groups"),
        priority_raised=not options.get("ignore_priority_raise"))
    return AuditSettings(label=parse_label(options.get("label") or "type"), escalation=evidence,
                         zone=zone, **extra)


def _progress(verb: str) -> Callable[[Progress], None]:
    def show(progress: Progress) -> None:
        click.echo(f"{verb}: {progress}", err=True)
    return show


def _problems() -> Callable[[Any], None]:
    """A callback naming the first problems on stderr, then saying there are more."""
    count = [0]

    def show(problem: Any) -> None:
        count[0] += 1
        if count[0] <= SHOWN_PROBLEMS:
            click.echo(f"skipped {problem}", err=True)
        elif count[0] == SHOWN_PROBLEMS + 1:
            click.echo("skipped more rows: the report lists them", err=True)
    return show


def _load_matrix(path: str | None, runtime: Runtime | None, *,
                 option: str = "--matrix") -> tuple[Matrix, str | None]:
    """The matrix from ``path``, else the one in force; with its text when there is a file."""
    from integration.matrix import MatrixError, default_matrix, load_matrix
    from integration.matrix.loader import DEFAULT_PATH

    if not path:
        if runtime is not None:
            return runtime.matrix, runtime.matrix_text()
        return default_matrix(), DEFAULT_PATH.read_text(encoding="utf-8")
    try:
        return load_matrix(path), Path(path).read_text(encoding="utf-8")
    except MatrixError as err:
        raise matrix_input(option, path, err) from err


def _workspace(ctx: click.Context, slug: str) -> tuple[Runtime, TenantRow]:
    """The runtime and the tenant ``slug``; an unknown one names ``--tenant``."""
    from integration import store

    runtime = runtime_of(ctx)
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, slug)
        if tenant is None:
            raise ValidationError("--tenant", f"no tenant {slug!r} (see `escalade tenant list`)")
        s.expunge(tenant)
    return runtime, tenant


def _stored(ctx: click.Context, slug: str, days: int,
            on_skip: Callable[[str, str], None]) -> tuple[Iterator[Ticket], Matrix, Runtime]:
    """The tenant's stored history of the last ``days`` days, and its matrix."""
    from integration import store
    from integration.store.history import count_history, stored_history

    runtime, tenant = _workspace(ctx, slug)
    since = runtime.now() - timedelta(days=days)
    with store.session_scope(runtime.sessions) as s:
        stored = count_history(s, tenant_id=tenant.id, since=since)
    if stored == 0:
        raise click.ClickException(
            f"tenant {slug!r} has no stored tickets from the last {days} days: import them "
            f"first with `escalade backfill --tenant {slug} --days {days}`")
    click.echo(f"reading {stored:,} stored tickets of {slug} (last {days} days)", err=True)
    tickets = stored_history(runtime.sessions, tenant_id=tenant.id, since=since, on_skip=on_skip)
    return tickets, runtime.matrix_for(tenant), runtime


def _one_source(slug: str | None, path: str | None, flag: str) -> None:
    if (slug is None) == (path is None):
        raise ValidationError("--tenant", f"give --tenant T (stored history) or {flag} FILE, "
                                          "one of the two")


def _write(json_path: str | None, html_path: str | None, **found: Any) -> dict[str, Any]:
    """Write the report files whole (``write_report``); a failure is one line naming a file."""
    from integration.audit.run import write_report

    try:
        return write_report(json_path=Path(json_path) if json_path else None,
                            html_path=Path(html_path) if html_path else None, **found)
    except OSError as err:
        raise click.ClickException(f"{err.filename}: cannot write: {err.strerror}") from err


def _named_file_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """A file that cannot be read at all is one line naming it: ``export.csv:1: header: ...``.

    Without this the root's generic handler printed only ``header: line 1: ...``, no file.
    """
    from integration.audit.exports import ExportError

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ExportError as err:
            raise BadInput(str(err)) from err

    return run


def _readable(path: str, option: str) -> Path:
    """``path``, once it opens: the file is read later, while the audit streams it."""
    try:
        open(path, encoding="utf-8").close()
    except OSError as err:
        raise ValidationError(option, f"{path}: cannot read: {err.strerror or err}") from err
    return Path(path)


def _open(path: str, stack: ExitStack, option: str) -> IO[str]:
    try:
        return stack.enter_context(open(path, encoding="utf-8-sig", newline=""))
    except OSError as err:
        raise ValidationError(option, f"{path}: cannot read: {err.strerror or err}") from err


@click.command()
@click.option("--tenant", "slug", default=None,
              help="Audit this workspace's stored history (with --csv: the workspace whose "
                   "CRM and matrix to use).")
@click.option("--days", default=60, show_default=True, type=click.IntRange(1, 730),
              help="With --tenant: tickets created in the last N days.")
@click.option("--csv", "csv_path", default=None,
              help="Audit a Zendesk or Freshdesk CSV ticket export instead.")
@click.option("--organizations", "orgs_path", default=None,
              help="A CSV of organizations (name, plan, ARR, health, domain); it wins over "
                   "the CRM and the tickets.")
@click.option("--organizations-from", "orgs_from", default=None,
              help="Where plan and ARR come from: crm, csv (--organizations), tickets or "
                   "none [default: csv with --organizations, else crm when the workspace "
                   "has one connected, else tickets].")
@click.option("--crm-lookups", default=None, type=click.IntRange(0),
              help="Ask the CRM about at most this many organizations [default: "
                   "ESCALADE_AUDIT_CRM_LOOKUPS, 2000].")
@click.option("--export-zone", default=None,
              help="With --csv: the zone of the export's times, e.g. America/New_York "
                   "[default: UTC].")
@click.option("--matrix", "matrix_path", default=None,
              help="Matrix to read tickets with [default: the one in force].")
@click.option("--json", "json_path", default=None, help="Write the report's data here.")
@click.option("--html", "html_path", default=None, help="Write the report page here.")
@click.option("--no-topics", is_flag=True, help="Skip grouping texts into topics (faster).")
@_history_options
@click.pass_context
@_named_file_errors
def audit(ctx: click.Context, /, slug: str | None, days: int, csv_path: str | None,
          orgs_path: str | None, orgs_from: str | None, crm_lookups: int | None,
          export_zone: str | None, matrix_path: str | None, json_path: str | None,
          html_path: str | None, no_topics: bool, **options: Any) -> None:
    """Audit a history: escalations by segment, SLA breaches, labels, spikes, what to catch."""
    from integration.audit.page import organizations_line
    from integration.audit.settings import parse_zone
    from integration.audit_orgs import parse_source

    if slug is None and csv_path is None:
        raise ValidationError("--tenant", "give --tenant T (stored history) or --csv FILE")
    requested = parse_source(orgs_from)
    orgs_file = _readable(orgs_path, "--organizations") if orgs_path else None
    export = _readable(csv_path, "--csv") if csv_path else None
    extra: dict[str, Any] = {}
    if export_zone:
        extra["export_zone"] = parse_zone(export_zone, option="--export-zone")
    settings = _settings(options, **extra)
    on_problem = _problems()
    workspace = _workspace(ctx, slug) if slug is not None else None
    orgs = _organization_source(workspace, requested, orgs_file=orgs_file,
                                from_export=export is not None, limit=crm_lookups,
                                on_problem=on_problem)
    run: dict[str, Any] = {
        "settings": settings, "topics": not no_topics, "workers": _workers(options),
        "on_progress": _progress("audit")}
    if export is not None:
        from integration.audit.run import audit_csv

        matrix, matrix_text = _load_matrix(matrix_path, workspace[0] if workspace else None)
        if workspace is not None and not matrix_path:
            matrix = workspace[0].matrix_for(workspace[1])
        result = audit_csv(export, matrix=matrix, tenant="export", organizations=orgs_file,
                           matrix_text=matrix_text, on_problem=on_problem,
                           organizations_from=orgs, **run)
    else:
        from integration.audit.run import audit_tickets

        tickets, matrix, runtime = _stored(
            ctx, str(slug), days, lambda ref, why: on_problem(f"ticket {ref}: {why}"))
        if matrix_path:
            matrix, matrix_text = _load_matrix(matrix_path, runtime)
        else:
            matrix_text = _load_matrix(None, runtime)[1]
        result = audit_tickets(tickets, matrix=matrix, organizations=orgs,
                               matrix_text=matrix_text, **run)
    report = _write(json_path, html_path, audit=result, title=_title(slug, csv_path))
    if not json_path and not html_path:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    click.echo(organizations_line(report.get("organizations")), err=True)
    click.echo(_audit_summary(report, json_path, html_path), err=not (json_path or html_path))


def _organization_source(
    workspace: tuple[Runtime, TenantRow] | None, requested: str | None, *,
    orgs_file: Path | None, from_export: bool, limit: int | None,
    on_problem: Callable[[Any], None],
) -> OrganizationSource | None:
    """Where the audit takes organizations from; None: the export applies ``orgs_file``."""
    from integration.audit.exports import ImportLog
    from integration.audit.run import organizations_file
    from integration.audit_orgs import (
        CrmOrganizations,
        FileOrganizations,
        TicketOrganizations,
        choose_source,
        crm_directory,
    )

    directory, problem = None, None
    if workspace is not None:
        try:
            directory = crm_directory(*workspace)
        except ConfigurationError as err:
            if requested == "crm":
                raise
            problem = str(err)
    choice = choose_source(requested, has_file=orgs_file is not None,
                           crm_connected=directory is not None or problem is not None,
                           tenant=workspace[1].slug if workspace is not None else None)
    if choice == "crm" and directory is not None and workspace is not None:
        lookups = workspace[0].config.get("AUDIT_CRM_LOOKUPS", 2000) if limit is None else limit
        return CrmOrganizations(directory, limit=int(lookups),
                                on_progress=lambda line: click.echo(line, err=True))
    if choice == "crm":
        click.echo(f"{problem}; organizations as the tickets carry them", err=True)
        return TicketOrganizations(note=problem)
    if choice == "csv" and orgs_file is not None and not from_export:
        log = ImportLog(on_problem=on_problem)
        return FileOrganizations(organizations_file(orgs_file, log=log), name=orgs_file.name)
    return None if choice == "csv" else TicketOrganizations(choice)


def _title(slug: str | None, csv_path: str | None) -> str:
    where = f"workspace {slug}" if slug else Path(str(csv_path)).name
    return f"Escalation history audit: {where}"


def _audit_summary(report: dict[str, Any], json_path: str | None, html_path: str | None) -> str:
    escalations = report.get("escalations", {}).get("total", 0)
    tickets = report.get("tickets", 0)
    rate = f" ({escalations / tickets:.1%})" if tickets else ""
    contradicted = sum(1 for c in report.get("label_checks", []) if c.get("contradicted"))
    written = ", ".join(p for p in (json_path, html_path) if p)
    text = (f"audited {tickets:,} tickets: {escalations:,} escalations{rate}, "
            f"{report.get('sla', {}).get('breaches', 0):,} SLA breaches, "
            f"{contradicted} label(s) contradicted by outcomes, "
            f"{len(report.get('spikes', []))} spike(s)")
    return f"{text}; report: {written}" if written else text


def _jsonl_history(path: str, stack: ExitStack,
                   on_problem: Callable[[Any], None]) -> Iterator[Ticket]:
    from integration.models import Ticket

    stream = _open(path, stack, "--history")
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield Ticket.from_dict(json.loads(line))
        except json.JSONDecodeError as err:
            on_problem(f"{path}:{number}: line: not valid JSON ({err.msg} at column "
                       f"{err.colno})")
        except ValidationError as err:
            on_problem(f"{path}:{number}: {err.field}: {err.message}")


@click.command()
@click.option("--matrix", "matrix_path", required=True, help="The new matrix (YAML).")
@click.option("--against", "against_path", default=None,
              help="The matrix to compare with [default: the one in force].")
@click.option("--tenant", "slug", default=None, help="Replay this workspace's stored history.")
@click.option("--days", default=60, show_default=True, type=click.IntRange(1, 730),
              help="With --tenant: tickets created in the last N days.")
@click.option("--history", "history_path", default=None,
              help="Replay normalized tickets from a JSON-lines file instead.")
@click.option("--json", "json_path", default=None, help="Write the replay's data here.")
@click.option("--html", "html_path", default=None, help="Write the replay as a page here.")
@click.option("--list", "listed", default=20, show_default=True, type=click.IntRange(0),
              help="Tickets that change tier to list here (the files list them all).")
@_history_options
@click.pass_context
def replay(ctx: click.Context, /, matrix_path: str, against_path: str | None, slug: str | None,
           days: int, history_path: str | None, json_path: str | None, html_path: str | None,
           listed: int, **options: Any) -> None:
    """Run a new matrix and the current one over a history; show what would change."""
    from integration.audit.replay import replay as run_replay

    _one_source(slug, history_path, "--history")
    settings = _settings(options)
    on_problem = _problems()
    new, _text = _load_matrix(matrix_path, None)
    with ExitStack() as stack:
        if history_path is not None:
            tickets: Iterator[Ticket] = _jsonl_history(history_path, stack, on_problem)
            current = _load_matrix(against_path, None, option="--against")[0]
        else:
            tickets, tenant_matrix, runtime = _stored(
                ctx, str(slug), days, lambda ref, why: on_problem(f"ticket {ref}: {why}"))
            current = (_load_matrix(against_path, runtime, option="--against")[0] if against_path
                       else tenant_matrix)
        result = run_replay(tickets, new=new, current=current, zone=settings.zone,
                            workers=_workers(options), settings=settings,
                            on_progress=_progress("replay"))
    data = _write(json_path, html_path, replayed=result, title="Rule change replay")
    for line in replay_lines(data, listed=listed):
        click.echo(line)


def replay_lines(data: dict[str, Any], *, listed: int = 20) -> list[str]:
    """The replay as a few readable lines: tiers, alerts, agreement, the tickets that change."""
    new, current = data["new"], data["current"]
    days = max(1, len(data["days"]))
    lines = [f"replayed {data['tickets']:,} tickets over {len(data['days'])} day(s): new "
             f"matrix {new['version']} against {current['version']}",
             f"{'':26}{'current':>10}{'new':>10}"]
    for tier in ("1", "2", "3"):
        lines.append(f"{'tier ' + tier:26}{current['tiers'][tier]:>10,}{new['tiers'][tier]:>10,}")
    lines.append(f"{'tier-3 alerts per day':26}{current['tier3_alerts'] / days:>10.1f}"
                 f"{new['tier3_alerts'] / days:>10.1f}")
    if data["escalations"]:
        for measure in ("precision", "recall"):
            lines.append(f"{'tier-3 ' + measure:26}{_ratio(current['agreement'][measure]):>10}"
                         f"{_ratio(new['agreement'][measure]):>10}")
        lines.append(f"(against {data['escalations']:,} escalations recorded in the history)")
    else:
        lines.append("(the history records no escalation, so agreement with what the team "
                     "escalated cannot be measured: see --escalation-tags, --escalation-field, "
                     "--escalation-groups)")
    lines.append(f"{data['changed']:,} ticket(s) change tier: {data['raised']:,} up, "
                 f"{data['lowered']:,} down")
    for change in data["changes"][:listed]:
        rules = ", ".join(change["responsible"]) or "same rules, other order"
        lines.append(f"  {change['ticket']:>10}  tier {change['current_tier']} -> "
                     f"{change['new_tier']}  {change['date']}  {rules}  "
                     f"{'(escalated) ' if change['escalated'] else ''}{change['subject']}")
    if data["changed"] > min(listed, len(data["changes"])):
        lines.append(f"  ... {data['changed'] - min(listed, len(data['changes'])):,} more "
                     "(--json lists them)")
    return lines


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
