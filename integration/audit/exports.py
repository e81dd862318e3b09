"""A helpdesk's own CSV ticket export, streamed row by row into normalized tickets.

Two exports are understood, told apart by their header:

- Zendesk (Reporting → Export, CSV): ``Id``, ``Requester``, ``Organization``, ``Subject``,
  ``Status``, ``Priority``, ``Via``, ``Tags``, ``Created at``, ``Solved at``, ``Satisfaction
  Score``, ``Group``, ``Group stations``, ``Assignee stations``, ``Reopens``, ``Replies``,
  ``First reply time in minutes``, ``Full resolution time in minutes``, and custom fields as
  ``Name [list]`` (``[txt]``, ``[int]`` ...). It has no comment text: a ``Description``
  column is read when the admin added one, otherwise detection reads the subject alone.
- Freshdesk (Tickets → Export, CSV): ``Ticket ID``, ``Subject``, ``Status``, ``Priority``,
  ``Source``, ``Type``, ``Agent``, ``Group``, ``Created time``, ``Resolved time``, ``Closed
  time``, ``Last update time``, ``Initial response time``, ``Time tracked``, ``First response
  time (in hrs)``, ``Resolution time (in hrs)``, ``Resolution status``, ``First response
  status``, ``Every response status``, ``Tags``, ``Survey results``, contact fields (``Full
  name``, ``Email``, ``Contact ID``) and ``Company Name``; custom fields under their label.

Organizations (name, plan, ARR, health, domain) come from a second CSV and are joined on the
organization's name, else on the requester's e-mail domain.

Nothing is read whole: ``read_export`` yields tickets as the file is read. A row that cannot
be used is reported (file, line, column, why) to ``ImportLog`` and skipped, never dropped
silently; values it cannot read but can live without (an unknown channel, a satisfaction
label it does not know) are counted as notes with their first line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import IO, Any

from integration.audit.outcomes import with_outcomes
from integration.audit.settings import AuditSettings
from integration.errors import ValidationError
from integration.models import Account, Author, Channel, Message, Person, Priority, Status, Ticket

__all__ = [
    "ExportError",
    "ImportLog",
    "ImportProblem",
    "Organizations",
    "detect_format",
    "parse_export_time",
    "read_export",
    "read_organizations",
]

MAX_LISTED_PROBLEMS = 1000
# A field larger than this is a broken file (an unclosed quote swallowing the rest).
_FIELD_LIMIT = 1_000_000
_CUSTOM_SUFFIX = re.compile(r"\s*\[[a-z_ ]+\]\s*$", re.IGNORECASE)
_ZONE_SUFFIX = re.compile(r"^(.*\d)\s*(?:([+-]\d{2}):?(\d{2})|(UTC|GMT|Z))$", re.IGNORECASE)
_MONEY = re.compile(r"[\s$€£¥,_]|(?i:usd|eur|gbp)")


class ExportError(ValidationError):
    """A file that cannot be read at all: names the file, the line and the column."""

    def __init__(self, file: str, line: int | None, column: str, message: str) -> None:
        self.file = file
        super().__init__(column, message, line=line)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.field}: {self.message}"


@dataclass(frozen=True, kw_only=True, slots=True)
class ImportProblem:
    """A row skipped: where it is and why."""

    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """For the report's JSON."""
        return {"file": self.file, "line": self.line, "column": self.column,
                "message": self.message}


@dataclass(kw_only=True, slots=True)
class ImportLog:
    """What reading the files found: rows, tickets, skipped rows and notes."""

    on_problem: Callable[[ImportProblem], None] | None = None
    format: str = ""
    text_basis: str = ""
    rows: int = 0
    tickets: int = 0
    skipped: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    # "column: what" -> [count, first file:line]
    notes: dict[str, list[Any]] = field(default_factory=dict)

    def problem(self, problem: ImportProblem) -> None:
        """Record a skipped row (every one reaches ``on_problem``; the first 1000 are kept)."""
        self.skipped += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(problem)
        if self.on_problem is not None:
            self.on_problem(problem)

    def note(self, what: str, where: str) -> None:
        """Count a value read as unknown (the row is kept)."""
        entry = self.notes.get(what)
        if entry is None:
            self.notes[what] = [1, where]
        else:
            entry[0] += 1

    def to_dict(self) -> dict[str, Any]:
        """For the report's JSON."""
        return {
            "format": self.format,
            "text": self.text_basis,
            "rows": self.rows,
            "tickets": self.tickets,
            "skipped": self.skipped,
            "problems": [p.to_dict() for p in self.problems],
            "problems_not_listed": max(0, self.skipped - len(self.problems)),
            "notes": [{"what": k, "count": v[0], "first": v[1]} for k, v in self.notes.items()],
        }


