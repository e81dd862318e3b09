"""Repeat contacts, follow-ups over days, error keys, severity, quoted text and lemmas."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integration.detect import Detector, detect
from integration.detect.impact import error_keys
from integration.detect.text import clean_body, lemma_of
from integration.errors import ConfigurationError
from integration.models import Author, Status, Ticket

from .conftest import NOW, TRIGGERS, message, ticket

SSO = "Our SSO login fails for every user since this morning."


def _earlier(
    days: float,
    *,
    id: str,
    requester: str = "u1",
    status: Status = Status.OPEN,
    body: str = "SSO login is failing for our users",
    account: str | None = None,
    subject: str = "SSO login broken",
) -> Ticket:
    return ticket(
        body,
        subject=subject,
        id=id,
        requester=requester,
        status=status,
        created_at=NOW - timedelta(days=days),
        account=account,
    )


def test_third_contact_on_same_issue_counts_three(detector: Detector) -> None:
    history = [_earlier(5, id="1"), _earlier(2, id="2", status=Status.SOLVED)]
    signals = detector.detect(ticket(SSO, subject="Login broken again", id="3"), history)
    assert signals.repeat_contacts == 3
    assert any(e.kind == "repeat_contact" and "#1, #2" in e.text for e in signals.evidence)


def test_other_requester_and_other_tenant_do_not_count(detector: Detector) -> None:
    history = [_earlier(1, id="1", requester="someone-else"), _earlier(1, id="2", requester="x")]
    assert detector.detect(ticket(SSO, id="3"), history).repeat_contacts == 1


def test_same_account_counts_even_from_another_person(detector: Detector) -> None:
    history = [_earlier(1, id="1", requester="colleague", account="acc-1")]
    signals = detector.detect(ticket(SSO, id="3", account="acc-1"), history)
    assert signals.repeat_contacts == 2


def test_solved_long_ago_and_other_issues_do_not_count(detector: Detector) -> None:
    history = [
        _earlier(60, id="1", status=Status.SOLVED),
        _earlier(
            3, id="2", body="Please send me last month's invoice as PDF", subject="Invoice copy"
        ),
        ticket(SSO, id="3"),  # the ticket itself
    ]
    assert detector.detect(ticket(SSO, id="3"), history).repeat_contacts == 1


def test_old_ticket_still_open_counts(detector: Detector) -> None:
    history = [_earlier(60, id="1", status=Status.PENDING)]
    assert detector.detect(ticket(SSO, id="3"), history).repeat_contacts == 2


def test_messages_over_days_without_a_fix_count_as_repeat(detector: Detector) -> None:
    msgs = [
        message("Export fails.", id="c1", at=NOW),
        message("Any update?", id="c2", at=NOW + timedelta(days=1)),
        message("Still failing.", id="c3", at=NOW + timedelta(days=2)),
    ]
    signals = detector.detect(ticket(messages=msgs))
    assert signals.customer_message_count == 3
    assert signals.repeat_contacts == 3
    fixed = [
        *msgs,
        message(
            "We deployed a fix, it should work now.",
            id="a1",
            author=Author.AGENT,
            at=NOW + timedelta(days=2, hours=1),
        ),
    ]
    assert detector.detect(ticket(messages=fixed)).repeat_contacts == 1
    same_day = [message(f"ping {i}", id=f"c{i}", at=NOW + timedelta(hours=i)) for i in range(4)]
    signals = detector.detect(ticket(messages=same_day))
    assert (signals.customer_message_count, signals.repeat_contacts) == (4, 1)


@pytest.mark.parametrize(
    ("text", "contact"),
    [
        ("Gift card balances wrong - 3rd time asking", 3),
        ("Third time of asking. The invoice still shows the old address.", 3),
        ("This is my third message about PX-20418. Three weeks and not a word.", 3),
        ("I have emailed you three times already and nobody replied.", 4),
        ("My account got suspended. Appealed twice through the form, zero response.", 3),
        # Not a contact, or not one that happened.
        ("For the third time this month the export failed.", 1),
        ("Please send the third reminder to our customers.", 1),
        ("I don't want to have to write a third time.", 1),
        ("The third API call fails with a 500.", 1),
    ],
)
def test_a_customer_who_says_how_often_they_asked_is_a_repeat_contact(
    detector: Detector, text: str, contact: int
) -> None:
    signals = detector.detect(ticket(text))
    assert signals.repeat_contacts == contact
    said = [e.text for e in signals.evidence if e.kind == "repeat_contact"]
    assert bool(said) is (contact > 1) and all("the customer says" in t for t in said)


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("We get HTTP 500 on every call", ("http_500",)),
        ("500 Internal Server Error when saving", ("http_500",)),
        ("The page shows Internal Server Error", ("http_500",)),
        ("error 502 again", ("http_502",)),
        ("We have 500 users and 404 seats", ()),
        ("java.lang.NullPointerException at Foo.bar", ("exc:nullpointerexception",)),
        ("TypeError: undefined is not a function", ("exc:typeerror",)),
        ("Import stops with ERR-1234", ("code:err_1234",)),
        ("import stops with err_1234", ("code:err_1234",)),
        ("error code: E4021 shown", ("code:e4021",)),
    ],
)
def test_error_key_normalization(text: str, keys: tuple[str, ...]) -> None:
    assert error_keys([text]) == keys


def test_same_error_from_two_customers_gives_same_key(detector: Detector) -> None:
    a = detector.detect(ticket("Getting a 503 Service Unavailable on the dashboard"))
    b = detector.detect(ticket("dashboard returns 503 since noon"))
    assert a.error_keys == b.error_keys == ("http_503",)


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("We lost all our data after the import.", "critical"),
        ("Production is down and blocked for our whole company.", "critical"),
        ("None of us can log in, all users are locked out.", "critical"),
        ("We cannot process payments since the update.", "critical"),
        ("Our account was hacked last night.", "critical"),
        ("The data loss from last month was fixed, thanks.", "normal"),
        ("This is urgent, the export is blocking our month-end close.", "high"),
        ("How do I rename a dashboard?", "normal"),
        # Data lost in a migration or upgrade, said without "data loss".
        ("Since the migration to the new platform on Sunday, every invoice before 2024 shows "
         "'attachment unavailable'.", "critical"),
        ("After the upgrade to 4.1 the site visit notes for the last three months are missing.",
         "critical"),
        ("After the upgrade the export button is missing from the toolbar.", "normal"),
        ("Before we migrate: will any records go missing?", "normal"),
        ("After the migration nothing is missing, all 4,000 records are there. Thanks!",
         "normal"),
        # Work that stops, said as the business sees it, and nothing where there should be
        # thousands: production blocked without the word.
        ("Our monthly billing run to 1,800 dealers is blocked until this works.", "critical"),
        ("Since this morning's release none of our 14 depots can close work orders.",
         "critical"),
        ("Audiologists cannot finish fittings without them, so we're turning patients away.",
         "critical"),
        ("Nightly import result: 0 of 38,206 readings accepted.", "critical"),
        ("The nightly backups in the admin panel have all been 0 bytes since 2 November.",
         "critical"),
        ("The release notes mention a blocked IP range.", "normal"),
        ("Our payroll run was blocked last week but your team fixed it, thanks.", "normal"),
        ("None of the options can be selected in the filter.", "normal"),
        ("We have 0 of 5 seats left on the plan.", "normal"),
    ],
)
def test_severity(detector: Detector, text: str, severity: str) -> None:
    signals = detector.detect(ticket(text))
    assert signals.severity == severity, signals.evidence


def test_clean_body_drops_quotes_and_signatures() -> None:
    body = "The sync is broken.\nPlease help.\n\nBest regards,\nDana Smith\nCTO, BigCo\n"
    assert clean_body(body) == "The sync is broken.\nPlease help.\n\nBest regards,"
    quoted = "Still broken!\n\nOn Mon, Nov 2, 2026 at 10:00 Support <s@x.io>\nwrote:\n> old"
    assert clean_body(quoted) == "Still broken!"
    assert clean_body("Hi\n> quoted line\nmore\n--\nsig\n") == "Hi\nmore"
    assert clean_body("Works now\n\nSent from my iPhone") == "Works now"


@pytest.mark.parametrize(
    ("word", "lemma"),
    [
        ("cancelled", "cancel"),
        ("Cancelling", "cancel"),
        ("REFUNDS", "refund"),
        ("sued", "sue"),
        ("suing", "sue"),
        ("lawyers", "lawyer"),
        ("webhooks", "webhook"),
        ("n't", "not"),
        ("DON'T", "not"),
    ],
)
def test_lemmas(word: str, lemma: str) -> None:
    assert lemma_of(word) == lemma


def test_detect_convenience_caches_per_trigger_set() -> None:
    a = detect(ticket("We will sue you"), triggers=TRIGGERS)
    assert a.trigger_ids == ("legal",)
    assert detect(ticket("our lawyer")).trigger_ids == ("legal",)  # built-in defaults


def test_negative_window_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        Detector(triggers=TRIGGERS, repeat_window_days=-1)


def test_previous_tickets_on_the_same_issue_include_solved_and_old_ones(
    detector: Detector,
) -> None:
    export = "The CSV export fails with error 500 every time we run the monthly report."
    old = ticket(export, id="1", account="acme-co", status=Status.SOLVED,
                 created_at=NOW - timedelta(days=90))
    other_issue = ticket("How do I invite a teammate to our workspace?", id="2",
                         account="acme-co", created_at=NOW - timedelta(days=5))
    stranger = ticket(export, id="3", requester="u9", account="other-co",
                      created_at=NOW - timedelta(days=3))
    new = ticket("CSV export fails again with error 500 on the monthly report.", id="4",
                 account="acme-co")
    detector.detect(new, [old, other_issue, stranger])
    found = detector.same_issue_tickets(new, [old, other_issue, stranger])
    assert [t.id for t in found] == ["1"]
