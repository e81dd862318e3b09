"""BugGrouper: same problem together, different problems apart, bounded work per ticket."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy
import pytest

from integration.bugs import Assignment, BugGrouper, GroupingSettings
from integration.bugs.semantic import LshIndex, best_cosines
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
    cap = settings.max_candidates + settings.lsh_candidates
    # Far more groups share "dashboard" and "widget" than the cap lets a ticket look at.
    assert stats.groups > 10 * cap
    assert 0 < stats.max_candidates_per_add <= cap
    assert stats.candidates_examined <= len(tickets) * cap


def test_nearest_neighbour_candidates_stay_capped() -> None:
    settings = GroupingSettings(max_candidates=4, posting_cap=4, lsh_candidates=3, lsh_bits=4)
    grouper = BugGrouper(settings)
    for ticket in _noise_tickets(300):
        grouper.add(ticket)
    stats = grouper.stats
    # Few bits and many groups: every bucket is full, yet a ticket looks at 3 groups from them.
    assert stats.groups > 50
    assert stats.max_nearest_per_add == settings.lsh_candidates
    assert stats.max_candidates_per_add <= settings.max_candidates + settings.lsh_candidates


def test_lsh_buckets_keep_the_most_recent_groups_and_lookups_the_limit() -> None:
    rng = numpy.random.default_rng(5)
    index = LshIndex(dim=16, tables=2, bits=3, cap=4)
    vectors = rng.standard_normal((200, 16)).astype("float32")
    for group, vector in enumerate(vectors):
        index.add("acme", index.codes(vector), group)
    probe = index.codes(vectors[-1])
    found = index.lookup("acme", probe, limit=100)
    assert 199 in found and len(found) <= 2 * 4
    assert len(index.lookup("acme", probe, limit=3)) == 3
    assert index.lookup("other", probe, limit=3) == []
    assert LshIndex(dim=16, tables=2, bits=3, cap=4).codes(vectors[0]) == index.codes(vectors[0])


def test_best_cosines_measure_from_the_mean() -> None:
    rng = numpy.random.default_rng(2)
    blocks = [rng.standard_normal((n, 8)) for n in (1, 3, 2)]
    mean = rng.standard_normal(8) * 0.3
    target = rng.standard_normal(8)
    unit = (target - mean) / numpy.linalg.norm(target - mean)
    found = best_cosines([(b, numpy.einsum("ij,ij->i", b, b)) for b in blocks],
                         unit=unit, mean=mean)
    expected = [max(float((r - mean) @ unit / numpy.linalg.norm(r - mean)) for r in b)
                for b in blocks]
    assert numpy.allclose(found, expected)


def _background(count: int) -> list[Ticket]:
    """Unrelated product reports, so a tenant's mean vector is known."""
    rng = random.Random(9)
    parts = ["invoice", "export", "calendar", "search", "avatar", "webhook", "report", "filter",
             "timezone", "password", "billing", "dashboard", "mobile app", "sso", "import"]
    verbs = ["shows the wrong total", "is empty", "times out", "ignores the filter",
             "sends twice", "loses the formatting", "rejects valid input", "is slow"]
    return [make(f"bg{n}", f"{rng.choice(parts)} {rng.choice(verbs)}",
                 f"Our {rng.choice(parts)} {rng.choice(verbs)} since {n % 28 + 1} March.", n=n)
            for n in range(count)]


# Two words in common ("password", "reset"): far too little for text similarity alone.
PARAPHRASE = (
    ("Password reset email never arrives",
     "I asked for a password reset link but the email never arrived."),
    ("Password reset mail not received", "The reset message does not reach my inbox."),
)


def _seeded(settings: GroupingSettings | None = None) -> BugGrouper:
    """A grouper that has seen 60 unrelated reports (its tenant's mean vector is known)."""
    grouper = BugGrouper(settings or GroupingSettings())
    for ticket in _background(60):
        grouper.add(ticket)
    return grouper


def _second_of(settings: GroupingSettings, texts: list[tuple[str, str]]) -> Assignment:
    """Where the second of two reports goes, after the background and the first."""
    grouper = _seeded(settings)
    grouper.add(make("a", *texts[0], n=300))
    return grouper.add(make("b", *texts[1], n=301))


def _paraphrase_groups(settings: GroupingSettings) -> tuple[str, str]:
    grouper = BugGrouper(settings)
    for ticket in _background(120):
        grouper.add(ticket)
    (s1, b1), (s2, b2) = PARAPHRASE
    first = grouper.add(make("p1", s1, b1, n=200))
    second = grouper.add(make("p2", s2, b2, n=201))
    return first.group_id, second.group_id