class _RowError(Exception):
    def __init__(self, column: str, message: str) -> None:
        self.column = column
        self.message = message
        super().__init__(message)


# --- organizations ------------------------------------------------------------------------

_ORG_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "name": ("name", "organization", "organization name", "company", "company name"),
    "id": ("id", "organization id", "company id", "external id"),
    "domain": ("domain", "domains", "company domains", "domain names"),
    "plan": ("plan", "account tier", "tier"),
    "arr": ("arr", "annual recurring revenue", "annual revenue"),
    "health": ("health", "health score"),
    "owner": ("owner", "account owner", "account manager"),
}


class Organizations:
    """Accounts by organization name and by e-mail domain (lower case)."""

    def __init__(self) -> None:
        self.by_name: dict[str, Account] = {}
        self.by_domain: dict[str, Account] = {}

    def __len__(self) -> int:
        return len(self.by_name)

    def add(self, account: Account, domains: Sequence[str]) -> None:
        """Make ``account`` findable by its name and each of ``domains``."""
        if account.name:
            self.by_name[account.name.strip().lower()] = account
        for domain in domains:
            self.by_domain[domain] = account

    def find(self, name: str | None, email: str | None) -> Account | None:
        """The account named ``name``, else the one whose domain ``email`` is at."""
        if name:
            found = self.by_name.get(name.strip().lower())
            if found is not None:
                return found
        if email and "@" in email:
            return self.by_domain.get(email.rsplit("@", 1)[1].strip().lower())
        return None


def read_organizations(stream: IO[str], *, name: str, log: ImportLog) -> Organizations:
    """Read an organizations CSV (name, plan, ARR, health, domain; id and owner optional)."""
    orgs = Organizations()
    reader = _reader(stream)
    header = _header(reader, name)
    columns = {key: _find(header, aliases) for key, aliases in _ORG_COLUMNS.items()}
    if columns["name"] is None and columns["domain"] is None:
        raise ExportError(name, 1, "name", "an organizations file needs a name or domain column "
                          f"(found: {', '.join(header) or 'nothing'})")
    line = 1
    for row in reader:
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        try:
            account, domains = _organization(row, columns, len(header))
        except _RowError as err:
            log.problem(ImportProblem(file=name, line=start, column=err.column,
                                      message=err.message))
            continue
        orgs.add(account, domains)
    return orgs


def _organization(
    row: list[str], columns: Mapping[str, int | None], width: int
) -> tuple[Account, list[str]]:
    if len(row) != width:
        raise _RowError("row", f"has {len(row)} fields, the header has {width}")

    def cell(key: str) -> str:
        index = columns[key]
        return row[index].strip() if index is not None else ""

    org_name = cell("name")
    domains = [d.strip().lower().lstrip("@") for d in re.split(r"[,;\s]+", cell("domain"))
               if d.strip()]
    if not org_name and not domains:
        raise _RowError("name", "neither a name nor a domain")
    arr = _money(cell("arr"), "arr") if cell("arr") else None
    health = _health(cell("health")) if cell("health") else None
    return Account(
        id=cell("id") or org_name or domains[0],
        name=org_name or None,
        domain=domains[0] if domains else None,
        plan=cell("plan").lower() or None,
        arr=arr,
        health=health,
        owner=cell("owner") or None,
    ), domains


