"""Reading in two worker processes gives the same audit and replay as reading in one."""

from __future__ import annotations

from datetime import timedelta

from integration.audit.replay import replay, replay_json
from integration.audit.report import audit_json, run_audit
from integration.matrix import default_matrix
from integration.models import Account, Ticket
from tests.audit.helpers import MONDAY, matrix_with_rule, past_ticket

TEXTS = [("Charged twice", "We were charged twice for the invoice."),
         ("Cancel", "We will cancel our subscription."),
         ("How to", "How do I add a seat?"),
         ("Down", "Everything is down, 503 service unavailable.")]


def history() -> list[Ticket]:
    out = []
    for n in range(60):
        subject, body = TEXTS[n % 4]
        account = Account(id=f"org{n % 7}", plan="enterprise" if n % 3 else "pro",
                          arr=1000.0 * n)
        out.append(past_ticket(n, subject, body, at=MONDAY + timedelta(hours=5 * n),
                               escalated=n % 5 == 0, account=account))
    return out


def test_two_workers_read_like_one() -> None:
    tickets = history()
    current = default_matrix()
    alone = audit_json(run_audit(tickets, matrix=current, topics=True))
    pooled = audit_json(run_audit(tickets, matrix=current, topics=True, workers=2))
    assert pooled == alone
    new = matrix_with_rule("      - id: billing_is_urgent\n        description: Billing\n"
                           "        when: {trigger: [billing_issue]}\n")
    assert replay_json(replay(tickets, new=new, current=current, workers=2)) == \
        replay_json(replay(tickets, new=new, current=current))
