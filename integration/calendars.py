"""Business-hours calendars, due-time maths and iCal holidays. Pure; no I/O besides tz data.

A ``Calendar`` is a time zone, opening intervals per weekday and holidays. Intervals are
local wall-clock times; several per day (a lunch break) and overnight shifts such as
``22:00-06:00`` are allowed. An overnight interval belongs to the day it starts on: a holiday
closes the shifts that *start* that day, not the tail of the previous night's shift.

Durations are elapsed business time, measured in real (UTC) seconds, so an interval that
spans a DST change is one hour shorter or longer than its wall-clock length.

``parse_ical_holidays`` reads the holidays of an iCalendar (RFC 5545) file: all-day or
timed events, multi-day events and yearly recurrences.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "ICAL_RECURRENCE_YEARS",
    "WEEKDAYS",
    "Calendar",
    "Interval",
    "add_business_time",
    "business_time_between",
    "format_duration",
    "format_local",
    "zone_label",
    "parse_duration",
    "parse_ical_holidays",
    "parse_interval",
    "parse_weekdays",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")
_CLOCK = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})$")
# Searching further than this for the next open minute means the calendar is effectively
# closed (e.g. every day a holiday); fail loudly instead of looping.
_MAX_DAYS = 3 * 366
# Days of open periods a calendar remembers (about ten years' worth).
_DAY_CACHE = 4000


def parse_duration(text: str) -> timedelta:
    """Parse ``30m``, ``4h``, ``2d`` or combinations like ``1h30m``; ``ValueError`` if bad."""
    value = text.strip() if isinstance(text, str) else ""
    match = _DURATION.match(value)
    if not value or match is None:
        raise ValueError(f"invalid duration {text!r} (use e.g. 30m, 4h, 2d, 1h30m)")
    parts = {k: int(v) for k, v in match.groupdict(default="0").items()}
    return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"])


def format_duration(value: timedelta) -> str:
    """Format a duration the way ``parse_duration`` reads it (``1h30m``)."""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    out = (
        (f"{days}d" if days else "") + (f"{hours}h" if hours else "") + (f"{mins}m" if mins else "")
    )
    return out or "0m"


def zone_label(value: datetime) -> str:
    """The zone's short name at ``value`` (``CET``), or its IANA name where it has none."""
    abbreviation = value.tzname() or ""
    key = getattr(value.tzinfo, "key", None)
    # Many zones have only numeric abbreviations ("-03"); their IANA name says more.
    if key and (not abbreviation or abbreviation[0] in "+-"):
        return str(key)
    return abbreviation or "UTC"


def format_local(value: datetime, zone: tzinfo, *, long: bool = False) -> str:
    """A due time as people read it: ``Mon 7 Dec 14:05 CET`` in ``zone`` (the one display rule).

    ``long`` spells it out with the year (``Monday 7 December 2026, 14:05 CET``) for notes and
    messages, which are read long after they are written.
    """
    local = _aware(value).astimezone(zone)
    if long:
        return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M} {zone_label(local)}"
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M} {zone_label(local)}"


def _parse_clock(text: str, *, allow_24: bool) -> time | None:
    """Parse ``HH:MM``; ``None`` stands for ``24:00`` (end of day)."""
    match = _CLOCK.match(text)
    if match is None:
        raise ValueError(f"invalid time {text!r} (use HH:MM)")
    hour, minute = int(match["h"]), int(match["m"])
    if allow_24 and hour == 24 and minute == 0:
        return None
    if hour > 23 or minute > 59:
        raise ValueError(f"invalid time {text!r}")
    return time(hour, minute)