def _money(text: str, column: str) -> float:
    cleaned = _MONEY.sub("", text)
    try:
        value = float(cleaned)
    except ValueError as err:
        raise _RowError(column, f"not an amount: {text!r}") from err
    if value < 0 or value != value:
        raise _RowError(column, f"must not be negative: {text!r}")
    return value


def _health(text: str) -> float:
    percent = text.endswith("%")
    try:
        value = float(text.rstrip("%").strip())
    except ValueError as err:
        raise _RowError("health", f"not a number: {text!r} (use 0-1, or a percentage)") from err
    if percent:
        value /= 100.0
    if not 0.0 <= value <= 1.0:
        raise _RowError("health", f"must be between 0 and 1 (or 0%-100%), got {text!r}")
    return value


# --- the ticket export --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class _Format:
    name: str
    helpdesk: str
    id: str
    created: str
    required: tuple[str, ...]
    known: frozenset[str]


ZENDESK_COLUMNS = frozenset({
    "summation column", "id", "requester", "requester id", "requester external id",
    "requester email", "requester domain", "submitter", "assignee", "group", "subject",
    "description", "tags", "status", "priority", "via", "ticket type", "created at",
    "updated at", "assigned at", "organization", "due date", "initially assigned at",
    "solved at", "resolution time", "satisfaction score", "group stations",
    "assignee stations", "reopens", "replies", "first reply time in minutes",
    "first reply time in minutes within business hours", "first resolution time in minutes",
    "first resolution time in minutes within business hours", "full resolution time in minutes",
    "full resolution time in minutes within business hours", "agent wait time in minutes",
    "agent wait time in minutes within business hours", "requester wait time in minutes",
    "requester wait time in minutes within business hours", "on hold time in minutes",
    "on hold time in minutes within business hours",
})
FRESHDESK_COLUMNS = frozenset({
    "ticket id", "subject", "description", "status", "priority", "source", "source info",
    "type", "agent", "group", "created time", "due by time", "resolved time", "closed time",
    "last update time", "initial response time", "time tracked",
    "first response time (in hrs)", "resolution time (in hrs)", "agent interactions",
    "customer interactions", "resolution status", "first response status",
    "every response status", "tags", "survey results", "skill", "product", "summary",
    "reference number", "association type", "internal agent", "internal group",
    "full name", "title", "email", "work phone", "mobile phone", "twitter id", "contact id",
    "facebook id", "time zone", "language", "unique external id", "company name",
    "company domains", "health score", "account tier", "industry", "renewal date",
})
FORMATS = (
    _Format(name="zendesk", helpdesk="zendesk", id="id", created="created at",
            required=("id", "created at"), known=ZENDESK_COLUMNS),
    _Format(name="freshdesk", helpdesk="freshdesk", id="ticket id", created="created time",
            required=("ticket id", "created time"), known=FRESHDESK_COLUMNS),
)

