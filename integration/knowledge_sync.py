"""Bring a workspace's knowledge up to date: sync its helpdesk, or import a file.

``sync_workspace`` asks the workspace's helpdesk adapter for the pages of articles and
macros changed since the stored cursor (``HelpdeskAdapter.fetch_knowledge``), reads them all
first, then stores them in one transaction: a sync that fails half-way writes no document and
keeps its cursor, so the next one starts from the same place. The failure is recorded on the
source (the admin page shows it) and raised.

``sync_all`` is the scheduler's job: every workspace in turn; a helpdesk that fails is logged
once when it starts failing (and once when it works again), never stopping the others.
``import_documents`` replaces the workspace's imported documents with a file's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from adapters.helpdesk.base import KnowledgePage
from integration import store
from integration.answer.types import DocKind, KnowledgeDoc
from integration.errors import EscaladeError
from integration.store.db import is_unavailable
from integration.store.knowledge import (
    IMPORT_SOURCE,
    KnowledgeCounts,
    knowledge_cursor,
    knowledge_summary,
    record_sync_failure,
    replace_documents,
    retire_other_sources,
)

if TYPE_CHECKING:
    from integration.runtime import Runtime
    from integration.store.tables import TenantRow

__all__ = ["Collected", "SyncOutcome", "collect", "import_documents", "sync_all",
           "sync_workspace"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class Collected:
    """A sync's pages folded into one change: the latest of each document, what went away."""

    docs: tuple[KnowledgeDoc, ...]
    removed: tuple[tuple[DocKind, str], ...]
    complete: tuple[DocKind, ...]
    cursor: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncOutcome:
    """One workspace's part of a scheduled sync: its counts, or why it failed."""

    tenant: str
    counts: KnowledgeCounts | None = None
    error: str | None = None


def collect(pages: Iterable[KnowledgePage], *, cursor: str | None) -> Collected:
    """Fold pages in order: a later listing of a document wins over an earlier removal."""
    docs: dict[tuple[DocKind, str], KnowledgeDoc] = {}
    removed: dict[tuple[DocKind, str], None] = {}
    complete: dict[DocKind, None] = {}
    for page in pages:
        for key in page.removed:
            docs.pop(key, None)
            removed[key] = None
        for doc in page.docs:
            removed.pop((doc.kind, doc.id), None)
            docs[(doc.kind, doc.id)] = doc
        complete.update(dict.fromkeys(page.complete))
        cursor = page.cursor
    return Collected(docs=tuple(docs.values()), removed=tuple(removed), complete=tuple(complete),
                     cursor=cursor)


def sync_workspace(runtime: Runtime, tenant: TenantRow, *,
                   now: datetime | None = None) -> KnowledgeCounts:
    """Sync one workspace's knowledge from its helpdesk; record and raise a failure."""
    source = tenant.helpdesk
    with store.session_scope(runtime.sessions) as s:
        cursor = knowledge_cursor(s, tenant.id, source)
        failing = knowledge_summary(s, tenant.id, source).error is not None
    try:
        collected = collect(runtime.adapter_for(tenant).fetch_knowledge(cursor=cursor),
                            cursor=cursor)
        with store.session_scope(runtime.sessions) as s:
            retire_other_sources(s, tenant_id=tenant.id, keep=(source, IMPORT_SOURCE))
            counts = replace_documents(
                s, tenant_id=tenant.id, source=source, docs=collected.docs,
                removed=collected.removed, complete=collected.complete,
                cursor=collected.cursor, now=now or runtime.now())
    except Exception as err:
        if not is_unavailable(err):
            _failed(runtime, tenant, err, now=now or runtime.now())
        raise
    if failing:
        log.info("knowledge sync for %s works again", tenant.slug)
    return counts


def _failed(runtime: Runtime, tenant: TenantRow, err: Exception, *, now: datetime) -> None:
    """Keep why the sync failed; say it in the log when the previous one had not failed."""
    with store.session_scope(runtime.sessions) as s:
        first = record_sync_failure(s, tenant_id=tenant.id, source=tenant.helpdesk,
                                    error=_reason(err), now=now)
    if first:
        # An unexpected error keeps its traceback; a vendor's refusal is its message.
        log.warning("knowledge sync for %s failed (retried at the next run): %s",
                    tenant.slug, _reason(err), exc_info=not isinstance(err, EscaladeError))


def import_documents(runtime: Runtime, tenant: TenantRow, docs: Sequence[KnowledgeDoc], *,
                     now: datetime | None = None) -> KnowledgeCounts:
    """Make ``docs`` the workspace's imported knowledge (earlier imports not in it go)."""
    with store.session_scope(runtime.sessions) as s:
        return replace_documents(s, tenant_id=tenant.id, source=IMPORT_SOURCE, docs=docs,
                                 complete=tuple(DocKind), now=now or runtime.now())


def sync_all(runtime: Runtime, now: datetime | None = None) -> list[SyncOutcome]:
    """Sync every workspace in turn; one that fails is reported, the others go on.

    Only the database being unavailable stops the run (the scheduler's gate handles it).
    """
    with store.session_scope(runtime.sessions) as s:
        tenants = store.detached_tenants(s)
    outcomes = []
    for tenant in tenants:
        try:
            counts = sync_workspace(runtime, tenant, now=now)
        except Exception as err:
            if is_unavailable(err):
                raise
            outcomes.append(SyncOutcome(tenant=tenant.slug, error=_reason(err)))
            continue
        outcomes.append(SyncOutcome(tenant=tenant.slug, counts=counts))
    return outcomes


def _reason(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text or type(err).__name__