@dataclass(frozen=True, kw_only=True, slots=True)
class Interval:
    """Open from ``start`` to ``end`` local time; ``end <= start`` runs past midnight."""

    start: time
    end: time | None  # None: midnight at the end of the day ("24:00")

    def __reduce__(self) -> tuple[object, tuple[time, time | None]]:
        # Compiled, the default pickling calls __init__ without its keyword arguments.
        return _interval, (self.start, self.end)

    @property
    def overnight(self) -> bool:
        """True when the interval ends on the following day."""
        return self.end is not None and self.end <= self.start

    def __str__(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"


def _interval(start: time, end: time | None) -> Interval:
    return Interval(start=start, end=end)


def parse_interval(text: str) -> Interval:
    """Parse ``"09:00-12:30"``, ``"22:00-06:00"`` (overnight) or ``"00:00-24:00"``."""
    if not isinstance(text, str) or text.count("-") != 1:
        raise ValueError(f"invalid interval {text!r} (use HH:MM-HH:MM)")
    left, right = (p.strip() for p in text.split("-"))
    try:
        start = _parse_clock(left, allow_24=False)
        end = _parse_clock(right, allow_24=True)
    except ValueError as err:
        raise ValueError(f"invalid interval {text!r}: {err}") from err
    assert start is not None
    if end == start:
        raise ValueError(f"invalid interval {text!r}: empty (use 00:00-24:00 for all day)")
    return Interval(start=start, end=end)


def parse_weekdays(text: str) -> tuple[int, ...]:
    """Parse ``mon``, ``mon-fri``, ``sat,sun`` or ``daily`` into weekday numbers (Mon = 0)."""
    key = text.strip().lower() if isinstance(text, str) else ""
    if key in ("daily", "every day", "mon-sun"):
        return tuple(range(7))
    days: list[int] = []
    for part in (p.strip() for p in key.split(",")):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"invalid weekdays {text!r} (use mon..sun, mon-fri, sat,sun)")
        lo = WEEKDAYS.index(first)
        hi = WEEKDAYS.index(last) if last else lo
        if hi < lo:
            raise ValueError(f"invalid weekdays {text!r}: {first}-{last} runs backwards")
        days.extend(range(lo, hi + 1))
    return tuple(days)