ZENDESK_STATUSES: Mapping[str, Status] = {
    "new": Status.NEW, "open": Status.OPEN, "pending": Status.PENDING, "on-hold": Status.ON_HOLD,
    "on hold": Status.ON_HOLD, "hold": Status.ON_HOLD, "solved": Status.SOLVED,
    "closed": Status.CLOSED,
}
FRESHDESK_STATUSES: Mapping[str, Status] = {
    "open": Status.OPEN, "pending": Status.PENDING, "resolved": Status.SOLVED,
    "closed": Status.CLOSED, "waiting on customer": Status.PENDING,
    "waiting on third party": Status.ON_HOLD,
}
PRIORITIES: Mapping[str, Priority] = {
    "low": Priority.LOW, "normal": Priority.NORMAL, "medium": Priority.NORMAL,
    "high": Priority.HIGH, "urgent": Priority.URGENT,
}
# Zendesk's "Via" as the export writes it, and Freshdesk's "Source".
CHANNELS: Mapping[str, Channel] = {
    "mail": Channel.EMAIL, "email": Channel.EMAIL, "e-mail": Channel.EMAIL,
    "outbound email": Channel.EMAIL, "web form": Channel.WEB, "web": Channel.WEB,
    "web widget": Channel.WEB, "help center": Channel.WEB, "portal": Channel.WEB,
    "feedback widget": Channel.WEB, "mobile sdk": Channel.WEB, "mobihelp": Channel.WEB,
    "forum": Channel.WEB, "chat": Channel.CHAT, "native messaging": Channel.CHAT,
    "messaging": Channel.CHAT, "chat transcript": Channel.CHAT, "api": Channel.API,
    "web service": Channel.API, "closed ticket": Channel.API, "phone": Channel.PHONE,
    "voice": Channel.PHONE, "voicemail": Channel.PHONE, "phone call (incoming)": Channel.PHONE,
    "phone call (outgoing)": Channel.PHONE, "sms": Channel.PHONE, "twitter": Channel.SOCIAL,
    "facebook": Channel.SOCIAL, "instagram dm": Channel.SOCIAL, "whatsapp": Channel.SOCIAL,
    "line": Channel.SOCIAL, "wechat": Channel.SOCIAL, "ecommerce": Channel.OTHER,
}
# Satisfaction as a score in [0, 1]; "offered" and the like mean "not rated".
CSAT_LABELS: Mapping[str, float | None] = {
    "good": 1.0, "bad": 0.0, "offered": None, "not offered": None, "unoffered": None,
    "awesome": 1.0, "extremely happy": 1.0, "very happy": 1.0, "happy": 1.0,
    "satisfied": 1.0, "very satisfied": 1.0, "extremely satisfied": 1.0, "yes": 1.0,
    "just okay": 0.5, "neutral": 0.5, "okay": 0.5, "not good": 0.0, "unhappy": 0.0,
    "very unhappy": 0.0, "extremely unhappy": 0.0, "dissatisfied": 0.0,
    "very dissatisfied": 0.0, "extremely dissatisfied": 0.0, "no": 0.0,
}
_SLA_VIOLATED = frozenset({"sla violated", "violated", "breached"})
_SLA_MET = frozenset({"within sla", "within", "met", "achieved"})


def detect_format(header: Sequence[str], *, name: str) -> str:
    """``zendesk`` or ``freshdesk`` from the header row; ``ExportError`` when neither."""
    names = {_norm(h) for h in header}
    for fmt in FORMATS:
        if all(col in names for col in fmt.required):
            return fmt.name
    raise ExportError(
        name, 1, "header",
        "not a Zendesk or Freshdesk ticket export (a Zendesk export has 'Id' and 'Created at', "
        "a Freshdesk export 'Ticket ID' and 'Created time')",
    )


def read_export(
    stream: IO[str],
    *,
    name: str,
    tenant: str,
    settings: AuditSettings,
    log: ImportLog,
    organizations: Organizations | None = None,
) -> Iterator[Ticket]:
    """Tickets from a Zendesk or Freshdesk CSV export, one row at a time."""
    reader = _reader(stream)
    header = _header(reader, name)
    fmt = next(f for f in FORMATS if f.name == detect_format(header, name=name))
    index = {_norm(h): i for i, h in enumerate(header)}
    log.format = f"{fmt.name} csv"
    log.text_basis = (
        "subject and description" if "description" in index
        else "subject only (the export has no Description column)"
    )
    wanted = _wanted_fields(settings)
    extra = {
        _field_name(h): i for i, h in enumerate(header)
        if _norm(h) not in fmt.known and _field_name(h).lower() in wanted
    }
    convert = _zendesk_row if fmt.name == "zendesk" else _freshdesk_row
    orgs = organizations or Organizations()
    line = 1
    for row in reader:
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        log.rows += 1
        if len(row) != len(header):
            log.problem(ImportProblem(
                file=name, line=start, column="row",
                message=f"has {len(row)} fields, the header has {len(header)}"))
            continue
        cells = _Cells(row, index, name=name, line=start, log=log)
        try:
            ticket = convert(cells, tenant=tenant, settings=settings, orgs=orgs,
                             fields={k: row[i] for k, i in extra.items()})
        except _RowError as err:
            log.problem(ImportProblem(file=name, line=start, column=err.column,
                                      message=err.message))
            continue
        log.tickets += 1
        yield with_outcomes(ticket, settings)


