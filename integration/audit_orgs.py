"""Where the history audit takes each ticket's organization from: a file, the CRM, the tickets.

Organizations (name, plan, ARR, health, domain) give the audit its plan and ARR-band segments
and its "ARR at risk". An explicit organizations CSV wins; else the workspace's CRM when one is
connected (what a stored ticket carries may be stale); else what the tickets carry.

Each source is an ``integration.audit.run.OrganizationSource`` (``fill`` and ``summary``).
The CRM is asked here, at the edge, never by the audit engine: ``CrmOrganizations.fill`` wraps
the ticket stream and hands each ticket on with the organization the CRM knows. One lookup per
distinct organization — by the organization's domain, else the requester's e-mail domain
(never a free-mail one), else the organization's name — remembered for the run, at most
``limit`` distinct lookups (the others are counted as not looked up). A failed lookup (timeout,
outage, refused token) is counted with its reason and the ticket keeps what it carried; after
``STOP_AFTER`` failures in a row the CRM is not asked again during the run. The CRM never fails
an audit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from integration.audit.exports import Organizations
from integration.context import connected_targets
from integration.errors import ConfigurationError, DeliveryError, Unreachable, ValidationError
from integration.models import Account, Ticket

if TYPE_CHECKING:
    from integration.runtime import Runtime
    from integration.store.tables import TenantRow

__all__ = [
    "SOURCES",
    "CrmOrganizations",
    "FileOrganizations",
    "OrganizationDirectory",
    "TicketOrganizations",
    "choose_source",
    "crm_directory",
    "parse_source",
]

SOURCES = ("crm", "csv", "tickets", "none")
# The CRM is down or refuses us: asking it 2,000 more times would only make the audit slow.
STOP_AFTER = 10
# Organizations beyond the limit are remembered to count each once, up to this many.
_SKIPPED_MAX = 50_000
_OPTION = "--organizations-from"


@runtime_checkable
class OrganizationDirectory(Protocol):
    """A CRM the audit can ask for an organization (the HubSpot connector is one)."""

    def is_free_mail(self, domain: str) -> bool:
        """True for a consumer mail domain, which never names an organization."""

    def find_organization(self, *, domain: str | None = None,
                          name: str | None = None) -> Account | None:
        """The organization at ``domain``, else named ``name``; raises ``DeliveryError``."""


def parse_source(value: str | None) -> str | None:
    """``--organizations-from`` read: crm, csv, tickets or none (None: not given)."""
    if value is None:
        return None
    choice = value.strip().lower()
    if choice not in SOURCES:
        raise ValidationError(_OPTION, f"{value!r}: use crm, csv, tickets or none")
    return choice


def choose_source(requested: str | None, *, has_file: bool, crm_connected: bool,
                  tenant: str | None) -> str:
    """The source an audit takes organizations from; a bad choice names ``--organizations-from``."""
    choice = parse_source(requested)
    if choice is None:
        return "csv" if has_file else ("crm" if crm_connected else "tickets")
    if has_file and choice != "csv":
        raise ValidationError(_OPTION, f"{choice} does not go with --organizations FILE "
                                       "(the file is the csv source)")
    if choice == "csv" and not has_file:
        raise ValidationError(_OPTION, "csv needs --organizations FILE")
    if choice == "crm" and tenant is None:
        raise ValidationError(_OPTION, "crm needs --tenant T, the workspace whose CRM to ask")
    if choice == "crm" and not crm_connected:
        raise ValidationError(_OPTION, f"crm: workspace {tenant!r} has no CRM connected "
                                       f"(escalade tenant connect {tenant} crm)")
    return choice


def crm_directory(runtime: Runtime, tenant: TenantRow) -> OrganizationDirectory | None:
    """The tenant's CRM to ask, None when none is connected.

    Raises ``ConfigurationError`` when one is connected but cannot be used.
    """
    if "crm" not in connected_targets(tenant):
        return None
    try:
        crm = runtime.connector_for(tenant, "crm")
    except ConfigurationError as err:
        raise ConfigurationError(f"workspace {tenant.slug}: the CRM is connected but not "
                                 f"usable: {err}") from err
    if not isinstance(crm, OrganizationDirectory):
        raise ConfigurationError(f"workspace {tenant.slug}: the connected CRM cannot look up "
                                 "organizations")
    return crm


@dataclass(kw_only=True, slots=True)
class CrmTally:
    """What the CRM answered during one audit."""

    limit: int
    found: int = 0
    not_found: int = 0
    failed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    not_looked_up: int = 0
    not_looked_up_capped: bool = False
    tickets_from_crm: int = 0
    tickets_without_key: int = 0
    stopped: str | None = None

    @property
    def looked_up(self) -> int:
        """Distinct organizations the CRM was asked about."""
        return self.found + self.not_found + self.failed

    def to_dict(self) -> dict[str, Any]:
        """The report's ``organizations`` block."""
        return {
            "source": "crm", "looked_up": self.looked_up, "found": self.found,
            "not_found": self.not_found, "failed": self.failed,
            "failures": dict(self.failures.most_common()), "limit": self.limit,
            "not_looked_up": self.not_looked_up,
            "not_looked_up_at_least": self.not_looked_up_capped,
            "tickets_from_crm": self.tickets_from_crm,
            "tickets_without_organization": self.tickets_without_key,
            "stopped": self.stopped,
        }


def _reason(err: DeliveryError) -> str:
    # A short, stable reason to count by: "timeout", "HubSpot error (503)", ...
    if isinstance(err, Unreachable):
        return err.reason
    return str(err).split(":", 1)[0].strip() or type(err).__name__