@dataclass(frozen=True, kw_only=True, slots=True)
class Calendar:
    """Business hours: a time zone, intervals per weekday (Mon = 0) and holidays."""

    timezone: str
    intervals: Mapping[int, tuple[Interval, ...]]
    holidays: frozenset[date] = frozenset()
    name: str = ""
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    # Each day's open periods, computed once: every clock of every ticket walks the same days.
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        init=False, repr=False, compare=False
    )
    # Open time before each day, from an anchor day: the time between two instants is a
    # difference of two sums, whatever the ticket's age (see ``open_before``).
    _sums: _DaySums = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {self.timezone!r}") from err
        if not any(self.intervals.get(d) for d in range(7)):
            raise ValueError("calendar has no opening hours")
        for day in range(7):
            today, tomorrow = self.intervals.get(day, ()), self.intervals.get((day + 1) % 7, ())
            last = today[-1] if today else None
            if last and last.overnight and tomorrow:
                assert last.end is not None
                if last.end > tomorrow[0].start:
                    raise ValueError(
                        f"overnight interval {last} on {WEEKDAYS[day]} overlaps {tomorrow[0]} "
                        f"on {WEEKDAYS[(day + 1) % 7]}"
                    )
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_days", {})
        object.__setattr__(self, "_sums", _DaySums())

    def __reduce__(self) -> tuple[object, tuple[str, dict[int, tuple[Interval, ...]],
                                                frozenset[date], str]]:
        # Sent to another process (the audit's readers): rebuilt there with empty tables.
        return _calendar, (self.timezone, dict(self.intervals), self.holidays, self.name)

    @classmethod
    def build(
        cls,
        *,
        timezone: str,
        hours: Mapping[str, Iterable[str]],
        holidays: Iterable[str | date] = (),
        name: str = "",
    ) -> Calendar:
        """Build from strings: ``hours={"mon-fri": ["09:00-12:30", "13:30-18:00"]}``."""
        per_day: dict[int, list[Interval]] = {}
        for days, specs in hours.items():
            parsed = [parse_interval(s) for s in specs]
            for day in parse_weekdays(days):
                if day in per_day:
                    raise ValueError(f"{WEEKDAYS[day]} is given twice in {list(hours)}")
                per_day[day] = parsed
        return cls(
            timezone=timezone,
            intervals={d: _sorted_disjoint(WEEKDAYS[d], v) for d, v in per_day.items()},
            holidays=frozenset(
                h if isinstance(h, date) else date.fromisoformat(h) for h in holidays
            ),
            name=name,
        )

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return self._zone

    def open_periods(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Yield open periods (UTC) that end after ``start``, clipped to begin at ``start``."""
        start = _aware(start).astimezone(UTC)
        day = start.astimezone(self._zone).date() - timedelta(days=1)  # last night's shift
        for _ in range(_MAX_DAYS):
            for begin, end in self._day_periods(day):
                if end > start:
                    yield max(begin, start), end
            day += timedelta(days=1)
        raise ValueError(f"calendar {self.name or self.timezone} has no open time ahead")

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` falls inside business hours."""
        at = _aware(at).astimezone(UTC)
        for begin, _end in self.open_periods(at):
            return begin == at
        return False  # pragma: no cover - open_periods raises instead

    def open_before(self, at: datetime) -> timedelta:
        """Open time from the calendar's anchor day up to ``at`` (negative before it).

        Only differences of two values mean anything. A day's periods end at the latest the
        next day, so every period of a day before yesterday ended before ``at``: their sum
        comes from the cumulative table, and only yesterday's and today's are clipped.
        """
        at = _aware(at).astimezone(UTC)
        yesterday = at.astimezone(self._zone).date() - timedelta(days=1)
        total = self._sums.before(yesterday, self._day_length)
        for day in (yesterday, yesterday + timedelta(days=1)):
            for begin, end in self._day_periods(day):
                if begin < at:
                    total += min(end, at) - begin
        return total

    def _day_length(self, day: date) -> timedelta:
        return sum((end - begin for begin, end in self._day_periods(day)), timedelta(0))

    def _day_periods(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        found = self._days.get(day)
        if found is None:
            if len(self._days) > _DAY_CACHE:
                self._days.clear()
            found = self._days[day] = tuple(self._compute_day(day))
        return found

    def _compute_day(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        out = []
        for interval in self.intervals.get(day.weekday(), ()):
            begin = self._instant(day, interval.start)
            if interval.end is None:
                end = self._instant(day + timedelta(days=1), time(0))
            elif interval.overnight:
                end = self._instant(day + timedelta(days=1), interval.end)
            else:
                end = self._instant(day, interval.end)
            if end > begin:
                out.append((begin, end))
        return out

    def _instant(self, day: date, clock: time) -> datetime:
        # A wall time inside a spring-forward gap resolves with the pre-transition offset,
        # i.e. to the first valid instant after the gap; fold=0 picks the earlier of two
        # ambiguous autumn instants, which keeps interval ends monotonic.
        return datetime.combine(day, clock, tzinfo=self._zone).astimezone(UTC)


def _calendar(timezone: str, intervals: dict[int, tuple[Interval, ...]],
              holidays: frozenset[date], name: str) -> Calendar:
    return Calendar(timezone=timezone, intervals=intervals, holidays=holidays, name=name)


def _sorted_disjoint(day: str, intervals: list[Interval]) -> tuple[Interval, ...]:
    ordered = sorted(intervals, key=lambda i: i.start)
    for prev, nxt in zip(ordered, ordered[1:], strict=False):
        if prev.overnight or prev.end is None or prev.end > nxt.start:
            raise ValueError(f"intervals {prev} and {nxt} on {day} overlap")
    return tuple(ordered)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} (SLA maths needs a time zone)")
    return value


def add_business_time(start: datetime, duration: timedelta, calendar: Calendar | None) -> datetime:
    """The instant ``duration`` of open time after ``start``; ``calendar=None`` means 24/7."""
    _aware(start)
    if duration < timedelta(0):
        raise ValueError(f"negative duration {duration}")
    if calendar is None:
        return (start + duration).astimezone(UTC)
    remaining = duration
    for begin, end in calendar.open_periods(start):
        span = end - begin
        if remaining <= span:
            return begin + remaining
        remaining -= span
    raise AssertionError("unreachable: open_periods raises when the calendar runs out")


def business_time_between(start: datetime, end: datetime, calendar: Calendar | None) -> timedelta:
    """Open time elapsed from ``start`` to ``end`` (zero when ``end`` is not later)."""
    start, end = _aware(start).astimezone(UTC), _aware(end).astimezone(UTC)
    if end <= start:
        return timedelta(0)
    if calendar is None:
        return end - start
    return calendar.open_before(end) - calendar.open_before(start)


class _DaySums:
    """Open time of the days between an anchor day (the first one asked for) and any other.

    Two tables grow on demand, one forward and one backward from the anchor, so a value once
    given never changes: differences stay exact however the tables grow, in any thread order.
    """

    __slots__ = ("_ahead", "_anchor", "_behind", "_lock")

    def __init__(self) -> None:
        # One matrix (and its calendars) serves every worker thread; growing is not atomic.
        self._lock = threading.Lock()
        self._anchor: date | None = None
        self._ahead: list[timedelta] = [timedelta(0)]  # [i]: days anchor .. anchor + i
        self._behind: list[timedelta] = [timedelta(0)]  # [i]: days anchor - i .. anchor

    def __reduce__(self) -> tuple[type[_DaySums], tuple[()]]:
        # A calendar sent to another process (the audit's reading workers) starts its own
        # tables there; a lock cannot travel.
        return (_DaySums, ())

    def before(self, day: date, length: Callable[[date], timedelta]) -> timedelta:
        """Open time from the anchor day up to ``day`` (negative before the anchor)."""
        with self._lock:
            if self._anchor is None:
                self._anchor = day
            index = (day - self._anchor).days
            if index >= 0:
                while len(self._ahead) <= index:
                    grown = self._anchor + timedelta(days=len(self._ahead) - 1)
                    self._ahead.append(self._ahead[-1] + length(grown))
                return self._ahead[index]
            while len(self._behind) <= -index:
                grown = self._anchor - timedelta(days=len(self._behind))
                self._behind.append(self._behind[-1] + length(grown))
            return -self._behind[-index]


# --- iCalendar holidays -------------------------------------------------------------------

# A yearly event is expanded from its own year through this many years later: holiday feeds
# are re-imported with the matrix, so a bounded horizon is enough and keeps the set finite.
ICAL_RECURRENCE_YEARS = 5

_ICAL_LINE = re.compile(
    r'^(?P<name>[A-Za-z0-9-]+)(?P<params>(?:;[A-Za-z0-9-]+=(?:"[^"]*"|[^";:,]*)'
    r'(?:,(?:"[^"]*"|[^";:,]*))*)*):(?P<value>.*)$'
)
_ICAL_PARAM = re.compile(r';([A-Za-z0-9-]+)=((?:"[^"]*"|[^";:,]*)(?:,(?:"[^"]*"|[^";:,]*))*)')
_ICAL_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?$")
_ICAL_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
_EVENT_PROPERTIES = ("DTSTART", "DTEND", "DURATION", "RRULE", "STATUS")
_RRULE_LIMITS = ("INTERVAL", "COUNT", "UNTIL")


@dataclass(frozen=True, kw_only=True, slots=True)
class _Property:
    name: str
    params: Mapping[str, str]
    value: str
    where: str  # "source:line" of the property's first physical line


def parse_ical_holidays(text: str, *, source: str = "<ical>") -> frozenset[date]:
    """The dates covered by the VEVENTs of an iCalendar file; ``ValueError`` names the line.

    All-day (``DTSTART;VALUE=DATE``) and timed events count by their literal date (no time
    zone conversion); ``DTEND`` is exclusive, ``DURATION`` works too; ``RRULE`` may only be
    ``FREQ=YEARLY`` (optionally with ``INTERVAL``, ``COUNT``, ``UNTIL``) and is expanded for
    ``ICAL_RECURRENCE_YEARS`` years; ``EXDATE`` removes occurrences; cancelled events are
    skipped.
    """
    holidays: set[date] = set()
    event: dict[str, _Property] | None = None
    exdates: list[_Property] = []
    nested = 0  # depth of components inside the event (VALARM), whose properties are not ours
    opened = ""
    for prop in _ical_properties(text, source):
        if prop.name == "BEGIN":
            if event is not None:
                nested += 1
            elif prop.value.upper() == "VEVENT":
                event, exdates, opened = {}, [], prop.where
        elif prop.name == "END":
            if nested:
                nested -= 1
            elif prop.value.upper() == "VEVENT":
                if event is None:
                    raise ValueError(f"{prop.where}: END:VEVENT without BEGIN:VEVENT")
                holidays |= _event_dates(event, exdates, opened)
                event = None
        elif event is not None and not nested:
            if prop.name == "EXDATE":
                exdates.append(prop)
            elif prop.name in _EVENT_PROPERTIES:
                if prop.name in event:
                    raise ValueError(f"{prop.where}: {prop.name}: given twice in one VEVENT")
                event[prop.name] = prop
    if event is not None:
        raise ValueError(f"{opened}: BEGIN:VEVENT is never closed (missing END:VEVENT)")
    return frozenset(holidays)


def _ical_properties(text: str, source: str) -> Iterator[_Property]:
    logical: list[tuple[int, str]] = []
    # RFC 5545 3.1: a line starting with a space or tab continues the previous one.
    for number, raw in enumerate(re.split(r"\r\n|\n|\r", text), start=1):
        if raw[:1] in (" ", "\t"):
            if not logical:
                raise ValueError(f"{source}:{number}: continuation line before any property")
            first, content = logical[-1]
            logical[-1] = (first, content + raw[1:])
        elif raw.strip():
            logical.append((number, raw))
    for number, content in logical:
        match = _ICAL_LINE.match(content)
        if match is None:
            raise ValueError(f"{source}:{number}: not an iCalendar property: {content[:60]!r}")
        params = {k.upper(): v.strip('"') for k, v in _ICAL_PARAM.findall(match["params"])}
        yield _Property(
            name=match["name"].upper(),
            params=params,
            value=match["value"].strip(),
            where=f"{source}:{number}",
        )


def _ical_instant(prop: _Property, value: str | None = None) -> tuple[datetime, bool]:
    """A DATE or DATE-TIME value as a naive local datetime, and whether it was a DATE."""
    text = prop.value if value is None else value
    match = _ICAL_DATE.match(text)
    is_date = match is not None and match[4] is None
    if match is None or (prop.params.get("VALUE", "").upper() == "DATE" and not is_date):
        raise ValueError(f"{prop.where}: {prop.name}: invalid date {text!r} (use 20261225)")
    try:
        y, mo, d, h, mi, sec = (int(p) for p in match.groups(default="0"))
        return datetime(y, mo, d, h, mi, sec), is_date
    except ValueError as err:
        raise ValueError(f"{prop.where}: {prop.name}: invalid date {text!r}: {err}") from err


def _event_dates(
    event: Mapping[str, _Property], exdates: list[_Property], opened: str
) -> set[date]:
    status = event.get("STATUS")
    if status is not None and status.value.upper() == "CANCELLED":
        return set()
    if "DTSTART" not in event:
        raise ValueError(f"{opened}: VEVENT has no DTSTART")
    start_prop = event["DTSTART"]
    start, is_date = _ical_instant(start_prop)
    if "DTEND" in event and "DURATION" in event:
        raise ValueError(f"{event['DURATION'].where}: DURATION: not allowed together with DTEND")
    end = start + timedelta(days=1) if is_date else start
    if "DTEND" in event:
        end, _ = _ical_instant(event["DTEND"])
    elif "DURATION" in event:
        end = start + _ical_duration(event["DURATION"])
    if end < start or (end == start and is_date):
        where = (event.get("DTEND") or event["DURATION"]).where
        raise ValueError(f"{where}: event ends before it starts (DTEND is exclusive)")
    # An end at midnight is exclusive; a timed event always covers the day it starts on.
    last = max((end - timedelta(microseconds=1)).date(), start.date())
    length = (last - start.date()).days + 1
    firsts = [start.date()]
    if "RRULE" in event:
        firsts = _yearly(event["RRULE"], start)
    excluded = {
        _ical_instant(p, v)[0].date() for p in exdates for v in p.value.split(",") if v.strip()
    }
    return {
        first + timedelta(days=offset)
        for first in firsts
        if first not in excluded
        for offset in range(length)
    }


def _ical_duration(prop: _Property) -> timedelta:
    match = _ICAL_DURATION.match(prop.value)
    if match is None or prop.value in ("P", "PT") or prop.value.endswith("T"):
        raise ValueError(f"{prop.where}: DURATION: invalid duration {prop.value!r} (e.g. P1D)")
    n = {k: int(v) for k, v in match.groupdict(default="0").items()}
    return timedelta(weeks=n["w"], days=n["d"], hours=n["h"], minutes=n["m"], seconds=n["s"])


def _yearly(prop: _Property, start: datetime) -> list[date]:
    parts: dict[str, str] = {}
    for item in prop.value.split(";"):
        key, sep, value = item.partition("=")
        if not sep or key.upper() in parts:
            raise ValueError(f"{prop.where}: RRULE: malformed rule {prop.value!r}")
        parts[key.upper()] = value
    if parts.pop("FREQ", "").upper() != "YEARLY":
        raise ValueError(f"{prop.where}: RRULE: only FREQ=YEARLY is supported, got {prop.value!r}")
    unsupported = sorted(set(parts) - set(_RRULE_LIMITS))
    if unsupported:
        raise ValueError(
            f"{prop.where}: RRULE: unsupported {', '.join(unsupported)} "
            f"(only FREQ=YEARLY with INTERVAL, COUNT or UNTIL)"
        )
    try:
        step = int(parts.get("INTERVAL", "1"))
        count = int(parts["COUNT"]) if "COUNT" in parts else None
    except ValueError as err:
        raise ValueError(f"{prop.where}: RRULE: INTERVAL and COUNT must be numbers") from err
    if step < 1 or (count is not None and count < 1):
        raise ValueError(f"{prop.where}: RRULE: INTERVAL and COUNT must be at least 1")
    until = None
    if "UNTIL" in parts:
        until, until_is_date = _ical_instant(prop, parts["UNTIL"])
        if until_is_date:  # a date UNTIL includes that whole day
            until += timedelta(days=1, microseconds=-1)
    out: list[date] = []
    for year in range(start.year, start.year + ICAL_RECURRENCE_YEARS + 1, step):
        try:
            occurrence = start.replace(year=year)
        except ValueError:
            continue  # 29 February in a common year: RFC 5545 skips it
        if (until is not None and occurrence > until) or (count is not None and len(out) >= count):
            break
        out.append(occurrence.date())
    return out