class _Cells:
    """One row read by column name, with the parsers that say which column failed."""

    __slots__ = ("_index", "_row", "line", "log", "name")

    def __init__(
        self, row: list[str], index: Mapping[str, int], *, name: str, line: int, log: ImportLog
    ) -> None:
        self._row = row
        self._index = index
        self.name = name
        self.line = line
        self.log = log

    def text(self, column: str) -> str:
        """The cell's text, stripped; empty when the column is absent or the cell is ``-``."""
        i = self._index.get(column)
        if i is None:
            return ""
        value = self._row[i].strip()
        return "" if value == "-" else value

    def has(self, column: str) -> bool:
        """True when the export has this column."""
        return column in self._index

    def time(self, column: str, zone: tzinfo) -> datetime | None:
        """A timestamp, or None when empty."""
        value = self.text(column)
        if not value:
            return None
        parsed = parse_export_time(value, zone)
        if parsed is None:
            raise _RowError(_title(column), f"not a date and time: {value!r}")
        return parsed

    def number(self, column: str) -> float | None:
        """A non-negative number, or None when empty."""
        value = self.text(column)
        if not value:
            return None
        try:
            number = float(value.replace(",", ""))
        except ValueError as err:
            raise _RowError(_title(column), f"not a number: {value!r}") from err
        if number < 0 or number != number:
            raise _RowError(_title(column), f"must not be negative: {value!r}")
        return number

    def hours(self, column: str) -> float | None:
        """Hours written ``H:MM:SS``, ``H:MM`` or as a decimal; None when empty."""
        value = self.text(column)
        if not value:
            return None
        parts = value.split(":")
        try:
            if len(parts) == 1:
                hours = float(value)
            elif len(parts) in (2, 3):
                nums = [float(p) for p in parts]
                hours = nums[0] + nums[1] / 60.0 + (nums[2] / 3600.0 if len(nums) == 3 else 0.0)
            else:
                raise ValueError(value)
        except ValueError as err:
            raise _RowError(
                _title(column), f"not a duration (H:MM:SS or hours): {value!r}"
            ) from err
        if hours < 0:
            raise _RowError(_title(column), f"must not be negative: {value!r}")
        return hours

    def note(self, what: str) -> None:
        """Count an unknown value, with where it was first seen."""
        self.log.note(what, f"{self.name}:{self.line}")


def _zendesk_row(
    cells: _Cells, *, tenant: str, settings: AuditSettings, orgs: Organizations,
    fields: Mapping[str, str],
) -> Ticket:
    ticket_id = _ticket_id(cells.text("id"), "Id")
    zone = settings.export_zone
    created = cells.time("created at", zone)
    if created is None:
        raise _RowError("Created at", "is empty")
    solved = cells.time("solved at", zone)
    updated = cells.time("updated at", zone) or max(created, solved or created)
    status = _choice(cells, "status", ZENDESK_STATUSES, "Status", default=Status.OPEN)
    email = cells.text("requester email") or None
    requester_id = cells.text("requester id") or email or cells.text("requester") or "unknown"
    group_st = cells.number("group stations")
    assignee_st = cells.number("assignee stations")
    reassign = None
    if group_st is not None or assignee_st is not None:
        reassign = max(0, int(group_st or 1) - 1) + max(0, int(assignee_st or 1) - 1)
    first_reply = cells.number("first reply time in minutes")
    resolution = cells.number("full resolution time in minutes")
    if resolution is None and solved is not None:
        resolution = round((solved - created).total_seconds() / 60.0, 2)
    reopens = cells.number("reopens")
    custom: dict[str, Any] = {
        "zendesk_type": cells.text("ticket type") or None,
        "first_reply_minutes": first_reply,
        "resolution_minutes": resolution,
        "reopens": int(reopens) if reopens is not None else None,
        "reassignments": reassign,
        "replies": _opt_int(cells.number("replies")),
    }
    return _ticket(
        cells, helpdesk="zendesk", tenant=tenant, ticket_id=ticket_id, created=created,
        updated=updated, status=status, requester=Person(
            id=requester_id, email=email, name=cells.text("requester") or None),
        priority=_choice(cells, "priority", PRIORITIES, "Priority", default=Priority.NORMAL),
        channel=_channel(cells, "via"), tags=_tags(cells.text("tags")),
        group=cells.text("group") or None, assignee=cells.text("assignee") or None,
        csat=_csat(cells, "satisfaction score"), custom=custom, fields=fields,
        account=orgs.find(cells.text("organization"), email)
        or _bare_account(cells.text("organization")),
    )