class CrmOrganizations:
    """Fills tickets' organizations from a CRM while they stream, one lookup per organization."""

    def __init__(
        self, directory: OrganizationDirectory, *, limit: int,
        on_progress: Callable[[str], None] | None = None, every: int = 250,
    ) -> None:
        self.directory = directory
        self.tally = CrmTally(limit=limit)
        self._found: dict[tuple[str, str], Account | None] = {}
        self._skipped: set[tuple[str, str]] = set()
        self._in_a_row = 0
        self._on_progress = on_progress
        self._every = max(1, every)

    def key(self, ticket: Ticket) -> tuple[str, str] | None:
        """What to look the ticket's organization up by: a company domain, else its name."""
        account = ticket.account
        email = ticket.requester.email or ""
        for domain in (account.domain if account is not None else None,
                       email.rsplit("@", 1)[1] if "@" in email else None):
            cleaned = (domain or "").strip().lower().removeprefix("www.")
            if cleaned and not self.directory.is_free_mail(cleaned):
                return ("domain", cleaned)
        name = (account.name or "").strip() if account is not None else ""
        return ("name", name) if name else None

    def fill(self, tickets: Iterable[Ticket]) -> Iterator[Ticket]:
        """``tickets``, each with the CRM's organization when it knows one."""
        for ticket in tickets:
            key = self.key(ticket)
            if key is None:
                self.tally.tickets_without_key += 1
                yield ticket
                continue
            found = self._lookup(key)
            if found is None:
                yield ticket
                continue
            self.tally.tickets_from_crm += 1
            yield replace(ticket, account=_merged(found, ticket.account))

    def summary(self) -> dict[str, Any]:
        """The report's ``organizations`` block."""
        return self.tally.to_dict()

    def _lookup(self, key: tuple[str, str]) -> Account | None:
        kind, value = key
        # Names differ in case between tickets; the CRM is asked in the ticket's own spelling.
        seen = (kind, value.lower())
        if seen in self._found:
            return self._found[seen]
        if self.tally.looked_up >= self.tally.limit or self.tally.stopped:
            self._skip(seen)
            return None
        try:
            found = self.directory.find_organization(**{kind: value})
        except DeliveryError as err:
            self._failed(seen, err)
            return None
        self._in_a_row = 0
        if found is None:
            self.tally.not_found += 1
        else:
            self.tally.found += 1
        self._found[seen] = found
        self._progress()
        return found

    def _failed(self, key: tuple[str, str], err: DeliveryError) -> None:
        self.tally.failed += 1
        self.tally.failures[_reason(err)] += 1
        # Not asked again in this run: each organization counts once.
        self._found[key] = None
        self._in_a_row += 1
        if self.tally.failed == 1:
            self._say(f"CRM lookup of {key[1]} failed ({_reason(err)}); the audit goes on")
        if self._in_a_row >= STOP_AFTER:
            self.tally.stopped = (f"stopped asking after {STOP_AFTER} failures in a row "
                                  f"({_reason(err)})")
            self._say(f"CRM lookups {self.tally.stopped}")
        self._progress()

    def _skip(self, key: tuple[str, str]) -> None:
        if key in self._skipped:
            return
        if len(self._skipped) >= _SKIPPED_MAX:
            self.tally.not_looked_up_capped = True
            return
        self._skipped.add(key)
        self.tally.not_looked_up += 1

    def _progress(self) -> None:
        if self.tally.looked_up % self._every == 0:
            t = self.tally
            self._say(f"CRM: {t.looked_up:,} organizations looked up ({t.found:,} found, "
                      f"{t.not_found:,} not found, {t.failed:,} failed)")

    def _say(self, text: str) -> None:
        if self._on_progress is not None:
            self._on_progress(text)


def _merged(crm: Account, carried: Account | None) -> Account:
    """The CRM's organization; what it leaves empty, the ticket's own values fill."""
    if carried is None:
        return crm
    missing = {f.name: getattr(carried, f.name) for f in fields(Account)
               if getattr(crm, f.name) is None and getattr(carried, f.name) is not None}
    return replace(crm, **missing) if missing else crm


class TicketOrganizations:
    """What the tickets carry, or (``source="none"``) no organization at all."""

    def __init__(self, source: str = "tickets", *, note: str | None = None) -> None:
        self.source = source
        self.note = note

    def fill(self, tickets: Iterable[Ticket]) -> Iterator[Ticket]:
        """``tickets`` as they are, or without their organization."""
        if self.source != "none":
            yield from tickets
            return
        for ticket in tickets:
            yield replace(ticket, account=None) if ticket.account is not None else ticket

    def summary(self) -> dict[str, Any]:
        """The report's ``organizations`` block."""
        out: dict[str, Any] = {"source": self.source}
        if self.note:
            out["note"] = self.note
        return out


class FileOrganizations:
    """An organizations CSV applied to stored tickets (a CSV export applies it as it reads)."""

    def __init__(self, orgs: Organizations, *, name: str, apply: bool = True) -> None:
        self.orgs = orgs
        self.name = name
        self.apply = apply
        self.matched = 0

    def fill(self, tickets: Iterable[Ticket]) -> Iterator[Ticket]:
        """``tickets``, each with the file's organization when the file knows it."""
        for ticket in tickets:
            carried = ticket.account
            found = self.orgs.find(carried.name if carried is not None else None,
                                   ticket.requester.email) if self.apply else None
            if found is not None:
                self.matched += 1
                yield replace(ticket, account=found)
            else:
                yield ticket

    def summary(self) -> dict[str, Any]:
        """The report's ``organizations`` block."""
        out: dict[str, Any] = {"source": "csv", "file": self.name,
                               "organizations": len(self.orgs)}
        if self.apply:
            out["tickets_matched"] = self.matched
        return out