def test_a_paraphrased_duplicate_groups_only_through_meaning() -> None:
    first, second = _paraphrase_groups(GroupingSettings())
    assert first == second
    # Both say the email never arrives: with that counted, two words are enough on their own.
    assert len(set(_paraphrase_groups(GroupingSettings(use_embeddings=False)))) == 1
    # Without it, only meaning groups them.
    first, second = _paraphrase_groups(GroupingSettings(failure_bonus=0.0))
    assert first == second
    without = _paraphrase_groups(GroupingSettings(use_embeddings=False, failure_bonus=0.0))
    assert without[0] != without[1]


def test_a_paraphrase_match_says_it_matched_on_meaning() -> None:
    grouper = BugGrouper()
    for ticket in _background(120):
        grouper.add(ticket)
    (s1, b1), (s2, b2) = PARAPHRASE
    grouper.add(make("p1", s1, b1, n=200))
    found = grouper.add(make("p2", s2, b2, n=201))
    assert not found.is_new and found.matched_on.startswith("similar meaning")


def test_grouping_with_embeddings_is_deterministic_across_groupers() -> None:
    tickets = [*_background(80), *fixture_tickets().values()]
    runs = []
    for _ in range(2):
        grouper = BugGrouper()
        runs.append([grouper.add(t) for t in tickets])
    assert runs[0] == runs[1]


def test_same_app_and_platform_but_a_different_failure_starts_its_own_group() -> None:
    crash = make("a", "Time app crashes on Android 14 when clocking in",
                 "Time 3.8.1 on Android 14 crashes every time a worker clocks in for the shift.")
    drain = make("b", "Time app drains battery on Android 14 when clocking in",
                 "Time 3.8.1 on Android 14 drains the battery every time a worker clocks in "
                 "for the shift.", n=1)
    grouper = BugGrouper()
    first = grouper.add(crash)
    found = grouper.add(drain)
    assert found.is_new and found.group_id != first.group_id
    assert found.matched_on == (
        "new group: the closest group differs: different failures (battery / crash)")
    # Without confirmation the shared app, version and platform were enough to merge them.
    loose = BugGrouper(GroupingSettings(confirm=False))
    loose.add(crash)
    assert not loose.add(drain).is_new


def test_the_same_status_on_another_endpoint_is_another_bug() -> None:
    grouper = BugGrouper()
    first = grouper.add(make("a", "Tax forms export returns 504",
                             "GET /api/v2/tax-forms/w2?year=2025 returns 504 Gateway Timeout "
                             "for our company since the release."))
    other = grouper.add(make("b", "Employees export returns 504",
                             "GET /api/v2/employees?format=csv returns 504 Gateway Timeout "
                             "for our company since the release.", n=1))
    same = grouper.add(make("c", "Tax forms download times out",
                            "GET /api/v2/tax-forms/w2?year=2024 gives 504 Gateway Timeout for "
                            "our company.", n=2))
    assert other.is_new and "different endpoints" in other.matched_on
    assert same.group_id == first.group_id


def test_a_shared_error_code_alone_does_not_make_one_bug() -> None:
    grouper = BugGrouper()
    first = grouper.add(make("a", "Assignment upload fails with UPL-413",
                             "Submitting a 40 MB video assignment fails with UPL-413 though "
                             "the course limit is 100 MB."))
    library = grouper.add(make("b", "UPL-413 uploading a recording to the media library",
                               "A 2 GB lecture recording in the media library fails with "
                               "UPL-413. Is there a limit for the library?", n=1))
    assert library.is_new and "shares only the code upl-413" in library.matched_on
    same = grouper.add(make("c", "UPL-413 when submitting a video assignment",
                            "Students submitting a video assignment of 40 MB get UPL-413 "
                            "although the course limit is 100 MB.", n=2))
    assert same.group_id == first.group_id


def test_naming_the_same_kind_of_failure_raises_the_score() -> None:
    texts = [("Parent app notifications arrive twice", "Every message comes two times."),
             ("Duplicate messages in the parent app", "Parents see each notice doubled.")]
    scores = []
    for bonus in (0.0, 0.05):
        grouper = BugGrouper(GroupingSettings(failure_bonus=bonus))
        grouper.add(make("a", *texts[0]))
        scores.append(grouper.add(make("b", *texts[1], n=1)).score)
    assert scores[1] == pytest.approx(scores[0] + 0.05, abs=0.002)


