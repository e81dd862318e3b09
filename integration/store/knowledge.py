"""A workspace's knowledge: help-centre articles and macros, per source, and each sync's state.

``knowledge_docs`` holds one row per document of a source — the workspace's helpdesk
(``zendesk``, ``freshdesk``, ``intercom``, ``sandbox``) or ``import`` (a file the admin
imported, kept apart so a sync never deletes it) — unique by (workspace, source, kind, vendor
id), with a hash of its content. ``knowledge_sources`` holds per source the sync cursor, when
it last succeeded and what it changed, its last error, and a ``version`` bumped in the same
transaction as any change of its documents: ``knowledge_version`` (the sum over sources)
changes exactly when the workspace's knowledge does, so the answer index is rebuilt only then.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from integration.answer.types import DocKind, KnowledgeDoc
from integration.store.db import Base, UTCDateTime
from integration.store.tables import BigId

__all__ = [
    "IMPORT_SOURCE",
    "KnowledgeCounts",
    "KnowledgeDocRow",
    "KnowledgeSourceRow",
    "KnowledgeSummary",
    "content_hash",
    "knowledge_cursor",
    "knowledge_docs",
    "knowledge_rows",
    "knowledge_summary",
    "knowledge_version",
    "record_sync_failure",
    "replace_documents",
    "retire_other_sources",
]

IMPORT_SOURCE = "import"


class KnowledgeDocRow(Base):
    """One article or macro of a workspace, as its source last gave it."""

    __tablename__ = "knowledge_docs"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "kind", "vendor_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    vendor_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(String(300))
    locale: Mapped[str | None] = mapped_column(String(35))
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class KnowledgeSourceRow(Base):
    """Where a source's sync resumes, how the last one went, and its change counter."""

    __tablename__ = "knowledge_sources"
    __table_args__ = (UniqueConstraint("tenant_id", "source"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[str | None] = mapped_column(String(500))
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True, kw_only=True, slots=True)
class KnowledgeCounts:
    """What one sync or import did to the stored documents."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0

    @property
    def touched(self) -> bool:
        """True when any document was added, changed or removed."""
        return bool(self.added or self.changed or self.removed)

    def as_dict(self) -> dict[str, int]:
        """The counts by name, as stored and printed."""
        return {"added": self.added, "changed": self.changed, "removed": self.removed,
                "unchanged": self.unchanged}


@dataclass(frozen=True, kw_only=True, slots=True)
class KnowledgeSummary:
    """A workspace's knowledge at a glance (the admin's line): counts and the last sync."""

    articles: int
    macros: int
    synced_at: datetime | None
    error: str | None
    failed_at: datetime | None


def content_hash(doc: KnowledgeDoc) -> str:
    """A stable digest of everything a document says (its id included)."""
    text = json.dumps(doc.to_dict(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _source_row(s: Session, tenant_id: int, source: str) -> KnowledgeSourceRow:
    row = s.scalars(select(KnowledgeSourceRow).where(
        KnowledgeSourceRow.tenant_id == tenant_id, KnowledgeSourceRow.source == source)
    ).one_or_none()
    if row is None:
        row = KnowledgeSourceRow(tenant_id=tenant_id, source=source, version=0)
        s.add(row)
        s.flush()
    return row


def knowledge_cursor(s: Session, tenant_id: int, source: str) -> str | None:
    """Where the source's next sync resumes (None: from the start)."""
    return s.scalars(select(KnowledgeSourceRow.cursor).where(
        KnowledgeSourceRow.tenant_id == tenant_id, KnowledgeSourceRow.source == source)
    ).one_or_none()


def replace_documents(
    s: Session,
    *,
    tenant_id: int,
    source: str,
    docs: Sequence[KnowledgeDoc],
    removed: Iterable[tuple[DocKind, str]] = (),
    complete: Iterable[DocKind] = (),
    cursor: str | None = None,
    now: datetime,
) -> KnowledgeCounts:
    """Upsert ``docs`` by (kind, id), delete ``removed`` and, for each kind in ``complete``,
    every stored one ``docs`` does not list; record the sync and bump the version on change.

    A document whose content did not change keeps its row untouched.
    """
    stored = {(row.kind, row.vendor_id): row for row in s.scalars(select(KnowledgeDocRow).where(
        KnowledgeDocRow.tenant_id == tenant_id, KnowledgeDocRow.source == source))}
    added = changed = unchanged = 0
    listed: set[tuple[str, str]] = set()
    for doc in docs:
        key = (doc.kind.value, doc.id)
        listed.add(key)
        digest = content_hash(doc)
        row = stored.get(key)
        if row is None:
            stored[key] = row = KnowledgeDocRow(tenant_id=tenant_id, source=source,
                                                kind=doc.kind.value, vendor_id=doc.id)
            _fill(row, doc, digest, now)
            s.add(row)
            added += 1
        elif row.content_hash != digest:
            _fill(row, doc, digest, now)
            changed += 1
        else:
            unchanged += 1
    gone = {(kind.value, vendor_id) for kind, vendor_id in removed} - listed
    whole = {kind.value for kind in complete}
    gone |= {key for key in stored if key[0] in whole and key not in listed}
    deleted = 0
    for key in gone:
        row = stored.pop(key, None)
        if row is not None and row.id is not None:
            s.delete(row)
            deleted += 1
    counts = KnowledgeCounts(added=added, changed=changed, removed=deleted, unchanged=unchanged)
    state = _source_row(s, tenant_id, source)
    if counts.touched:
        state.version += 1
    state.cursor, state.synced_at, state.result = cursor, now, counts.as_dict()
    state.error = state.failed_at = None
    s.flush()
    return counts


