"""Holidays read from iCalendar files (RFC 5545): dates, ranges, folding, yearly rules."""

from __future__ import annotations

from datetime import date

import pytest

from integration.calendars import ICAL_RECURRENCE_YEARS, parse_ical_holidays


def ics(*events: str, newline: str = "\r\n") -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    for event in events:
        lines += ["BEGIN:VEVENT", *event.strip().splitlines(), "END:VEVENT"]
    return newline.join([*lines, "END:VCALENDAR", ""])


def test_all_day_events() -> None:
    text = ics(
        "UID:1\nSUMMARY:Christmas\nDTSTART;VALUE=DATE:20261225",
        "UID:2\nDTSTART;VALUE=DATE:20261226\nDTEND;VALUE=DATE:20261227",
    )
    assert parse_ical_holidays(text) == {date(2026, 12, 25), date(2026, 12, 26)}


def test_multi_day_event_end_is_exclusive() -> None:
    text = ics("DTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261227")
    assert parse_ical_holidays(text) == {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)}


def test_duration_instead_of_dtend() -> None:
    text = ics("DTSTART;VALUE=DATE:20261224\nDURATION:P2D")
    assert parse_ical_holidays(text) == {date(2026, 12, 24), date(2026, 12, 25)}


def test_date_time_forms_take_the_written_date() -> None:
    text = ics(
        "DTSTART:20260501T000000Z",
        "DTSTART;TZID=Europe/Berlin:20261003T080000\nDTEND;TZID=Europe/Berlin:20261003T170000",
        # Midnight to midnight covers one day; past midnight the next day counts too.
        "DTSTART:20261231T000000\nDTEND:20270101T000000",
        "DTSTART:20260814T220000\nDTEND:20260815T020000",
    )
    assert parse_ical_holidays(text) == {
        date(2026, 5, 1),
        date(2026, 10, 3),
        date(2026, 12, 31),
        date(2026, 8, 14),
        date(2026, 8, 15),
    }


def test_folded_lines_and_bare_newlines() -> None:
    text = (
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:A very long holiday name that a calendar\n"
        "  program folded\nDTSTART;VALUE=DA\n TE:2026\n\t1225\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    assert parse_ical_holidays(text) == {date(2026, 12, 25)}


def test_yearly_rule_is_expanded_over_a_bounded_range() -> None:
    text = ics("DTSTART;VALUE=DATE:20261225\nRRULE:FREQ=YEARLY")
    expected = {date(2026 + n, 12, 25) for n in range(ICAL_RECURRENCE_YEARS + 1)}
    assert parse_ical_holidays(text) == expected
    assert ICAL_RECURRENCE_YEARS == 5


def test_yearly_rule_limits_exceptions_and_leap_days() -> None:
    text = ics(
        "DTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261226\nRRULE:FREQ=YEARLY;COUNT=2",
        "DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY;UNTIL=20280101\nEXDATE;VALUE=DATE:20270101",
        "DTSTART;VALUE=DATE:20280229\nRRULE:FREQ=YEARLY;INTERVAL=2",
    )
    assert parse_ical_holidays(text) == {
        date(2026, 12, 24),
        date(2026, 12, 25),
        date(2027, 12, 24),
        date(2027, 12, 25),
        date(2026, 1, 1),
        date(2028, 1, 1),
        date(2028, 2, 29),
        date(2032, 2, 29),
    }


def test_a_date_until_includes_its_whole_day() -> None:
    text = ics("DTSTART:20260501T090000\nRRULE:FREQ=YEARLY;UNTIL=20280501")
    assert parse_ical_holidays(text) == {date(2026, 5, 1), date(2027, 5, 1), date(2028, 5, 1)}


def test_cancelled_events_and_alarms_are_ignored() -> None:
    text = ics(
        "DTSTART;VALUE=DATE:20261225\nSTATUS:CANCELLED",
        "DTSTART;VALUE=DATE:20261226\nBEGIN:VALARM\nTRIGGER:-PT15M\nDTSTART:20990101T000000\n"
        "END:VALARM",
    )
    assert parse_ical_holidays(text) == {date(2026, 12, 26)}


def test_an_empty_calendar_has_no_holidays() -> None:
    assert parse_ical_holidays(ics()) == frozenset()


@pytest.mark.parametrize(
    ("event", "where", "message"),
    [
        ("DTSTART;VALUE=DATE:20261225\nRRULE:FREQ=MONTHLY", "ics:6", "RRULE: only FREQ=YEARLY"),
        ("DTSTART;VALUE=DATE:20261126\nRRULE:FREQ=YEARLY;BYDAY=4TH", "ics:6", "unsupported BYDAY"),
        ("DTSTART;VALUE=DATE:20261225\nRRULE:FREQ=YEARLY;COUNT=x", "ics:6", "COUNT must be"),
        ("DTSTART;VALUE=DATE:2026-12-25", "ics:5", "DTSTART: invalid date"),
        ("DTSTART;VALUE=DATE:20261232", "ics:5", "DTSTART: invalid date"),
        ("DTSTART;VALUE=DATE:20261225T100000", "ics:5", "DTSTART: invalid date"),
        ("SUMMARY:no start", "ics:4", "no DTSTART"),
        ("DTSTART;VALUE=DATE:20261225\nDTEND;VALUE=DATE:20261225", "ics:6", "ends before"),
        ("DTSTART;VALUE=DATE:20261225\nDTSTART;VALUE=DATE:20261226", "ics:6", "given twice"),
        ("DTSTART;VALUE=DATE:20261225\nDURATION:1 day", "ics:6", "DURATION: invalid"),
        ("DTSTART;VALUE=DATE:20261225\nthis is not a property", "ics:6", "not an iCalendar"),
    ],
)
def test_errors_name_the_source_line_and_property(event: str, where: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_ical_holidays(ics(event), source="ics")
    assert str(caught.value).startswith(f"{where}: ")


def test_unclosed_event_names_where_it_began() -> None:
    text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261225\nEND:VCALENDAR\n"
    with pytest.raises(ValueError, match=r"^holidays\.ics:2: BEGIN:VEVENT is never closed"):
        parse_ical_holidays(text, source="holidays.ics")
