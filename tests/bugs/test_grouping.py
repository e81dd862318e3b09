"""BugGrouper: same problem together, different problems apart, bounded work per ticket."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from integration.bugs import BugGrouper, GroupingSettings
from integration.models import Ticket

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bugs"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fixture_tickets() -> dict[str, Ticket]:
    """The hand-written bug reports, by id."""
    lines = (FIXTURES / "reports.jsonl").read_text(encoding="utf-8").splitlines()
    tickets = [Ticket.from_dict(json.loads(line)) for line in lines]
    return {t.id: t for t in tickets}


def make(tid: str, subject: str, body: str, *, tenant: str = "acme", n: int = 0) -> Ticket:
    """A one-message customer ticket."""
    at = (START + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Ticket.from_dict({
        "tenant": tenant, "helpdesk": "zendesk", "id": tid, "subject": subject,
        "status": "open", "created_at": at, "updated_at": at, "requester": {"id": f"u{tid}"},
        "messages": [{"id": f"{tid}-1", "author": "customer", "body": body, "created_at": at}],
    })


def assign_all(grouper: BugGrouper, tickets: dict[str, Ticket]) -> dict[str, str]:
    """Group ids by ticket id, fed in created_at order."""
    ordered = sorted(tickets.values(), key=lambda t: t.created_at)
    return {t.id: grouper.add(t).group_id for t in ordered}


def test_same_exception_in_different_words_groups_across_helpdesks() -> None:
    tickets = fixture_tickets()
    grouper = BugGrouper()
    first = grouper.add(tickets["r1"])
    second = grouper.add(tickets["r2"])
    assert first.is_new and not second.is_new
    assert second.group_id == first.group_id
    assert tickets["r1"].helpdesk != tickets["r2"].helpdesk
    assert "error key frame:com.lumen.reports.exportjob.columns" in second.matched_on


def test_shared_identity_provider_code_groups_despite_little_shared_text() -> None:
    groups = assign_all(BugGrouper(), fixture_tickets())
    assert groups["r3"] == groups["r4"]


def test_different_errors_with_the_same_boilerplate_stay_apart() -> None:
    groups = assign_all(BugGrouper(), fixture_tickets())
    assert groups["r7"] != groups["r8"]


def test_text_only_duplicates_group_and_say_which_words() -> None:
    tickets = fixture_tickets()
    grouper = BugGrouper()
    grouper.add(tickets["r5"])
    found = grouper.add(tickets["r6"])
    assert not found.is_new
    assert found.matched_on.startswith("similar text: words ")
    assert "vat" in found.matched_on and found.score >= grouper.settings.threshold


def test_fixture_grouping_is_exactly_the_known_problems() -> None:
    groups = assign_all(BugGrouper(), fixture_tickets())
    by_group: dict[str, set[str]] = {}
    for tid, gid in groups.items():
        by_group.setdefault(gid, set()).add(tid)
    assert sorted(map(sorted, by_group.values())) == [
        ["r1", "r10", "r2"], ["r3", "r4"], ["r5", "r6"], ["r7"], ["r8"], ["r9"],
    ]


def test_unrelated_ticket_starts_a_new_group_and_explains_why() -> None:
    grouper = BugGrouper()
    grouper.add(make("a", "Invoice PDF shows wrong VAT", "VAT is computed before the discount."))
    found = grouper.add(make("b", "Webhook retries flood us", "Retries without backoff.", n=1))
    assert found.is_new and found.matched_on.startswith("new group")


def test_groups_never_span_tenants() -> None:
    grouper = BugGrouper()
    text = "The invoice PDF computes VAT before the discount is applied."
    a = grouper.add(make("a", "VAT wrong on invoice PDF", text, tenant="one"))
    b = grouper.add(make("b", "VAT wrong on invoice PDF", text, tenant="two", n=1))
    c = grouper.add(make("c", "VAT wrong on invoice PDF", text, tenant="one", n=2))
    assert a.group_id != b.group_id
    assert c.group_id == a.group_id


def test_adding_a_ticket_again_keeps_its_group() -> None:
    tickets = fixture_tickets()
    grouper = BugGrouper()
    first = grouper.add(tickets["r5"])
    grouper.add(tickets["r9"])
    again = grouper.add(tickets["r5"])
    assert again.group_id == first.group_id and not again.is_new
    assert grouper.members(first.group_id) == (tickets["r5"].key,)
    assert grouper.group_of(tickets["r5"].key) == first.group_id
    assert grouper.stats.tickets == 2


def test_grouping_is_deterministic() -> None:
    tickets = fixture_tickets()
    one, two = BugGrouper(), BugGrouper()
    ordered = sorted(tickets.values(), key=lambda t: t.created_at)
    assert [one.add(t) for t in ordered] == [two.add(t) for t in ordered]


def _noise_tickets(count: int) -> list[Ticket]:
    """Distinct problems that all share a few common words, so postings fill up."""
    rng = random.Random(3)
    vocab = [f"{a}{b}" for a in ("zor", "mel", "kap", "tri", "vun", "dax") for b in
             ("ine", "oto", "ure", "ask", "elm", "ond", "ipt", "ube")]
    out = []
    for n in range(count):
        words = " ".join(rng.sample(vocab, 6))
        out.append(make(f"n{n}", f"dashboard widget {words}",
                        f"The dashboard widget fails. {words} ERR-{1000 + n}", n=n))
    return out


def test_candidates_examined_per_ticket_stay_capped() -> None:
    settings = GroupingSettings(max_candidates=8, posting_cap=8)
    grouper = BugGrouper(settings)
    tickets = _noise_tickets(400)
    for ticket in tickets:
        grouper.add(ticket)
    stats = grouper.stats
    # Far more groups share "dashboard" and "widget" than the cap lets a ticket look at.
    assert stats.groups > 10 * settings.max_candidates
    assert 0 < stats.max_candidates_per_add <= settings.max_candidates
    assert stats.candidates_examined <= len(tickets) * settings.max_candidates
