"""The at-risk score: known answers for each part, missing inputs said, one alert per crossing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from integration.account_risk import (
    AccountHistory,
    Factor,
    Reason,
    RiskPolicy,
    RiskScore,
    TicketPoint,
    alert_step,
    formula_text,
    policy_from_settings,
    score_account,
)
from integration.errors import ValidationError
from integration.models import Account

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=200)


def _ticket(ref: str, days_ago: float, *, tier: int | None = 1, open_: bool = False,
            sentiment: float | None = None) -> TicketPoint:
    return TicketPoint(ref=ref, created_at=NOW - timedelta(days=days_ago), tier=tier,
                       open=open_, sentiment=sentiment)


def _history(*tickets: TicketPoint, arr: float | None = 100_000.0,
             renewal: date | None = None, trend: float | None = None) -> AccountHistory:
    return AccountHistory(
        account=Account(id="c9", name="BigCo", arr=arr, renewal_date=renewal),
        tickets=tickets, engagement_trend=trend, engagement_ref="7" if trend else None,
        renewal_ref="8" if renewal else None, history_since=SINCE,
    )


def _reason(result: RiskScore, factor: Factor) -> Reason | None:
    found = [r for r in result.reasons if r.factor is factor]
    return found[0] if found else None


def test_a_quiet_account_scores_zero_and_says_what_it_could_not_know() -> None:
    result = score_account(_history(_ticket("1", 50)), now=NOW)
    assert result.score == 0.0 and result.arr_at_risk == 0.0 and not result.above
    assert result.reasons == ()
    missing = " ".join(result.missing)
    assert "No product activity data" in missing
    assert "No renewal date known" in missing
    assert "sentiment not counted" in missing


def test_activity_drop_of_half_or_more_scores_the_whole_part() -> None:
    result = score_account(_history(trend=0.6), now=NOW)
    reason = _reason(result, Factor.ACTIVITY)
    assert reason is not None and reason.points == pytest.approx(0.8)
    assert reason.weighted == pytest.approx(0.2)
    assert "fell 40%" in reason.text and reason.tickets == ("7",)
    assert score_account(_history(trend=0.3), now=NOW).score == 0.25
    assert _reason(score_account(_history(trend=1.2), now=NOW), Factor.ACTIVITY) is None


def test_contact_rate_against_the_usual_rate_of_the_90_days_before() -> None:
    # 9 tickets in the 90 days before (3 per 30 days), 6 in the last 30: twice the rate.
    earlier = [_ticket(f"e{i}", 35 + i * 9) for i in range(9)]
    recent = [_ticket(f"r{i}", 1 + i) for i in range(6)]
    result = score_account(_history(*earlier, *recent), now=NOW)
    reason = _reason(result, Factor.CONTACTS)
    assert reason is not None
    assert reason.points == pytest.approx(0.5)  # (2 - 1) / (3 - 1)
    assert result.score == pytest.approx(0.1)
    assert reason.text == ("6 tickets in the last 30 days, where 30 days usually bring 3.0 "
                           "(the 90 days before): 2.0× the usual rate.")
    assert reason.tickets == ("r0", "r1", "r2", "r3", "r4", "r5")


def test_contact_rate_uses_only_the_history_the_workspace_has() -> None:
    # Only 30 days of history before the last 30: 2 tickets there are 2 per 30 days.
    history = AccountHistory(
        account=Account(id="c9", arr=1000.0),
        tickets=(_ticket("e1", 40), _ticket("e2", 50), *[_ticket(f"r{i}", i) for i in range(6)]),
        history_since=NOW - timedelta(days=60),
    )
    reason = _reason(score_account(history, now=NOW), Factor.CONTACTS)
    assert reason is not None and "usually bring 2.0 (the 30 days before): 3.0×" in reason.text
    assert reason.points == 1.0
    short = AccountHistory(account=Account(id="c9"), tickets=history.tickets,
                           history_since=NOW - timedelta(days=35))
    result = score_account(short, now=NOW)
    assert _reason(result, Factor.CONTACTS) is None
    assert any("usual contact rate is not known" in m for m in result.missing)


def test_few_recent_tickets_are_not_a_rising_rate() -> None:
    result = score_account(_history(_ticket("r1", 1), _ticket("r2", 2)), now=NOW)
    assert _reason(result, Factor.CONTACTS) is None


def test_negative_sentiment_and_its_trend() -> None:
    recent = [_ticket("r1", 2, sentiment=-0.5), _ticket("r2", 3, sentiment=-0.3)]
    alone = _reason(score_account(_history(*recent), now=NOW), Factor.SENTIMENT)
    assert alone is not None
    assert alone.points == pytest.approx(0.6)  # (-0.4 - -0.1) / (-0.6 - -0.1)
    assert alone.text == "Average sentiment -0.40 over 2 tickets of the last 30 days."
    assert alone.tickets == ("r1", "r2")
    worse = [*recent, _ticket("e1", 60, sentiment=0.2)]
    falling = _reason(score_account(_history(*worse), now=NOW), Factor.SENTIMENT)
    assert falling is not None and falling.points == pytest.approx(0.6)
    assert "(the 90 days before: +0.20 over 1)" in falling.text
    steady = [*recent, _ticket("e1", 60, sentiment=-0.7)]
    calmer = _reason(score_account(_history(*steady), now=NOW), Factor.SENTIMENT)
    assert calmer is not None and calmer.points == pytest.approx(0.3)
    calm = [_ticket("r1", 2, sentiment=0.1)]
    assert _reason(score_account(_history(*calm), now=NOW), Factor.SENTIMENT) is None


def test_open_tier_3_tickets_count_closed_ones_do_not() -> None:
    tickets = [_ticket("a", 3, tier=3, open_=True), _ticket("b", 1, tier=3, open_=False),
               _ticket("c", 5, tier=2, open_=True)]
    reason = _reason(score_account(_history(*tickets), now=NOW), Factor.TIER3)
    assert reason is not None and reason.text == "1 Tier 3 ticket open."
    assert reason.points == 0.5 and reason.tickets == ("a",)


def test_renewal_near_scores_more_the_closer_it_is() -> None:
    soon = score_account(_history(renewal=date(2026, 12, 31)), now=NOW)
    reason = _reason(soon, Factor.RENEWAL)
    assert reason is not None and reason.text == "Renews in 30 days, on 2026-12-31."
    assert reason.points == pytest.approx(2 / 3, abs=1e-3) and reason.tickets == ("8",)
    far = score_account(_history(renewal=date(2027, 6, 1)), now=NOW)
    assert _reason(far, Factor.RENEWAL) is None and not any("renewal" in m for m in far.missing)
    past = score_account(_history(renewal=date(2026, 11, 1)), now=NOW)
    assert _reason(past, Factor.RENEWAL) is None
    assert any("has passed" in m for m in past.missing)


def test_everything_at_once_is_the_weighted_sum_and_arr_at_risk_follows() -> None:
    tickets = [_ticket(f"r{i}", 1 + i, tier=3, open_=True, sentiment=-0.8) for i in range(6)]
    tickets += [_ticket("e1", 60)]
    result = score_account(_history(*tickets, renewal=date(2026, 12, 1), trend=0.2), now=NOW)
    assert result.score == 1.0 and result.above
    assert result.arr_at_risk == 100_000.0
    assert [r.factor for r in result.reasons][0] is Factor.ACTIVITY
    assert result.missing == ()


def test_no_arr_means_nothing_at_risk_and_is_said() -> None:
    tickets = [_ticket("a", 1, tier=3, open_=True), _ticket("b", 2, tier=3, open_=True)]
    result = score_account(_history(*tickets, arr=None), now=NOW)
    assert result.score == 0.2 and result.arr_at_risk == 0.0
    assert any("No ARR" in m for m in result.missing)


def test_threshold_from_the_workspace_settings() -> None:
    assert policy_from_settings({}).threshold == 0.5
    assert policy_from_settings({"account_risk": {"threshold": 0.3}}).threshold == 0.3
    for bad in (0, 1.5, "high", True):
        with pytest.raises(ValidationError, match="account_risk.threshold"):
            policy_from_settings({"account_risk": {"threshold": bad}})
    with pytest.raises(ValidationError, match="account_risk"):
        policy_from_settings({"account_risk": [0.3]})
    tickets = [_ticket("a", 1, tier=3, open_=True), _ticket("b", 2, tier=3, open_=True)]
    assert score_account(_history(*tickets), now=NOW, policy=RiskPolicy(threshold=0.2)).above


def test_the_owner_is_told_once_per_crossing() -> None:
    assert alert_step(was_above=False, score=0.6, threshold=0.5) == (True, True)
    assert alert_step(was_above=True, score=0.7, threshold=0.5) == (True, False)
    assert alert_step(was_above=True, score=0.4, threshold=0.5) == (False, False)
    assert alert_step(was_above=False, score=0.5, threshold=0.5) == (True, True)


def test_the_formula_is_said_in_words() -> None:
    text = formula_text()
    assert text.startswith("Score = 25% product activity declining + 20% contact rate rising")
    assert "ARR at risk = ARR × score" in text and "0.50" in text
