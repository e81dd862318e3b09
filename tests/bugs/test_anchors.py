"""Anchors: the codes, endpoints, platforms and kinds of failure two reports must agree on."""

from __future__ import annotations

from integration.bugs.anchors import anchors_of, conflict, shared


def test_product_error_codes_are_read_but_tracker_ids_and_cves_are_not() -> None:
    found = anchors_of("SEPA export rejected with BNK-417",
                       "Also ERR_IMPORT_113 and TERM-E41. See CVE-2023-2976, ISO-8601, v2-10.")
    assert found.codes == {"code:bnk-417", "code:err-import-113", "code:term-e41"}


def test_endpoints_come_from_requests_not_from_file_paths() -> None:
    found = anchors_of("504 on export",
                       "GET /api/v2/tax-forms/w2?year=2025 times out, POST "
                       "https://app.example.com/v1/orders/8812/lines too; the build log says "
                       "/home/jenkins/workspace/src/main.c and dates 06/07/2026")
    assert found.endpoints == {"/api/v2/tax-forms/w2", "/v1/orders/:id/lines"}


def test_phones_are_read_as_their_platform() -> None:
    assert anchors_of("Crash", "Our cleaners all have Samsung phones").platforms == {"android"}
    assert anchors_of("Lag", "Whiteboard lags on iPadOS 17.4").platforms == {"ios"}


def test_different_kinds_of_failure_conflict() -> None:
    crash = anchors_of("Time app crashes on Android 14", "It closes when the camera opens.")
    battery = anchors_of("Time app drains battery on Android 14", "Battery drops 30% an hour.")
    assert conflict(crash, battery) == "different failures (crash / battery)"
    late = anchors_of("Push notifications arrive hours later", "")
    twice = anchors_of("Every notification arrives twice", "")
    assert conflict(late, twice) == "different failures (late / twice)"


def test_never_coming_is_not_coming_late_nor_a_wrong_figure() -> None:
    never = anchors_of("Sign-in codes never arrive", "Nothing comes by text at all.")
    late = anchors_of("Sign-in codes arrive late", "The text turns up 20 minutes after.")
    assert conflict(never, late) == "different failures (missing / late)"
    gone = anchors_of("Discount lines missing from invoices", "")
    wrong = anchors_of("Discount on invoices is wrong", "")
    assert conflict(gone, wrong) == "different failures (missing / wrong)"
    refused = anchors_of("Card rejected at checkout", "")
    overcharged = anchors_of("Checkout total is wrong", "")
    assert conflict(refused, overcharged) == "different failures (rejected / wrong)"


def test_something_not_applied_is_read_as_missing() -> None:
    assert anchors_of("Overtime not paid", "").symptoms == {"missing"}
    assert anchors_of("Direct debit not collected", "").symptoms == {"missing"}
    assert anchors_of("Holiday pay isn't being calculated", "").symptoms == {"missing"}
    assert anchors_of("Paid in full", "not sure why it failed").symptoms == frozenset()


def test_something_that_cannot_be_done_is_not_a_wrong_figure() -> None:
    stuck = anchors_of("Delivery note won't save", "")
    assert stuck.symptoms == {"blocked"}
    assert conflict(stuck, anchors_of("Delivery note shows the wrong date", "")) == (
        "different failures (blocked / wrong)")
    stale = anchors_of("Room list not updating", "")
    assert conflict(anchors_of("Can't book a room", ""), stale) == (
        "different failures (blocked / stale)")
    # Refused, or hanging: still what "cannot be done" looks like.
    assert conflict(stuck, anchors_of("Delivery note rejected", "")) is None
    assert conflict(stuck, anchors_of("Delivery note spins forever", "")) is None


def test_an_empty_export_is_not_an_export_with_wrong_values() -> None:
    empty = anchors_of("Yield export CSV empty", "")
    wrong = anchors_of("Yield export has wrong units", "")
    assert conflict(empty, wrong) == "different failures (blank / wrong)"


def test_a_failure_and_its_business_effect_do_not_conflict() -> None:
    crash = anchors_of("App crashes at clock-in", "")
    effect = anchors_of("Hours missing for mobile workers", "payroll is late")
    assert crash.symptoms == {"crash"} and effect.symptoms == {"missing", "late"}
    assert conflict(crash, effect) is None


def test_different_codes_endpoints_and_platforms_conflict() -> None:
    assert conflict(anchors_of("ATT-500", ""), anchors_of("ATT-501", "")) == (
        "different errors (code:att-500 / code:att-501)")
    employees = anchors_of("504", "GET /api/v2/employees returns 504")
    forms = anchors_of("504", "GET /api/v2/tax-forms/w2 returns 504")
    assert conflict(employees, forms) == (
        "different endpoints (/api/v2/employees / /api/v2/tax-forms/w2)")
    assert conflict(anchors_of("Battery", "on Android"), anchors_of("GPS", "on iOS")) == (
        "different platforms (android / ios)")


def test_a_report_that_names_nothing_specific_is_neutral() -> None:
    vague = anchors_of("Staff can't clock in", "Please look at this.")
    specific = anchors_of("BNK-417 crash", "GET /api/v2/bank on Android crashes")
    assert conflict(vague, specific) is None and conflict(specific, vague) is None
    assert shared(specific, anchors_of("BNK-417", "GET /api/v2/bank")) == (
        "/api/v2/bank", "code:bnk-417")


def test_everyday_phrasings_name_their_kind_of_failure() -> None:
    assert anchors_of("App force closes", "").symptoms == {"crash"}
    assert anchors_of("Board takes forever", "and stops responding").symptoms == {"slow"}
    assert anchors_of("Dashboard not syncing", "numbers out of date").symptoms == {"stale"}
    assert anchors_of("Portal logs me out", "every ten minutes").symptoms == {"logout"}
    assert anchors_of("Reset email never arrives", "").symptoms == {"missing"}


def test_an_endpoint_named_as_such_is_read_without_a_method() -> None:
    assert anchors_of("504", "the /trips endpoint returns 504").endpoints == {"/trips"}
    assert anchors_of("504", "endpoint: /reports/daily fails").endpoints == {"/reports/daily"}
    assert anchors_of("504", "POST /upload/file.csv and GET 06/07").endpoints == frozenset()


def test_a_failure_of_one_person_only_is_not_the_failure_of_everyone() -> None:
    one = anchors_of("GRN-310 for one supplier account",
                     "Goods receipt fails with GRN-310 for one customer who changed warehouses.")
    alone = anchors_of("Receipt error", "One client's goods receipt fails with GRN-310. "
                       "The others are all fine.")
    everyone = anchors_of("GRN-310 on every goods receipt", "All receipts fail with GRN-310.")
    assert one.single and alone.single and not everyone.single
    assert conflict(one, everyone) == "different reach (only one affected / many)"
    assert conflict(everyone, alone) == "different reach (many / only one affected)"
    assert conflict(one, alone) is None
    # One person named in passing, or "for one day", says nothing about the reach.
    assert not anchors_of("Late again", "One of our drivers says it failed for one day.").single
