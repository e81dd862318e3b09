"""HubSpot: company enrichment for triage, and a note plus a task for the account manager on Tier 3.

Built on ``hubspot-api-client`` (urllib3 underneath); ``ConnectorConfig.base_url`` replaces
``https://api.hubapi.com`` so tests talk to a local mock server.

Credentials: ``{"access_token": <private app token>}`` with the scopes
``crm.objects.companies.read``, ``crm.objects.contacts.read``, ``crm.objects.owners.read``
and ``crm.objects.contacts.write`` (notes and tasks).

Settings (all optional):
  ``properties``          our field -> HubSpot company property; keys arr, plan, lifecycle,
                          health, renewal (defaults in ``format.DEFAULT_PROPERTIES``)
  ``cache_seconds``       how long a lookup (found or not) is reused, default 600
  ``task_due_hours``      the task is due this many hours after the escalation, or at the
                          SLA due time if sooner; default 4
  ``timeout_seconds``     per HTTP call, default 5
  ``free_mail_domains``   extra consumer mail domains that never match a company by domain

Errors (status codes mapped in ``errors``): enrichment (``lookup_account``) never
raises — an outage, a timeout or a refused token is logged and reads as "unknown account".
``deliver`` raises ``RetriableError`` on 429 (with HubSpot's ``Retry-After``), 5xx and network
errors, and ``FatalError`` with HubSpot's message on other 4xx.

Idempotency: the note and the task carry a marker word derived from the alert's ``dedupe_key``
(``Escalade ref escalade<hash>``); before creating either, ``deliver`` searches for it with
``CONTAINS_TOKEN``, so an outbox retry — also one whose earlier attempt timed out
(``uncertain``) — reuses what already landed. HubSpot's search index lags a few seconds behind
writes, which the outbox's retry backoff covers.

A payload without the ticket's link (an SLA promotion's, the demo's) gets it from
``ticket_links``; with ``ticket_facts`` (ticket key -> what the app knows around it), also the
summary from the ticket's latest decision, and the bug filed for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import hubspot.crm.companies as hs_companies
import hubspot.crm.contacts as hs_contacts
import hubspot.crm.objects.notes as hs_notes
import hubspot.crm.objects.tasks as hs_tasks
import urllib3
from hubspot import HubSpot
from urllib3.util.retry import Retry

from adapters.connectors.base import Connector, ConnectorConfig
from adapters.connectors.hubspot.errors import API_ERRORS, TokenRejected, delivery_error
from adapters.connectors.hubspot.format import (
    DEFAULT_PROPERTIES,
    HubSpotCompany,
    dedupe_marker,
    epoch_millis,
    is_free_mail,
    note_html,
    parse_amount,
    parse_date,
    parse_health,
    task_due,
    task_html,
    task_subject,
)
from adapters.connectors.ledger import TicketFactsLookup
from adapters.helpdesk.base import ApplyResult, ConnectionCheck
from integration.errors import (
    ConfigurationError,
    DeliveryError,
    FatalError,
    RetriableError,
    Unreachable,
)
from integration.models import Account, Action, ActionKind

__all__ = ["HubSpotConnector"]

log = logging.getLogger(__name__)

# HUBSPOT_DEFINED association type ids:
# https://developers.hubspot.com/docs/api/crm/associations#association-type-id-values
_NOTE_TO_COMPANY, _NOTE_TO_CONTACT = 190, 202
_TASK_TO_COMPANY, _TASK_TO_CONTACT = 192, 204
_CONTACT_TO_COMPANY_PRIMARY = 1
_CACHE_MAX = 5000


@dataclass(frozen=True, kw_only=True, slots=True)
class _Owner:
    email: str | None
    name: str | None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _setting_number(settings: Mapping[str, Any], key: str, default: float) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"HubSpot setting {key!r} must be a number >= 0, got {value!r}")
    return float(value)


def _property_map(raw: Any) -> dict[str, str]:
    if raw is None:
        return dict(DEFAULT_PROPERTIES)
    if not isinstance(raw, Mapping):
        raise ConfigurationError("HubSpot setting 'properties' must map field names to properties")
    unknown = sorted(set(raw) - set(DEFAULT_PROPERTIES))
    if unknown:
        allowed = ", ".join(DEFAULT_PROPERTIES)
        raise ConfigurationError(f"HubSpot 'properties': unknown field(s) {unknown}; use {allowed}")
    for field_name, prop in raw.items():
        if not isinstance(prop, str) or not prop.strip():
            raise ConfigurationError(f"HubSpot 'properties.{field_name}' must be a property name")
    return {**DEFAULT_PROPERTIES, **{k: v.strip() for k, v in raw.items()}}


class HubSpotConnector(Connector):
    """HubSpot CRM: enrich tickets with the requester's company, log Tier 3 for its owner."""

    identifier = "crm"
    shared = frozenset({"ticket_links", "ticket_facts"})

    def __init__(
        self,
        *,
        config: ConnectorConfig,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utcnow,
        ticket_links: Callable[[str], str | None] | None = None,
        ticket_facts: TicketFactsLookup | None = None,
    ) -> None:
        super().__init__(config=config)
        self.ticket_links = ticket_links
        self.ticket_facts = ticket_facts
        token = config.credentials.get("access_token")
        if not token:
            raise ConfigurationError("HubSpot needs credentials.access_token (a private app token)")
        settings = config.settings
        self.properties = _property_map(settings.get("properties"))
        self.cache_seconds = _setting_number(settings, "cache_seconds", 600)
        self.task_due_hours = _setting_number(settings, "task_due_hours", 4)
        self.timeout = _setting_number(settings, "timeout_seconds", 5) or 5.0
        extra = settings.get("free_mail_domains") or ()
        self._free_mail = frozenset(str(d).strip().lower() for d in extra)
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, HubSpotCompany | None]] = {}
        self._owners: dict[str, tuple[float, _Owner | None]] = {}
        # No retries inside a call: the outbox owns retrying, with backoff and Retry-After.
        options: dict[str, Any] = {"access_token": token, "retry": Retry(total=0, redirect=0)}
        if config.base_url:
            options["host"] = config.base_url.rstrip("/")
        crm = HubSpot(**options).crm
        self._companies_search = crm.companies.search_api
        self._companies = crm.companies.basic_api
        self._contacts_search = crm.contacts.search_api
        self._associations = crm.associations.v4.basic_api
        self._owners_api = crm.owners.owners_api
        self._notes = crm.objects.notes.basic_api
        self._notes_search = crm.objects.notes.search_api
        self._tasks = crm.objects.tasks.basic_api
        self._tasks_search = crm.objects.tasks.search_api

    # --- enrichment -------------------------------------------------------------------

    def lookup_account(self, *, email: str | None, domain: str | None) -> Account | None:
        """The requester's company as an ``Account``, or ``None`` (unknown, or HubSpot down)."""
        company = self.lookup_company(email=email, domain=domain)
        return company.account if company is not None else None

    def lookup_company(self, *, email: str | None, domain: str | None) -> HubSpotCompany | None:
        """Like ``lookup_account``, plus HubSpot's company, contact and owner ids and owner name."""
        try:
            return self._lookup(email, domain)
        except TokenRejected as err:
            log.error("HubSpot configuration problem for tenant %s: %s", self.config.tenant, err)
        except DeliveryError as err:
            log.warning("HubSpot lookup failed for tenant %s, account unknown: %s",
                        self.config.tenant, err)
        return None

    def _lookup(self, email: str | None, domain: str | None) -> HubSpotCompany | None:
        key = ((email or "").strip().lower(), (domain or "").strip().lower().removeprefix("www."))
        if not any(key):
            return None
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = self._resolve(email=key[0] or None, domain=key[1] or None)
        with self._lock:
            if len(self._cache) >= _CACHE_MAX:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                while len(self._cache) >= _CACHE_MAX:
                    del self._cache[next(iter(self._cache))]
            self._cache[key] = (now + self.cache_seconds, found)
        return found

    def _resolve(self, *, email: str | None, domain: str | None) -> HubSpotCompany | None:
        if not domain and email and "@" in email:
            domain = email.rsplit("@", 1)[1]
        if domain and not is_free_mail(domain, self._free_mail):
            company = self._search_one(self._companies_search, hs_companies, "domain", domain,
                                       self._company_properties())
            if company is not None:
                return self._company(company, contact_id=None)
        if not email:
            return None
        contact = self._search_one(self._contacts_search, hs_contacts, "email", email, ["email"])
        if contact is None:
            return None
        company_id = self._primary_company_id(str(contact.id))
        if company_id is None:
            return None
        try:
            company = self._call(self._companies.get_by_id, company_id,
                                 properties=self._company_properties())
        except FatalError:
            return None  # the association points at a deleted company
        return self._company(company, contact_id=str(contact.id))

    def is_free_mail(self, domain: str) -> bool:
        """True for a consumer mail domain (never a company's), the tenant's extra ones too."""
        return is_free_mail(domain, self._free_mail)

    def find_organization(self, *, domain: str | None = None,
                          name: str | None = None) -> Account | None:
        """The company at ``domain``, else the one named ``name``: one search, for bulk reads.

        Unlike ``lookup_account`` it raises ``DeliveryError`` (``Unreachable`` with the
        reason "timeout" when HubSpot did not answer in time), so the caller can count
        failures; it does not ask for the company's owner.
        """
        domain = (domain or "").strip().lower().removeprefix("www.")
        prop, value = ("domain", domain) if domain else ("name", (name or "").strip())
        if not value:
            return None
        try:
            company = self._search_one(self._companies_search, hs_companies, prop, value,
                                       self._company_properties())
        except RetriableError as err:
            if isinstance(err.__cause__, urllib3.exceptions.TimeoutError):
                raise Unreachable(host="HubSpot", reason="timeout") from err
            raise
        return self._company(company, contact_id=None, owner=False).account if company else None

    def _company_properties(self) -> list[str]:
        return ["name", "domain", "hubspot_owner_id", *self.properties.values()]

    def _search_one(
        self, api: Any, package: Any, prop: str, value: str, properties: list[str]
    ) -> Any:
        request = package.PublicObjectSearchRequest(
            filter_groups=[package.FilterGroup(filters=[
                package.Filter(property_name=prop, operator="EQ", value=value)
            ])],
            properties=properties,
            limit=1,
        )
        page = self._call(api.do_search, public_object_search_request=request)
        return page.results[0] if page.results else None

    def _primary_company_id(self, contact_id: str) -> str | None:
        page = self._call(self._associations.get_page, "contacts", contact_id, "companies",
                          limit=100)
        results = list(page.results or ())
        for result in results:
            if any(t.type_id == _CONTACT_TO_COMPANY_PRIMARY for t in result.association_types):
                return str(result.to_object_id)
        return str(results[0].to_object_id) if results else None

    def _company(self, company: Any, *, contact_id: str | None,
                 owner: bool = True) -> HubSpotCompany:
        props: Mapping[str, Any] = company.properties or {}
        owner_id = props.get("hubspot_owner_id") or None
        found = self._owner(str(owner_id)) if owner_id and owner else None
        plan = props.get(self.properties["plan"])
        lifecycle = props.get(self.properties["lifecycle"])
        account = Account(
            id=str(company.id),
            name=props.get("name") or None,
            domain=props.get("domain") or None,
            plan=(str(plan).strip().lower() or None) if plan else None,
            arr=parse_amount(props.get(self.properties["arr"])),
            health=parse_health(props.get(self.properties["health"])),
            owner=found.email if found else None,
            lifecycle=(str(lifecycle).strip().lower() or None) if lifecycle else None,
            renewal_date=parse_date(props.get(self.properties["renewal"])),
        )
        return HubSpotCompany(
            account=account,
            company_id=str(company.id),
            contact_id=contact_id,
            owner_id=str(owner_id) if owner_id else None,
            owner_name=found.name if found else None,
        )

    def _owner(self, owner_id: str) -> _Owner | None:
        now = self._clock()
        with self._lock:
            hit = self._owners.get(owner_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        if not owner_id.isdigit():
            return None
        try:
            found = self._call(self._owners_api.get_by_id, int(owner_id), id_property="id")
        except FatalError as err:
            if isinstance(err, TokenRejected):
                raise
            owner = None  # a deactivated owner: the account just has no manager on file
        else:
            names = " ".join(n for n in (found.first_name, found.last_name) if n)
            owner = _Owner(email=found.email or None, name=names or None)
        with self._lock:
            self._owners[owner_id] = (now + self.cache_seconds, owner)
        return owner

    # --- write-back ---------------------------------------------------------------------

    def deliver(
        self, ticket_key: str, actions: Sequence[Action], *, uncertain: bool = False
    ) -> ApplyResult:
        """Tier 3 alert -> a note on the company timeline and a task for its owner.

        ``uncertain`` needs nothing more: the marker search always runs before a create.
        """
        written: list[str] = []
        skipped: list[str] = []
        note_ids: list[str] = []
        task_ids: list[str] = []
        for action in actions:
            payload = action.payload
            kind = payload.get("kind")
            if action.kind is not ActionKind.ALERT:
                skipped.append(f"{action.kind.value}: HubSpot only records alerts")
            elif payload.get("tier") != 3:
                skipped.append(f"tier {payload.get('tier')} alert: HubSpot records Tier 3 only")
            elif kind not in (None, "sla_breach"):
                skipped.append(f"{kind} alert: not recorded in HubSpot")
            else:
                note_id, task_id, lines = self._write(ticket_key,
                                                      self._complete(ticket_key, payload))
                note_ids.append(note_id)
                task_ids.extend([task_id] if task_id else [])
                written.extend(lines)
        # What was created (or found from an earlier attempt), for the outbox to keep.
        detail: dict[str, Any] = {"written": written, "notes": note_ids, "tasks": task_ids}
        if skipped:
            detail["skipped"] = skipped
        return ApplyResult(
            applied=(ActionKind.ALERT,) if note_ids else (),
            external_ref=note_ids[0] if note_ids else None,
            detail=detail,
        )

    def _complete(self, ticket_key: str, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """The payload with the ticket's link, summary and bug when it came without them."""
        out = dict(payload)
        if not out.get("ticket_url") and self.ticket_links is not None and out.get("ticket_id"):
            try:
                out["ticket_url"] = self.ticket_links(str(out["ticket_id"]))
            except ConfigurationError as err:
                log.warning("HubSpot note without a ticket link: %s", err)
        if self.ticket_facts is None or (out.get("ticket_url") and out.get("summary")):
            return out
        facts = self.ticket_facts(str(payload.get("ticket_key") or ticket_key))
        out["ticket_url"] = out.get("ticket_url") or facts.ticket_url
        out["summary"] = out.get("summary") or facts.summary
        if facts.tracker_key and not out.get("tracker_issue"):
            out["tracker_issue"] = {"key": facts.tracker_key, "url": facts.tracker_url}
        return out

    def _write(self, ticket_key: str,
               payload: Mapping[str, Any]) -> tuple[str, str | None, list[str]]:
        """Note (and, but for an SLA breach, a task) for the account manager: their ids."""
        requester = payload.get("requester")
        account = payload.get("account")
        email = requester.get("email") if isinstance(requester, Mapping) else None
        domain = account.get("domain") if isinstance(account, Mapping) else None
        match = self._lookup(email, domain)
        if match is None:
            where = domain or (email.rsplit("@", 1)[-1] if email else None) or "this requester"
            raise FatalError(
                f"HubSpot has no company for {where}; nothing recorded for {ticket_key}"
            )
        contact_id = match.contact_id
        if contact_id is None and email:
            contact = self._search_one(self._contacts_search, hs_contacts, "email", email,
                                       ["email"])
            contact_id = str(contact.id) if contact is not None else None
        marker = dedupe_marker(str(payload.get("dedupe_key") or f"{ticket_key}:tier_3"))
        now = self._now()
        company = match.company_id
        note_targets = [(company, _NOTE_TO_COMPANY)]
        if contact_id:
            note_targets.append((contact_id, _NOTE_TO_CONTACT))
        note_id, created = self._ensure(
            hs_notes, self._notes, self._notes_search, "hs_note_body", marker,
            {"hs_timestamp": epoch_millis(now), "hs_note_body": note_html(payload, marker)},
            note_targets,
        )
        lines = [f"HubSpot note {note_id} on company {company}"
                 + ("" if created else " (already there)")]
        if payload.get("kind") == "sla_breach":
            return note_id, None, lines
        due = task_due(payload, now=now, hours=self.task_due_hours)
        task_props = {
            "hs_task_subject": task_subject(payload),
            "hs_task_body": task_html(payload, marker),
            "hs_timestamp": epoch_millis(due),
            "hs_task_priority": "HIGH",
            "hs_task_status": "NOT_STARTED",
            "hs_task_type": "TODO",
        }
        if match.owner_id:
            task_props["hubspot_owner_id"] = match.owner_id
        task_id, created = self._ensure(
            hs_tasks, self._tasks, self._tasks_search, "hs_task_body", marker, task_props,
            [(company, _TASK_TO_COMPANY)],
        )
        owner = match.account.owner or match.owner_id or "no owner"
        lines.append(f"HubSpot task {task_id} for {owner} due {due:%Y-%m-%d %H:%M} UTC"
                     + ("" if created else " (already there)"))
        return note_id, task_id, lines

    def _ensure(
        self,
        package: Any,
        basic_api: Any,
        search_api: Any,
        body_property: str,
        marker: str,
        properties: dict[str, str],
        targets: list[tuple[str, int]],
    ) -> tuple[str, bool]:
        """Create the engagement unless one carrying ``marker`` exists; (id, created)."""
        request = package.PublicObjectSearchRequest(
            filter_groups=[package.FilterGroup(filters=[
                package.Filter(property_name=body_property, operator="CONTAINS_TOKEN",
                               value=marker)
            ])],
            properties=[body_property],
            limit=10,
        )
        page = self._call(search_api.do_search, public_object_search_request=request)
        for found in page.results or ():
            if marker in str((found.properties or {}).get(body_property) or ""):
                return str(found.id), False
        associations = [
            package.PublicAssociationsForObject(
                to=package.PublicObjectId(id=object_id),
                types=[package.AssociationSpec(association_category="HUBSPOT_DEFINED",
                                               association_type_id=type_id)],
            )
            for object_id, type_id in targets
        ]
        body = package.SimplePublicObjectInputForCreate(properties=properties,
                                                        associations=associations)
        created = self._call(basic_api.create, simple_public_object_input_for_create=body)
        return str(created.id), True

    # --- plumbing -----------------------------------------------------------------------

    def test_connection(self) -> ConnectionCheck:
        """One owners page: proves the token works and shows how many owners it can see."""
        try:
            page = self._call(self._owners_api.get_page, limit=100)
        except FatalError:
            raise
        except DeliveryError as err:
            raise FatalError(str(err)) from err
        more = page.paging is not None and page.paging.next is not None
        return ConnectionCheck(
            message=f"HubSpot: {len(page.results)}{'+' if more else ''} owners visible")

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        for api in (self._companies_search, self._companies, self._contacts_search,
                    self._associations, self._owners_api, self._notes, self._notes_search,
                    self._tasks, self._tasks_search):
            api.api_client.rest_client.pool_manager.clear()

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One HubSpot call with our timeout; every failure becomes a ``DeliveryError``."""
        try:
            return method(*args, _request_timeout=self.timeout, **kwargs)
        except API_ERRORS as err:
            raise delivery_error(err) from err
        except urllib3.exceptions.HTTPError as err:
            raise RetriableError(f"HubSpot unreachable: {type(err).__name__}") from err
        except ValueError as err:
            # The client validates responses against its models; a shape it rejects is a
            # HubSpot change we cannot act on by retrying.
            raise FatalError(f"HubSpot answered in an unexpected shape: {err}") from err