def _freshdesk_row(
    cells: _Cells, *, tenant: str, settings: AuditSettings, orgs: Organizations,
    fields: Mapping[str, str],
) -> Ticket:
    ticket_id = _ticket_id(cells.text("ticket id"), "Ticket ID")
    zone = settings.export_zone
    created = cells.time("created time", zone)
    if created is None:
        raise _RowError("Created time", "is empty")
    resolved = cells.time("resolved time", zone) or cells.time("closed time", zone)
    updated = cells.time("last update time", zone) or max(created, resolved or created)
    status_text = cells.text("status").lower()
    status = FRESHDESK_STATUSES.get(status_text)
    if status is None:
        # Custom statuses are the account's own; one still being worked on counts as open.
        if status_text:
            cells.note(f"Status: {cells.text('status')!r} read as open")
        status = Status.OPEN
    first_hours = cells.hours("first response time (in hrs)")
    first_reply = first_hours * 60.0 if first_hours is not None else None
    if first_reply is None:
        replied = cells.time("initial response time", zone)
        if replied is not None:
            first_reply = (replied - created).total_seconds() / 60.0
    resolution_hours = cells.hours("resolution time (in hrs)")
    resolution = resolution_hours * 60.0 if resolution_hours is not None else None
    if resolution is None and resolved is not None:
        resolution = (resolved - created).total_seconds() / 60.0
    email = cells.text("email") or None
    requester_id = cells.text("contact id") or email or cells.text("full name") or "unknown"
    tracked = cells.hours("time tracked")
    custom: dict[str, Any] = {
        "freshdesk_type": cells.text("type") or None,
        "first_reply_minutes": round(first_reply, 2) if first_reply is not None else None,
        "resolution_minutes": round(resolution, 2) if resolution is not None else None,
        "sla_breached": _sla_status(cells),
        "hours_spent": round(tracked, 3) if tracked is not None else None,
        "replies": _opt_int(cells.number("agent interactions")),
    }
    return _ticket(
        cells, helpdesk="freshdesk", tenant=tenant, ticket_id=ticket_id, created=created,
        updated=updated, status=status, requester=Person(
            id=requester_id, email=email, name=cells.text("full name") or None),
        priority=_choice(cells, "priority", PRIORITIES, "Priority", default=Priority.NORMAL),
        channel=_channel(cells, "source"), tags=_tags(cells.text("tags")),
        group=cells.text("group") or None, assignee=cells.text("agent") or None,
        csat=_csat(cells, "survey results"), custom=custom, fields=fields,
        account=orgs.find(cells.text("company name"), email)
        or _bare_account(cells.text("company name")),
    )


def _ticket(
    cells: _Cells, *, helpdesk: str, tenant: str, ticket_id: str, created: datetime,
    updated: datetime, status: Status, requester: Person, priority: Priority, channel: Channel,
    tags: tuple[str, ...], group: str | None, assignee: str | None, csat: float | None,
    custom: dict[str, Any], fields: Mapping[str, str], account: Account | None,
) -> Ticket:
    description = cells.text("description")
    messages = (
        (Message(id=f"{ticket_id}-d", author=Author.CUSTOMER, body=description,
                 created_at=created),) if description else ()
    )
    if fields:
        custom["fields"] = {k: v.strip() for k, v in fields.items() if v.strip()}
        initial = custom["fields"].get("Initial priority") or custom["fields"].get(
            "initial priority")
        if initial:
            custom["initial_priority"] = PRIORITIES.get(initial.lower(), Priority.NORMAL).value
    return Ticket(
        tenant=tenant, helpdesk=helpdesk, id=ticket_id, subject=cells.text("subject"),
        status=status, priority=priority, channel=channel, created_at=created,
        updated_at=max(updated, created), requester=requester, messages=messages,
        account=account, tags=tags, assignee=assignee, group=group, csat=csat,
        custom={k: v for k, v in custom.items() if v is not None},
    )


