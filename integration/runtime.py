"""The long-lived pieces one process shares: database, cipher, matrix, detector, adapters."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests
from sqlalchemy.orm import Session, sessionmaker

from adapters.connectors.base import Connector, ConnectorConfig
from adapters.connectors.registry import build_connector, target_connector
from adapters.helpdesk.base import ApplyResult, HelpdeskAdapter, HelpdeskConfig
from adapters.registry import build_adapter
from integration import outbox, store
from integration.activity import ActivitySource
from integration.bugs.service import TRACKERS, Groupers, after_filed
from integration.crypto import SecretCipher, load_or_create_key
from integration.enrich import Context
from integration.errors import ConfigurationError, FatalError
from integration.matrix import Matrix, default_matrix, load_matrix
from integration.models import Ticket
from integration.outbox import OutboxItem
from integration.routing import RoutingTable
from integration.summary import summarizer_from_settings
from integration.workspaces.service import public_url
from integration.workspaces.validation import previous_secret

__all__ = ["Runtime"]

log = logging.getLogger(__name__)


class Runtime:
    """Everything a web worker, a background worker or the CLI needs, built once."""

    def __init__(self, *, config: Mapping[str, Any]) -> None:
        self.config = dict(config)
        self.engine = store.make_engine(self.config["DATABASE_URL"],
                                        timeout=self.config.get("DB_TIMEOUT_SECONDS"))
        self.sessions: sessionmaker[Session] = store.make_session_factory(self.engine)
        self._wake = threading.Event()
        self._adapters: dict[str, tuple[tuple[Any, ...], HelpdeskAdapter]] = {}
        self._lock = threading.Lock()
        self._tenant_matrices: dict[str, Matrix] = {}
        self._connectors: dict[str, tuple[tuple[Any, ...], Connector]] = {}
        self._sources: dict[str, tuple[str, ActivitySource]] = {}
        self.bug_groupers = Groupers()
        self._routing: dict[str, tuple[str, RoutingTable]] = {}

    @cached_property
    def cipher(self) -> SecretCipher:
        """The cipher for tenant secrets; the key comes from the environment or VAR_DIR."""
        raw = str(self.config.get("SECRET_KEY") or "")
        keys = [part.strip() for part in raw.split(",") if part.strip()]
        if not keys:
            keys = [load_or_create_key(Path(self.config["VAR_DIR"]) / "secret.key")]
        return SecretCipher(keys)

    @cached_property
    def matrix(self) -> Matrix:
        """The escalation matrix in force."""
        path = self.config.get("MATRIX_PATH")
        return load_matrix(path) if path else default_matrix()

    def matrix_for(self, tenant: store.TenantRow) -> Matrix:
        """The matrix with the tenant's business calendar (``calendar`` setting), if any."""
        name = (tenant.settings or {}).get("calendar")
        if not name:
            return self.matrix
        with self._lock:
            found = self._tenant_matrices.get(name)
            if found is None:
                try:
                    found = self.matrix.with_calendar(name)
                except KeyError:
                    # The matrix file changed under the tenant: the file's calendars apply.
                    log.warning("tenant %s: calendar %r is not in the matrix", tenant.slug, name)
                    found = self.matrix
                self._tenant_matrices[name] = found
            return found

    @cached_property
    def detector(self) -> Any:
        """The detection pipeline, loaded once with the matrix's triggers."""
        from integration.pipeline import build_detector

        return build_detector(self.matrix)

    @staticmethod
    def _new_session() -> requests.Session:
        http = requests.Session()
        http.headers["User-Agent"] = "Escalade/0.1"
        return http

    def now(self) -> datetime:
        """The current time, aware, UTC."""
        return datetime.now(UTC)

    def tenant_by_id(self, s: Session, tenant_id: int) -> store.TenantRow:
        """Load a tenant row or fail loudly."""
        tenant = s.get(store.TenantRow, tenant_id)
        if tenant is None:
            raise ConfigurationError(f"tenant {tenant_id} no longer exists")
        s.expunge(tenant)
        return tenant

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
            kwargs: dict[str, Any] = {}
            if tenant.helpdesk != "sandbox":
                kwargs["session"] = self._new_session()
            adapter = build_adapter(self.helpdesk_config(tenant), **kwargs)
            self._adapters[tenant.slug] = (fingerprint, adapter)
            return adapter

    def forget_adapters(self) -> None:
        """Drop cached adapters after a tenant's settings change."""
        with self._lock:
            self._adapters.clear()
            self._connectors.clear()
            self._sources.clear()

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
            connector = build_connector(self.connector_config(tenant, name),
                                        sessions=self.sessions,
                                        ticket_links=partial(self.ticket_link, tenant))
            self._connectors[key] = (fingerprint, connector)
            return connector

    def _activity_source(self, tenant: store.TenantRow) -> ActivitySource | None:
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

    def gather_context(self, tenant: store.TenantRow, ticket: Ticket) -> Context:
        """Ask the CRM and the product-activity source about the ticket's account.

        Both degrade to "unknown": an outage there never blocks triage.
        """
        email = ticket.requester.email
        domain = ticket.account.domain if ticket.account is not None else None
        if domain is None and email and "@" in email:
            domain = email.rsplit("@", 1)[1].lower()
        crm = None
        if "crm" in self.connected_targets(tenant):
            try:
                connector = self.connector_for(tenant, "crm")
                crm = connector.lookup_account(email=email, domain=domain)  # type: ignore[attr-defined]
            except ConfigurationError as err:
                log.warning("tenant %s: CRM not usable: %s", tenant.slug, err)
        activity = None
        source = self._activity_source(tenant)
        if source is not None:
            account_id = (crm.id if crm is not None else None) or (
                ticket.account.id if ticket.account is not None else None)
            activity = source.lookup(account_id=account_id, domain=domain, email=email)
        try:
            summarizer = summarizer_from_settings(tenant.settings or {})
        except ConfigurationError as err:
            log.warning("tenant %s: %s; the extractive summary is used", tenant.slug, err)
            summarizer = None
        return Context(
            crm_account=crm,
            activity=activity,
            ticket_url=self.adapter_for(tenant).ticket_url(ticket.id),
            summarizer=summarizer,
        )

    def ticket_link(self, tenant: store.TenantRow, ticket_id: str) -> str | None:
        """Where a person opens the ticket from Slack, a CRM note or a bug: the helpdesk's page.

        A sandbox has no helpdesk to open, so its link is the ticket's Escalade sidebar page.
        Only the public demo workspace's link carries a token (for that one ticket, outliving
        the message; issued per day, so every link to a ticket made that day is the same);
        any other sandbox workspace's sidebar asks for an admin's sign-in.
        """
        url = self.adapter_for(tenant).ticket_url(ticket_id)
        if url is not None or tenant.helpdesk != store.HelpdeskKind.SANDBOX:
            return url
        from sidebar_ui.auth import DEMO_PROOF, SidebarIdentity, is_demo, issue_sidebar_token

        public = public_url(self.config)
        path = "/".join(quote(part, safe="") for part in ("sidebar", tenant.helpdesk,
                                                          tenant.slug, "tickets", ticket_id))
        if not is_demo(tenant.slug, tenant.helpdesk):
            return f"{public}/{path}"
        identity = SidebarIdentity(tenant=tenant.slug, helpdesk=tenant.helpdesk,
                                   user="demo-agent", ticket_id=ticket_id, via=DEMO_PROOF)
        today = self.now().replace(hour=0, minute=0, second=0, microsecond=0)
        token = issue_sidebar_token(identity, key=self.cipher.sign_key("sidebar"),
                                    now=today, ttl=timedelta(days=31))
        return f"{public}/{path}?{urlencode({'t': token})}"

    def connected_targets(self, tenant: store.TenantRow) -> frozenset[str]:
        """Connectors (slack, crm, ...) this tenant has connected; alerts go only there.

        ``manager`` alerts go through Slack, so they count as connected with it.
        """
        connected = set((tenant.settings or {}).get("connectors", ()))
        if "slack" in connected:
            connected.add("manager")
        return frozenset(connected)

    def deliver(self, item: OutboxItem) -> ApplyResult:
        """Deliver one outbox row through the tenant's adapter.

        A vendor that needs two calls (Zendesk: a note and a public reply) may land the first
        and not the second; the part that did not land is queued again as its own row, so
        the part that did is never repeated. That row keeps the actions' refs, and is marked
        uncertain when the failed call may have landed after all (a timeout after sending).
        ``item.uncertain`` makes the adapter check the ticket before writing again.
        """
        with store.session_scope(self.sessions) as s:
            tenant = store.get_tenant(s, item.tenant_slug)
            if tenant is None:
                raise FatalError(f"tenant {item.tenant_slug!r} was removed")
            s.expunge(tenant)
        if item.target != "helpdesk":
            return self._deliver_to_connector(tenant, item)
        if item.ticket_external_id is None:
            raise FatalError("helpdesk action without a ticket id")
        try:
            result = self.adapter_for(tenant).apply(
                item.ticket_external_id, list(item.actions), uncertain=item.uncertain
            )
        except ConfigurationError as err:
            raise FatalError(f"configuration: {err}") from err
        failed = (result.detail or {}).get("failed") or []
        if failed:
            self._requeue_rest(item, failed)
        return result

    def _deliver_to_connector(self, tenant: store.TenantRow, item: OutboxItem) -> ApplyResult:
        if item.target not in self.connected_targets(tenant):
            raise FatalError(f"{item.target} is not connected for tenant {item.tenant_slug!r}")
        try:
            connector = self.connector_for(tenant, target_connector(item.target))
        except ConfigurationError as err:
            raise FatalError(f"configuration: {err}") from err
        ticket_key = f"{tenant.slug}:{tenant.helpdesk}:{item.ticket_external_id}"
        result = connector.deliver(ticket_key, list(item.actions), uncertain=item.uncertain)
        if item.target in TRACKERS:
            # The tracker answered with its issue: note it on every ticket of the group.
            for action in item.actions:
                group_id = action.payload.get("group_id")
                if group_id is not None:
                    after_filed(self, tenant, result.detail, int(group_id), now=self.now())
        return result

    def _requeue_rest(self, item: OutboxItem, failed: list[dict[str, Any]]) -> None:
        kinds = {f["kind"] for f in failed}
        rest = [a for a in item.actions if a.kind.value in kinds]
        delay = max((f.get("retry_after") or 0 for f in failed), default=0) or 30
        uncertain = item.uncertain or any(f.get("uncertain") for f in failed)
        now = self.now()
        with store.session_scope(self.sessions) as s:
            outbox.enqueue(
                s,
                tenant_id=item.tenant_id,
                target=item.target,
                ticket_external_id=item.ticket_external_id,
                actions=rest,
                idempotency_key=f"{item.idempotency_key}:rest:{item.attempt}",
                decision_id=item.decision_id,
                ticket_id=item.ticket_id,
                now=now + timedelta(seconds=float(delay)),
                uncertain=uncertain,
            )
        log.warning("%s: %s did not land; queued again", item.idempotency_key, sorted(kinds))

    def wake(self) -> None:
        """Tell idle workers there is new work."""
        self._wake.set()

    def wait_for_work(self, timeout: float) -> None:
        """Block until woken or ``timeout`` passes."""
        self._wake.wait(timeout)
        self._wake.clear()
