"""``escalade kb sync | import | list``: a workspace's help-centre knowledge.

``sync`` reads the workspace's helpdesk now (the scheduler does it every
``ESCALADE_KB_SYNC_MINUTES``); ``import`` makes a JSON-lines file the workspace's imported
knowledge, all of it or, on a bad line, none (one error naming file, line and field, exit 2);
``list`` shows what is stored. Counts say what changed: added, changed, removed, unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from integration.cli.common import BadInput, read_lines, runtime_of
from integration.errors import ValidationError

if TYPE_CHECKING:
    from integration.runtime import Runtime
    from integration.store.knowledge import KnowledgeCounts
    from integration.store.tables import TenantRow

__all__ = ["kb"]

_TENANT = click.option("--tenant", "slug", required=True,
                       help="Tenant slug (see `escalade tenant list`).")
TITLE_WIDTH = 60


@click.group()
def kb() -> None:
    """Help-centre articles and macros Escalade answers from."""


@kb.command("sync")
@_TENANT
def sync(slug: str) -> None:
    """Fetch the workspace's articles and macros from its helpdesk now."""
    from integration.knowledge_sync import sync_workspace

    runtime = runtime_of(click.get_current_context())
    tenant = _tenant(runtime, slug)
    counts = sync_workspace(runtime, tenant)
    click.echo(f"{slug}: knowledge synced from {tenant.helpdesk}: {_counts(counts)}")


@kb.command("import")
@click.argument("path", metavar="FILE.jsonl")
@click.option("--tenant", "slug", default=None,
              help="Tenant slug (see `escalade tenant list`); may be left out when there is "
                   "only one.")
def import_command(path: str, slug: str | None) -> None:
    """Make FILE.jsonl the workspace's imported knowledge (replacing an earlier import).

    One JSON object a line: {"id", "kind": "article"|"macro", "title", "body", "url"?,
    "section"?, "locale"?}.
    """
    from integration.knowledge_file import parse_knowledge
    from integration.knowledge_sync import import_documents

    runtime = runtime_of(click.get_current_context())
    tenant = _tenant(runtime, slug) if slug else _only_tenant(runtime)
    try:
        docs = parse_knowledge(read_lines(path), source=path)
    except ValidationError as err:
        message = err.message.removeprefix(f"{path}: ")
        raise BadInput(f"{path}: line {err.line}: {err.field}: {message}") from err
    counts = import_documents(runtime, tenant, docs)
    click.echo(f"{tenant.slug}: imported {len(docs)} documents from {path}: "
               f"{_counts(counts)}")


@kb.command("list")
@_TENANT
def list_command(slug: str) -> None:
    """The workspace's stored articles and macros, with the last sync."""
    from integration import store
    from integration.calendars import format_local
    from integration.store.knowledge import knowledge_rows, knowledge_summary

    runtime = runtime_of(click.get_current_context())
    tenant = _tenant(runtime, slug)
    with store.session_scope(runtime.sessions) as s:
        rows = [(r.source, r.kind, r.vendor_id, r.title, r.section) for r in
                knowledge_rows(s, tenant.id)]
        summary = knowledge_summary(s, tenant.id, tenant.helpdesk)
    zone = runtime.matrix_for(tenant).display_zone
    click.echo(f"{slug}: {summary.articles} articles, {summary.macros} macros; last synced "
               f"{format_local(summary.synced_at, zone) if summary.synced_at else 'never'}"
               + (f"; last error: {summary.error}" if summary.error else ""))
    if not rows:
        return
    width = max(len(r[2]) for r in rows)
    click.echo(f"{'source':<9} {'kind':<8} {'id':<{width}} title")
    for source, kind, doc_id, title, section in rows:
        shown = title if len(title) <= TITLE_WIDTH else title[:TITLE_WIDTH - 1] + "…"
        where = f"  [{section}]" if section else ""
        click.echo(f"{source:<9} {kind:<8} {doc_id:<{width}} {shown}{where}")


def _tenant(runtime: Runtime, slug: str) -> TenantRow:
    from integration import store

    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, slug)
        if tenant is None:
            raise BadInput(f"--tenant: no tenant {slug!r} (see `escalade tenant list`)")
        s.expunge(tenant)
    return tenant


def _only_tenant(runtime: Runtime) -> TenantRow:
    from integration import store

    with store.session_scope(runtime.sessions) as s:
        tenants = store.list_tenants(s)
        if len(tenants) != 1:
            raise BadInput("--tenant: name the workspace to import into (there are "
                           f"{len(tenants)}; see `escalade tenant list`)")
        s.expunge(tenants[0])
    return tenants[0]


def _counts(counts: KnowledgeCounts) -> str:
    return ", ".join(f"{value} {name}" for name, value in counts.as_dict().items())
