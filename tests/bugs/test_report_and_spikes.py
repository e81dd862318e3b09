"""The drafted bug report (traceable to tickets, severity by impact) and spike detection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from integration.bugs.report import GroupTicket, draft_report, readable_error, severity_of
from integration.bugs.spikes import SpikeSettings, detect_spike, hourly_counts
from integration.models import (
    Account,
    Author,
    Channel,
    Message,
    Person,
    Priority,
    Status,
    Ticket,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday


def ticket(id: str, body: str, *, subject: str, at: datetime, account: Account | None,
           page: str | None = None) -> Ticket:
    return Ticket(
        tenant="acme", helpdesk="zendesk", id=id, subject=subject, status=Status.OPEN,
        priority=Priority.NORMAL, channel=Channel.EMAIL, created_at=at, updated_at=at,
        requester=Person(id=f"u{id}", email=f"u{id}@example.com", name=f"User {id}"),
        account=account, page_url=page,
        messages=(Message(id=f"{id}-1", author=Author.CUSTOMER, body=body, created_at=at),))


BIG = Account(id="a1", name="Northwind", plan="enterprise", arr=250_000)
SMALL = Account(id="a2", name="Tansy Bakery", plan="starter", arr=1_200)


def test_the_draft_quotes_customers_and_names_every_source() -> None:
    items = [
        GroupTicket(ticket=ticket("11", "Hi,\n1. Go to Reports\n2. Click Export CSV\n"
                                  "The export fails with HTTP 500 every time. We use Chrome 131 "
                                  "on Windows 11.\n> earlier mail: please ignore",
                                  subject="CSV export broken", at=T0, account=BIG,
                                  page="https://app.example.com/reports"),
                    tier=3, url="https://acme.zendesk.com/agent/tickets/11"),
        GroupTicket(ticket=ticket("12", "When I click export on the monthly report I get "
                                  "error 500.", subject="Export error",
                                  at=T0 + timedelta(days=1), account=SMALL), tier=2),
    ]
    draft = draft_report(items, fingerprint="esc-1")
    # What fails, the error as people write it, and how many accounts (not "http_500").
    assert draft.title == "CSV export broken with HTTP 500 (2 accounts)"
    assert draft.customers[0]["steps"][:2] == ["1. Go to Reports", "2. Click Export CSV"]
    assert draft.customers[1]["steps"] == [
        "When I click export on the monthly report I get error 500."]
    assert any(s.startswith("2. Click Export CSV") and s.endswith("(#11)") for s in draft.steps)
    assert any("When I click export" in s and s.endswith("(#12)") for s in draft.steps)
    assert draft.environment == ("We use Chrome 131 on Windows 11. (#11)",)
    assert draft.error_text is not None and draft.error_text.endswith("(#11)")
    assert draft.pages == ("https://app.example.com/reports (#11)",)
    assert [c["name"] for c in draft.customers] == ["Northwind", "Tansy Bakery"]
    assert draft.frequency == {"2026-11-23": 1, "2026-11-24": 1}
    assert draft.severity == "critical"
    assert draft.ticket_links == ("https://acme.zendesk.com/agent/tickets/11", "acme:zendesk:12")
    # Nothing invented: every step and environment line is a customer's sentence verbatim.
    bodies = " ".join(" ".join(m.body.split()) for i in items for m in i.ticket.messages)
    for line in (*draft.steps, *draft.environment, draft.error_text or ""):
        assert line.rsplit(" (#", 1)[0] in bodies
    assert "please ignore" not in str(draft.to_dict())


def test_the_title_names_the_readable_error_and_the_account_count() -> None:
    def checkout(n: int, account: Account) -> GroupTicket:
        return GroupTicket(ticket=ticket(
            str(n), "Checkout fails with error 500: payment provider timeout. Please help.",
            subject="Checkout fails", at=T0 + timedelta(minutes=n), account=account))

    accounts = [Account(id=f"a{n}", name=f"Shop {n}", plan="pro", arr=10_000) for n in range(4)]
    draft = draft_report([checkout(n, a) for n, a in enumerate(accounts)], fingerprint="esc-2")
    assert draft.title == "Checkout fails with HTTP 500 'payment provider timeout' (4 accounts)"
    assert "error HTTP 500 'payment provider timeout'" in draft.summary
    one = draft_report([checkout(0, accounts[0])], fingerprint="esc-2")
    assert one.title.endswith("(1 account)")


def test_readable_errors_keep_the_customers_own_words() -> None:
    assert readable_error("http_500", "Checkout fails with error 500: payment provider "
                                      "timeout.") == "HTTP 500 'payment provider timeout'"
    assert readable_error("http_503", 'We see "upstream connect error" (503)') == (
        "HTTP 503 'upstream connect error'")
    assert readable_error("exc:nullpointerexception", "java.lang.NullPointerException: "
                                                      "user was null") == (
        "NullPointerException 'user was null'")
    assert readable_error("http_500", "The export fails with HTTP 500 every time.") == "HTTP 500"


def test_severity_follows_customer_impact() -> None:
    assert severity_of([{"plan": "starter", "arr": 1200, "tier": 2}]) == "major"
    assert severity_of([{"plan": None, "arr": None, "tier": 1}]) == "minor"
    assert severity_of([{"plan": "pro", "arr": 60_000}, {"plan": "pro", "arr": 50_000}]) == (
        "critical")
    assert severity_of([{"plan": "enterprise", "arr": 0}]) == "critical"
    assert severity_of([{"arr": None}] * 3) == "major"


def test_a_spike_is_judged_against_the_same_hour_in_past_weeks() -> None:
    times = []
    for week in range(1, 5):  # Mondays 09:00 are busy every week: 8 tickets
        times += [T0 - timedelta(weeks=week, minutes=m) + timedelta(minutes=30)
                  for m in range(8)]
    counts = hourly_counts(times + [T0 + timedelta(minutes=m) for m in range(10)])
    assert detect_spike(counts, T0) is None  # 10 on a Monday morning that usually has 8
    quiet = T0 + timedelta(hours=5)  # 14:00 usually has none
    counts_quiet = hourly_counts(times + [quiet + timedelta(minutes=m) for m in range(10)])
    spike = detect_spike(counts_quiet, quiet)
    assert spike is not None and spike.count == 10
    assert "same hour over the past 4 weeks: 0, 0, 0, 0" in spike.reason


def test_a_few_tickets_are_never_a_spike() -> None:
    counts = hourly_counts([T0 + timedelta(minutes=m) for m in range(4)])
    assert detect_spike(counts, T0, SpikeSettings(min_count=5)) is None
    assert detect_spike(counts, T0, SpikeSettings(min_count=3)) is not None
