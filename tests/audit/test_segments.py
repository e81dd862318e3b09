"""Segments of the audit's JSON, on four tickets counted by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from integration.audit.report import audit_json, run_audit
from integration.audit.settings import AuditSettings
from integration.matrix import default_matrix
from integration.models import Account, Channel
from tests.audit.helpers import past_ticket

ACME = Account(id="acme", name="Acme", plan="enterprise", arr=120_000)
BETA = Account(id="beta", name="Beta", plan="pro", arr=20_000)
NEW_YORK = ZoneInfo("America/New_York")


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    tickets = [
        # Monday 10:00 in New York.
        past_ticket(1, "Export fails", "The export fails.", at=at(5, 14), escalated=True,
                    account=ACME, sla_breached=True),
        past_ticket(2, "Question", "How do I add a seat?", at=at(5, 15), account=ACME,
                    channel=Channel.CHAT, sla_breached=False),
        # Tuesday 02:00 UTC is still Monday (22:00) in New York.
        past_ticket(3, "Invoice", "Charged twice.", at=at(6, 2), escalated=True, account=BETA,
                    group="billing", sla_breached=True),
        # No SLA verdict from the helpdesk: measured against the matrix (resolved in 1 h).
        past_ticket(4, "Hello", "Where is the button?", at=at(7, 12), channel=Channel.WEB,
                    group=None),
    ]
    settings = AuditSettings(zone=NEW_YORK)
    return audit_json(run_audit(tickets, matrix=default_matrix(), settings=settings,
                                topics=False))


def test_escalations_by_weekday_and_hour_in_the_tenant_zone_and_utc(
    report: dict[str, Any]
) -> None:
    esc = report["escalations"]
    assert esc["total"] == 2
    assert esc["by_weekday"] == {"Monday": 2, "Tuesday": 0, "Wednesday": 0, "Thursday": 0,
                                 "Friday": 0, "Saturday": 0, "Sunday": 0}
    assert esc["by_weekday_utc"]["Monday"] == 1 and esc["by_weekday_utc"]["Tuesday"] == 1
    assert {h: n for h, n in esc["by_hour"].items() if n} == {"10": 1, "22": 1}
    assert {h: n for h, n in esc["by_hour_utc"].items() if n} == {"14": 1, "2": 1}
    assert list(esc["by_hour"]) == [str(h) for h in range(24)]


def test_rates_by_plan_arr_band_and_channel(report: dict[str, Any]) -> None:
    esc = report["escalations"]
    assert esc["by_plan"] == {
        "enterprise": {"tickets": 2, "escalations": 1, "rate": 0.5},
        "pro": {"tickets": 1, "escalations": 1, "rate": 1.0},
        "unknown": {"tickets": 1, "escalations": 0, "rate": 0.0},
    }
    assert esc["by_arr_band"]["100k-250k"] == {"tickets": 2, "escalations": 1, "rate": 0.5}
    assert esc["by_arr_band"]["10k-50k"] == {"tickets": 1, "escalations": 1, "rate": 1.0}
    assert esc["by_channel"]["email"] == {"tickets": 2, "escalations": 2, "rate": 1.0}
    assert esc["by_channel"]["chat"]["escalations"] == 0


def test_sla_breaches_prefer_the_helpdesk_and_compute_the_rest(report: dict[str, Any]) -> None:
    sla = report["sla"]
    assert sla["breaches"] == 2 and sla["measured"] == 4
    assert sla["source"] == {"helpdesk": 3, "computed": 1}
    assert sla["by_weekday"]["Monday"] == 2
    assert sla["by_group"]["support"] == {"tickets": 2, "breaches": 1, "rate": 0.5}
    assert sla["by_group"]["billing"] == {"tickets": 1, "breaches": 1, "rate": 1.0}
    assert sla["by_group"]["(no group)"]["breaches"] == 0


def test_the_report_keeps_the_documented_shape(report: dict[str, Any]) -> None:
    assert report["tickets"] == 4
    for entry in report["categories"]:
        assert {"category", "tickets", "escalations", "impact"} <= set(entry)
    impacts = [c["impact"] for c in report["categories"]]
    assert impacts == sorted(impacts, reverse=True)
    assert sum(c["tickets"] for c in report["categories"]) == 4
    assert [d["date"] for d in report["trend"]] == ["2026-10-05", "2026-10-06", "2026-10-07"]
    assert report["heatmap"]["Monday"]["22"] == {"tickets": 1, "escalations": 1, "rate": 1.0}
    assert isinstance(report["spikes"], list) and isinstance(report["label_checks"], list)


def test_arr_bands_at_their_edges() -> None:
    settings = AuditSettings()
    edges = list(settings.arr_bands)
    values = [0.0, edges[0] - 1, edges[0], edges[0] + 1, edges[-1] - 1, edges[-1],
              edges[-1] * 10]
    tickets = [past_ticket(n, "Question", "How do I add a seat?", at=at(5, 10),
                           account=Account(id=f"org{n}", arr=arr))
               for n, arr in enumerate(values)]
    tickets.append(past_ticket(99, "Question", "How do I add a seat?", at=at(5, 10)))
    bands = audit_json(run_audit(tickets, matrix=default_matrix(), settings=settings,
                                 topics=False))["escalations"]["by_arr_band"]
    expected: dict[str, int] = {}
    for arr in [*values, None]:
        name = settings.arr_band(arr)
        expected[name] = expected.get(name, 0) + 1
    assert {k: v["tickets"] for k, v in bands.items() if v["tickets"]} == expected
    assert expected[settings.arr_band(edges[0])] >= 2  # an edge starts the next band
