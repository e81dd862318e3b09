"""The long-lived pieces one process shares: database, cipher, matrix, detector, adapters.

A ``Runtime`` holds resources and per-tenant caches (adapters, connectors, activity sources,
routing tables, business-calendar matrices), each rebuilt when the tenant's settings change;
it does no business work itself. ``tenant_context`` hands one event everything it needs of its
tenant, looked up once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.orm import Session, sessionmaker

from adapters.connectors.base import Connector, ConnectorConfig
from adapters.helpdesk.base import HelpdeskAdapter, HelpdeskConfig
from adapters.registry import build_adapter, build_connector, build_llm_client
from integration import store
from integration.activity import ActivitySource
from integration.alert_ledger import StoreAlertLedger, ticket_facts
from integration.analytics.review.calibration import calibrated, calibration_of
from integration.answer.answerer import Answerer
from integration.answer.index import KnowledgeIndex
from integration.answer.types import KnowledgeDoc
from integration.bugs.groupers import Groupers
from integration.context import TenantContext, connected_targets, ticket_link
from integration.crypto import SecretCipher, load_or_create_key, read_key_file
from integration.decide import build_detector
from integration.detect import Detector
from integration.errors import ConfigurationError, ValidationError
from integration.llm import SECRET_NAME as LLM_SECRET
from integration.llm import LlmReader, LlmSettings, Meter
from integration.matrix import Matrix, default_matrix, load_matrix
from integration.matrix.loader import DEFAULT_PATH
from integration.metrics import ProcessMetrics
from integration.routing import RoutingTable
from integration.scaleout.mode import TaskQueue, task_queue
from integration.second_reading import LlmSecondReader
from integration.summary import SummaryProvider, summarizer_from_settings, summary_llm_settings
from integration.workspaces.install_secrets import previous_secret
from integration.workspaces.service import public_url

__all__ = ["Runtime"]

log = logging.getLogger(__name__)

# How long a webhook may use a workspace row read earlier. A change made by another process
# (the CLI, another web worker) is seen within this; a signature the older row refuses is
# checked again against a fresh read, so a new webhook secret works at once.
TENANT_CACHE_SECONDS = 5.0


class Runtime:
    """Everything a web worker, a background worker or the CLI needs, built once."""

    def __init__(self, *, config: Mapping[str, Any]) -> None:
        self.config = dict(config)
        self.engine = store.make_engine(self.config["DATABASE_URL"],
                                        timeout=self.config.get("DB_TIMEOUT_SECONDS"))
        self.sessions: sessionmaker[Session] = store.make_session_factory(self.engine)
        self._wake = threading.Event()
        self._adapters: dict[str, tuple[tuple[Any, ...], HelpdeskAdapter]] = {}
        self._tenants: dict[str, tuple[store.TenantRow, float]] = {}
        self._lock = threading.Lock()
        self._tenant_matrices: dict[str, Matrix] = {}
        self._connectors: dict[str, tuple[tuple[Any, ...], Connector]] = {}
        self._sources: dict[str, tuple[str, ActivitySource]] = {}
        self.bug_groupers = Groupers()
        self._routing: dict[str, tuple[str, RoutingTable]] = {}
        self._llm: dict[str, tuple[tuple[Any, ...], LlmReader]] = {}
        # Per tenant, kept when its settings change: the month's tokens are still spent.
        self._meters: dict[str, Meter] = {}
        self.metrics = ProcessMetrics()
        self._knowledge: dict[int, tuple[int, tuple[KnowledgeDoc, ...]]] = {}
        self._answerers: dict[int, tuple[int, Answerer]] = {}
        # Scale-out mode: where stored events are queued for the cluster (None: embedded).
        self.tasks: TaskQueue | None = task_queue(self.config,
                                                  dialect=self.engine.dialect.name)

    @cached_property
    def cipher(self) -> SecretCipher:
        """The cipher for tenant secrets; the key comes from the environment or VAR_DIR."""
        raw = str(self.config.get("SECRET_KEY") or "")
        keys = [part.strip() for part in raw.split(",") if part.strip()]
        if not keys and self.config.get("SECRET_KEY_FILE"):
            keys = read_key_file(Path(self.config["SECRET_KEY_FILE"]))
        if not keys:
            keys = [load_or_create_key(Path(self.config["VAR_DIR"]) / "secret.key")]
        return SecretCipher(keys)

    @cached_property
    def matrix(self) -> Matrix:
        """The escalation matrix in force."""
        path = self.config.get("MATRIX_PATH")
        return load_matrix(path) if path else default_matrix()

    @property
    def matrix_path(self) -> Path:
        """The file the matrix in force is read from (the packaged default when none is set)."""
        configured = self.config.get("MATRIX_PATH")
        return Path(configured) if configured else DEFAULT_PATH

    def matrix_text(self) -> str | None:
        """The text of the matrix in force, for checking suggested rules against it."""
        try:
            return self.matrix_path.read_text(encoding="utf-8")
        except OSError:
            return None

    def matrix_for(self, tenant: store.TenantRow) -> Matrix:
        """The matrix with the tenant's business calendar (``calendar`` setting), if any, and
        the calibration the monthly review turned on for it."""
        name = (tenant.settings or {}).get("calendar")
        calibration = calibration_of(tenant.settings)
        if not name and calibration is None:
            return self.matrix
        key = f"{name or ''}|{calibration or ''}"
        with self._lock:
            found = self._tenant_matrices.get(key)
            if found is None:
                try:
                    found = self.matrix.with_calendar(name)
                except KeyError:
                    # The matrix file changed under the tenant: the file's calendars apply.
                    log.warning("tenant %s: calendar %r is not in the matrix", tenant.slug, name)
                    found = self.matrix
                if calibration is not None:
                    found = calibrated(found, calibration[1], version=calibration[0])
                self._tenant_matrices[key] = found
            return found

    def knowledge_for(self, tenant: store.TenantRow) -> tuple[tuple[KnowledgeDoc, ...], int]:
        """The workspace's knowledge documents and their version, re-read only after a change.

        The version is read first: documents read after it are at least as new, and a newer
        version next time reads them again.
        """
        with store.session_scope(self.sessions) as s:
            version = store.knowledge.knowledge_version(s, tenant.id)
            cached = self._knowledge.get(tenant.id)
            if cached is not None and cached[0] == version:
                return cached[1], version
            docs = tuple(store.knowledge.knowledge_docs(s, tenant.id))
        with self._lock:
            self._knowledge[tenant.id] = (version, docs)
        return docs, version

    def answerer_for(self, tenant: store.TenantRow, matrix: Matrix | None = None
                     ) -> Answerer | None:
        """The workspace's knowledge indexed for answering, rebuilt only after it changed.

        None when the matrix (the tenant's, unless given) answers nothing or the workspace
        has no knowledge yet.
        """
        if not (matrix or self.matrix_for(tenant)).answers.enabled:
            return None
        docs, version = self.knowledge_for(tenant)
        if not docs:
            return None
        with self._lock:
            cached = self._answerers.get(tenant.id)
        if cached is not None and cached[0] == version:
            return cached[1]
        built = Answerer(KnowledgeIndex.build(docs))
        with self._lock:
            self._answerers[tenant.id] = (version, built)
        return built

    @cached_property
    def detector(self) -> Detector:
        """The detection pipeline, loaded once with the matrix's triggers."""
        return build_detector(self.matrix)

    @staticmethod
    def _new_session() -> requests.Session:
        http = requests.Session()
        http.headers["User-Agent"] = "Escalade/0.1"
        return http

    def now(self) -> datetime:
        """The current time, aware, UTC."""
        return datetime.now(UTC)

    def helpdesk_config(self, tenant: store.TenantRow) -> HelpdeskConfig:
        """Decrypt a tenant's connection settings."""
        secrets = store.tenant_secrets(tenant, self.cipher)
        # A rotated webhook secret's old value is accepted until its grace period ends.
        previous = previous_secret(secrets, "webhook_secret")
        webhook_secret = secrets.pop("webhook_secret", None)
        # "slack.bot_token" and the like belong to connectors, not to the helpdesk.
        own = {k: v for k, v in secrets.items() if "." not in k}
        return HelpdeskConfig(
            tenant=tenant.slug,
            helpdesk=tenant.helpdesk,
            base_url=tenant.base_url,
            credentials=own,
            webhook_secret=webhook_secret,
            options=dict(tenant.settings or {}),
            previous_webhook_secret=previous[0] if previous else None,
            previous_until=previous[1] if previous else None,
        )

    def adapter_for(self, tenant: store.TenantRow) -> HelpdeskAdapter:
        """The tenant's helpdesk adapter, cached until its connection settings change.

        Each adapter gets its own HTTP session: vendor SDKs set auth and hooks on the session
        they are given, so one shared session would mix tenants' credentials.
        """
        fingerprint = (tenant.id, tenant.helpdesk, tenant.base_url,
                       repr(sorted((tenant.settings or {}).items())), tenant.secrets)
        with self._lock:
            cached = self._adapters.get(tenant.slug)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
            adapter = build_adapter(self.helpdesk_config(tenant), session=self._new_session())
            self._adapters[tenant.slug] = (fingerprint, adapter)
            return adapter

    def webhook_tenant(self, slug: str, *, fresh: bool = False) -> store.TenantRow | None:
        """Workspace ``slug``, detached, read again once it is ``TENANT_CACHE_SECONDS`` old
        (or when ``fresh``); None when there is none (never remembered: a stranger's guesses
        take no memory)."""
        now = time.monotonic()
        with self._lock:
            cached = self._tenants.get(slug)
        if cached is not None and not fresh and now - cached[1] < TENANT_CACHE_SECONDS:
            return cached[0]
        with store.session_scope(self.sessions) as s:
            row = store.get_tenant(s, slug)
            if row is not None:
                s.expunge(row)
        with self._lock:
            if row is None:
                self._tenants.pop(slug, None)
            else:
                self._tenants[slug] = (row, now)
        return row

    def forget_adapters(self) -> None:
        """Drop cached adapters (and workspace rows) after a tenant's settings change."""
        with self._lock:
            self._tenants.clear()
            self._adapters.clear()
            self._connectors.clear()
            self._sources.clear()
            self._llm.clear()

    def connector_config(self, tenant: store.TenantRow, name: str) -> ConnectorConfig:
        """A connector's settings (``settings[name]``) and its ``name.*`` secrets."""
        secrets = store.tenant_secrets(tenant, self.cipher)
        prefix = f"{name}."
        settings = dict((tenant.settings or {}).get(name) or {})
        return ConnectorConfig(
            tenant=tenant.slug,
            connector=name,
            credentials={k[len(prefix):]: v for k, v in secrets.items() if k.startswith(prefix)},
            settings=settings,
            base_url=settings.get("base_url"),
        )

    def connector_for(self, tenant: store.TenantRow, name: str) -> Connector:
        """The tenant's connector ``name`` (slack, crm), cached until its settings change."""
        fingerprint = (tenant.id, repr((tenant.settings or {}).get(name)), tenant.secrets)
        key = f"{tenant.slug}:{name}"
        with self._lock:
            cached = self._connectors.get(key)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
            connector = build_connector(
                self.connector_config(tenant, name),
                ledger=StoreAlertLedger(sessions=self.sessions, tenant=tenant.slug),
                ticket_links=partial(self._ticket_link, tenant),
                ticket_facts=partial(ticket_facts, self.sessions, tenant.slug))
            self._connectors[key] = (fingerprint, connector)
            return connector

    def activity_source(self, tenant: store.TenantRow) -> ActivitySource | None:
        """The tenant's product-activity source (``settings.activity``), or None when not set up."""
        settings = (tenant.settings or {}).get("activity")
        if not settings:
            return None
        fingerprint = repr(settings)
        with self._lock:
            cached = self._sources.get(tenant.slug)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
            source = ActivitySource.from_settings(
                settings, session=self._new_session(), base_dir=Path(self.config["VAR_DIR"])
            )
            self._sources[tenant.slug] = (fingerprint, source)
            return source

    def routing_for(self, tenant: store.TenantRow) -> RoutingTable | None:
        """The tenant's agents and groups (``settings.routing``), or None when not set up."""
        settings = (tenant.settings or {}).get("routing")
        if not settings:
            return None
        fingerprint = repr(settings)
        with self._lock:
            cached = self._routing.get(tenant.slug)
            if cached is None or cached[0] != fingerprint:
                table = RoutingTable.from_settings(settings, calendars=self.matrix.calendars)
                cached = self._routing[tenant.slug] = (fingerprint, table)
            return cached[1]

    def llm_reader(self, tenant: store.TenantRow) -> LlmReader | None:
        """The tenant's language model within its bounds (``settings.llm``), or None when off.

        Settings or a key that cannot be used are logged and read as off: triage goes on with
        the local reading and the extractive summary.
        """
        try:
            settings = summary_llm_settings(tenant.settings or {})
        except ValidationError as err:
            log.warning("tenant %s: language model not usable: %s", tenant.slug, err)
            return None
        if settings is None:
            return None
        fingerprint = (repr(settings), tenant.secrets)
        with self._lock:
            cached = self._llm.get(tenant.slug)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
            try:
                client = build_llm_client(settings.provider, base_url=settings.base_url,
                                          api_key=self._llm_key(tenant, settings),
                                          timeout=settings.timeout_seconds)
            except ConfigurationError as err:
                log.warning("tenant %s: language model not usable: %s", tenant.slug, err)
                return None
            meter = self._meters.setdefault(tenant.slug, Meter())
            reader = LlmReader(settings=settings, client=client, meter=meter, tenant=tenant.slug)
            self._llm[tenant.slug] = (fingerprint, reader)
            return reader

    def _llm_key(self, tenant: store.TenantRow, settings: LlmSettings) -> str | None:
        if settings.api_key_secret:
            key = store.tenant_secrets(tenant, self.cipher).get(LLM_SECRET)
            if not key:
                raise ConfigurationError(f"the secret {LLM_SECRET} is not set")
            return key
        if settings.api_key_env:
            key = os.environ.get(settings.api_key_env)
            if not key:
                raise ConfigurationError(f"the environment variable {settings.api_key_env} "
                                         "is not set")
            return key
        return None

    def tenant_context(self, tenant: store.TenantRow) -> TenantContext:
        """What one event needs of its tenant: matrix, adapter, targets, routing, sources."""
        connected = connected_targets(tenant)
        reader = self.llm_reader(tenant)
        matrix = self.matrix_for(tenant)
        return TenantContext(
            tenant=tenant,
            matrix=matrix,
            adapter=self.adapter_for(tenant),
            connected=connected,
            links=partial(self._ticket_link, tenant),
            routing=self.routing_for(tenant),
            crm=self._crm(tenant) if "crm" in connected else None,
            activity=self.activity_source(tenant),
            summarizer=self._summarizer(tenant, reader),
            second_reader=LlmSecondReader(reader)
            if reader is not None and reader.settings.second_reading else None,
            answerer=self.answerer_for(tenant, matrix),
        )

    def _crm(self, tenant: store.TenantRow) -> Connector | None:
        try:
            return self.connector_for(tenant, "crm")
        except ConfigurationError as err:
            # Triage goes on without the CRM's account facts.
            log.warning("tenant %s: CRM not usable: %s", tenant.slug, err)
            return None

    @staticmethod
    def _summarizer(tenant: store.TenantRow, reader: LlmReader | None) -> SummaryProvider | None:
        try:
            return summarizer_from_settings(tenant.settings or {}, reader=reader)
        except ConfigurationError as err:
            log.warning("tenant %s: %s; the extractive summary is used", tenant.slug, err)
            return None

    def _ticket_link(self, tenant: store.TenantRow, ticket_id: str) -> str | None:
        # Resolved at each call: a link follows the tenant's current helpdesk settings.
        return ticket_link(tenant, ticket_id, adapter=self.adapter_for(tenant),
                           public_url=public_url(self.config), cipher=self.cipher, now=self.now())

    def wake(self) -> None:
        """Tell idle workers there is new work (scale-out: queue a delivery pass)."""
        self._wake.set()
        if self.tasks is not None:
            self.tasks.deliver()

    def event_stored(self, event_id: int) -> None:
        """A new event is committed: wake in-process workers, or queue it (scale-out)."""
        self._wake.set()
        if self.tasks is not None:
            self.tasks.process_event(event_id)

    def wait_for_work(self, timeout: float) -> None:
        """Block until woken or ``timeout`` passes."""
        self._wake.wait(timeout)
        self._wake.clear()