def parse_export_time(text: str, zone: tzinfo) -> datetime | None:
    """An export's timestamp (ISO 8601, ``YYYY-MM-DD HH:MM[:SS][ +HHMM|UTC]``) in UTC.

    One without a zone is read in ``zone``, the helpdesk account's time zone.
    """
    value = text.strip()
    offset = None
    match = _ZONE_SUFFIX.match(value)
    if match:
        value = match.group(1)
        offset = "+00:00" if match.group(4) else f"{match.group(2)}:{match.group(3)}"
    try:
        parsed = datetime.fromisoformat(value + (offset or ""))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def _reader(stream: IO[str]) -> Any:
    csv.field_size_limit(_FIELD_LIMIT)
    return csv.reader(stream)


def _header(reader: Any, name: str) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise ExportError(name, 1, "header", "the file is empty") from None
    except csv.Error as err:
        raise ExportError(name, 1, "header", f"not CSV: {err}") from err
    header = [h.lstrip("\ufeff").strip() for h in header]
    if not any(header):
        raise ExportError(name, 1, "header", "the first line names no columns")
    return header


def _find(header: Sequence[str], aliases: Sequence[str]) -> int | None:
    names = [_norm(h) for h in header]
    for alias in aliases:
        if alias in names:
            return names.index(alias)
    return None


def _norm(header: str) -> str:
    return " ".join(header.strip().lower().split())


def _field_name(header: str) -> str:
    return _CUSTOM_SUFFIX.sub("", header).strip()


def _title(column: str) -> str:
    return column[:1].upper() + column[1:]


def _wanted_fields(settings: AuditSettings) -> set[str]:
    wanted = {"initial priority"}
    if settings.label.kind == "field":
        wanted.add(_field_name(settings.label.name).lower())
    if settings.escalation.field:
        wanted.add(_field_name(settings.escalation.field).lower())
    return wanted


def _ticket_id(value: str, column: str) -> str:
    if not value:
        raise _RowError(column, "is empty")
    if not re.fullmatch(r"[A-Za-z0-9_.:#-]{1,64}", value):
        raise _RowError(column, f"not a ticket id: {value[:40]!r}")
    return value.lstrip("#")


def _choice(
    cells: _Cells, column: str, values: Mapping[str, Any], title: str, *, default: Any
) -> Any:
    text = cells.text(column)
    if not text:
        return default
    found = values.get(text.lower())
    if found is None:
        raise _RowError(title, f"unknown value {text!r} (one of: {', '.join(sorted(values))})")
    return found


def _channel(cells: _Cells, column: str) -> Channel:
    text = cells.text(column)
    if not text:
        return Channel.OTHER
    found = CHANNELS.get(text.lower())
    if found is None:
        cells.note(f"{_title(column)}: {text!r} read as other")
        return Channel.OTHER
    return found


def _csat(cells: _Cells, column: str) -> float | None:
    text = cells.text(column)
    if not text:
        return None
    key = text.lower()
    if key in CSAT_LABELS:
        return CSAT_LABELS[key]
    if key.startswith("good"):  # "Good with comment"
        return 1.0
    if key.startswith("bad"):
        return 0.0
    cells.note(f"{_title(column)}: {text!r} not understood, read as not rated")
    return None


def _sla_status(cells: _Cells) -> bool | None:
    seen = [cells.text(c).lower() for c in
            ("first response status", "every response status", "resolution status")]
    if any(s in _SLA_VIOLATED for s in seen):
        return True
    if any(s in _SLA_MET for s in seen):
        return False
    return None


def _tags(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for t in re.split(r"[,\s]+", text) if t))


def _opt_int(value: float | None) -> int | None:
    return int(value) if value is not None else None


def _bare_account(name: str) -> Account | None:
    # An organization the organizations file does not know: a name, nothing else known.
    return Account(id=name, name=name) if name else None