def test_sharing_only_the_features_name_does_not_make_one_bug() -> None:
    grouper = _seeded()
    first = grouper.add(make("a", "Mileage claims total", "Mileage claims for trips over 100 "
                             "miles get the second rate applied to the whole trip.", n=300))
    approval = grouper.add(make("b", "Mileage claims approval", "Approving mileage claims "
                                "from the manager view sends the approver an error page.", n=301))
    assert approval.is_new
    assert approval.matched_on == (
        "new group: the closest group differs: shares only a few words (claim, mileage)")
    same = grouper.add(make("c", "Long mileage claims paid at the second rate",
                            "Mileage claims over 100 miles get the second rate applied to every "
                            "mile of the trip.", n=302))
    assert same.group_id == first.group_id
    # Without the rule the two words of the feature's name were enough to merge them.
    loose = _seeded(GroupingSettings(thin_terms=-1))
    loose.add(make("a", "Mileage claims total", "Mileage claims for trips over 100 miles get "
                   "the second rate applied to the whole trip.", n=300))
    assert not loose.add(make("b", "Mileage claims approval", "Approving mileage claims from "
                              "the manager view sends the approver an error page.", n=301)).is_new


def test_a_shared_code_needs_the_rest_of_the_reports_to_agree() -> None:
    texts = [("Timesheet export fails with EXP-409", "Exporting the timesheet for a team of 60 "
              "people gives EXP-409. Teams under 50 export fine."),
             ("EXP-409 when exporting last month's timesheet", "Exporting the timesheet for a "
              "past month gives EXP-409, the current month exports. Small team of 8.")]
    found = [_second_of(GroupingSettings(code_min_rest=rest), texts)
             for rest in (0.1, GroupingSettings().code_min_rest)]
    # A big team and a past month are two causes; the code and the screen are all they share.
    assert not found[0].is_new
    assert found[1].is_new and "shares only the code exp-409" in found[1].matched_on


def test_a_tenants_grouping_does_not_depend_on_other_tenants_reports() -> None:
    def scores(with_other: bool) -> list[tuple[str, float]]:
        grouper = BugGrouper()
        out = []
        for n, ticket in enumerate(_background(60)):
            if with_other:
                # Words the other product uses in every report: common there, not here.
                grouper.add(make(f"o{n}", "Driver app sync", f"The driver app shows old jobs "
                                 f"for driver {n} until drivers sync again.", tenant="other", n=n))
            assigned = grouper.add(ticket)
            out.append((grouper.members(assigned.group_id)[0], assigned.score))
        return out

    # One grouper per tenant in production; a shared one must group each tenant alike.
    assert scores(with_other=True) == scores(with_other=False)


def test_a_few_shared_words_and_the_same_kind_of_failure_make_one_bug() -> None:
    texts = [("Parent app notifications arrive twice", "Every message comes two times."),
             ("Duplicate messages in the parent app", "Parents see each notice doubled.")]
    found = [_second_of(GroupingSettings(failure_bonus=bonus), texts)
             for bonus in (GroupingSettings().failure_bonus, 0.0)]
    # "Parent app messages" and a duplicate on both sides; the feature's name alone is not enough.
    assert not found[0].is_new
    assert found[1].matched_on == ("new group: the closest group differs: shares only a few "
                                   "words (parent, message, app)")


def test_short_reports_need_more_than_a_close_score_on_a_few_words() -> None:
    texts = [("Locker codes", "Locker codes sent to members expire after one hour instead of 24."),
             ("Locker codes", "Members can choose locker codes with only three digits.")]
    # Without embeddings, so that only the words speak.
    found = [_second_of(GroupingSettings(use_embeddings=False, thin_words=close), texts)
             for close in (GroupingSettings().thin_words, 0.6)]
    # Two short reports sharing "locker" and "members" score 0.65: close, and still two bugs.
    assert found[0].is_new and "shares only a few words (locker, member)" in found[0].matched_on
    assert not found[1].is_new


def test_codes_that_never_come_and_codes_that_come_late_stay_apart() -> None:
    grouper = BugGrouper()
    never = grouper.add(make("n1", "Login codes by email never arrive",
                             "Staff request the login code email and it never arrives.", n=0))
    late = grouper.add(make("n2", "Login codes by email arrive late",
                            "Staff request the login code email and it comes 20 minutes late.",
                            n=60))
    assert late.is_new and late.group_id != never.group_id
    assert "different failures (late / missing)" in late.matched_on
