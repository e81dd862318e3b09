"""Bug-shaped tickets and the matrix's rule for when a group becomes a bug report."""

from __future__ import annotations

from datetime import datetime, timedelta

from integration.bugs.policy import Due, bug_shape, report_due, window_start
from integration.bugs.totals import totals_of
from integration.matrix import default_matrix
from integration.models import Account, Category, Signals, Ticket, TriggerHit
from tests.bugs.test_report_and_spikes import T0, ticket

POLICY = default_matrix().bugs


def test_bug_shape_needs_a_bug_category_or_an_error() -> None:
    failing = TriggerHit(trigger="blocker", match="doesn't work", sentence="Export doesn't work.")
    assert bug_shape(POLICY, Signals(category=Category.BUG, triggers=(failing,))) == (
        "category bug", 'failure "doesn\'t work"')
    assert bug_shape(POLICY, Signals(category=Category.HOW_TO, error_keys=("http_500",))) == (
        "error http_500",)
    # Failure words in a how-to ("the button doesn't work for me, how do I...") are not enough.
    assert bug_shape(POLICY, Signals(category=Category.HOW_TO, triggers=(failing,))) == ()
    assert bug_shape(POLICY, Signals(category=Category.BILLING)) == ()


def _t(id: str, account: Account, hours: float) -> Ticket:
    return ticket(id, "Export fails with HTTP 500", subject="Export", account=account,
                  at=T0 + timedelta(hours=hours))


def _due(tickets: list[Ticket], now: datetime) -> Due:
    return report_due(POLICY, totals_of(((t, 2) for t in tickets),
                                        since=window_start(POLICY, now)))


def test_one_enterprise_account_or_three_accounts_in_a_day() -> None:
    pro = [Account(id=f"p{i}", name=f"Pro {i}", plan="pro") for i in range(3)]
    enterprise = Account(id="e1", name="Northwind", plan="enterprise")
    two = [_t("1", pro[0], 0), _t("2", pro[1], 1)]
    assert not _due(two, T0 + timedelta(hours=2)).due
    three = [*two, _t("3", pro[2], 5)]
    due = _due(three, T0 + timedelta(hours=6))
    assert due.due and "3 accounts hit within 24 h" in due.reason
    spread = [_t("1", pro[0], 0), _t("2", pro[1], 30), _t("3", pro[2], 60)]
    assert not _due(spread, T0 + timedelta(hours=61)).due
    big = _due([_t("9", enterprise, 0)], T0)
    assert big.due and "Northwind" in big.reason