def _fill(row: KnowledgeDocRow, doc: KnowledgeDoc, digest: str, now: datetime) -> None:
    row.title, row.body, row.url = doc.title, doc.body, doc.url
    row.section = doc.section[:300] if doc.section else None
    row.locale = doc.locale[:35] if doc.locale else None
    row.content_hash, row.updated_at = digest, now


def record_sync_failure(s: Session, *, tenant_id: int, source: str, error: str,
                        now: datetime) -> bool:
    """Remember why the source's sync failed; True when the previous sync had not failed."""
    state = _source_row(s, tenant_id, source)
    first = state.error is None
    state.error, state.failed_at = error[:2000], now
    s.flush()
    return first


def retire_other_sources(s: Session, *, tenant_id: int, keep: Iterable[str]) -> int:
    """Delete the documents of sources other than ``keep`` (a helpdesk the workspace left)
    and forget where their syncs stood: coming back to one starts it from the beginning."""
    kept = set(keep)
    rows = s.scalars(select(KnowledgeDocRow).where(
        KnowledgeDocRow.tenant_id == tenant_id, KnowledgeDocRow.source.not_in(kept))).all()
    for source in {row.source for row in rows}:
        _source_row(s, tenant_id, source).version += 1
    for row in rows:
        s.delete(row)
    for state in s.scalars(select(KnowledgeSourceRow).where(
            KnowledgeSourceRow.tenant_id == tenant_id,
            KnowledgeSourceRow.source.not_in(kept), KnowledgeSourceRow.cursor.is_not(None))):
        state.cursor = None
    s.flush()
    return len(rows)


def knowledge_version(s: Session, tenant_id: int) -> int:
    """A number that changes exactly when the workspace's documents change."""
    total = s.scalar(select(func.coalesce(func.sum(KnowledgeSourceRow.version), 0)).where(
        KnowledgeSourceRow.tenant_id == tenant_id))
    return int(total or 0)


def knowledge_rows(s: Session, tenant_id: int) -> list[KnowledgeDocRow]:
    """The workspace's stored documents, by source, kind and title."""
    return list(s.scalars(select(KnowledgeDocRow).where(KnowledgeDocRow.tenant_id == tenant_id)
                          .order_by(KnowledgeDocRow.source, KnowledgeDocRow.kind,
                                    KnowledgeDocRow.title, KnowledgeDocRow.vendor_id)))


def knowledge_docs(s: Session, tenant_id: int) -> list[KnowledgeDoc]:
    """The workspace's documents as the answer path reads them (ids are the source's own)."""
    return [KnowledgeDoc(id=row.vendor_id, kind=DocKind(row.kind), title=row.title,
                         body=row.body, url=row.url, section=row.section, locale=row.locale)
            for row in knowledge_rows(s, tenant_id)]


def knowledge_summary(s: Session, tenant_id: int, source: str) -> KnowledgeSummary:
    """How many articles and macros the workspace has, and how its helpdesk's sync went."""
    counts = dict(s.execute(
        select(KnowledgeDocRow.kind, func.count()).where(KnowledgeDocRow.tenant_id == tenant_id)
        .group_by(KnowledgeDocRow.kind)).all())
    state = s.scalars(select(KnowledgeSourceRow).where(
        KnowledgeSourceRow.tenant_id == tenant_id, KnowledgeSourceRow.source == source)
    ).one_or_none()
    return KnowledgeSummary(
        articles=int(counts.get(DocKind.ARTICLE.value, 0)),
        macros=int(counts.get(DocKind.MACRO.value, 0)),
        synced_at=state.synced_at if state else None,
        error=state.error if state else None,
        failed_at=state.failed_at if state else None,
    )
