"""Seed the demo workspace: a sandbox helpdesk whose sample tickets go through the real path.

Each sample ticket is dated relative to now (``integration.demo.timing``) and sent as a signed
webhook to ``/webhooks/sandbox/demo`` (the same view a real helpdesk calls), then the workers
decide and deliver. Running it again changes nothing: a sample ticket's delivery id names the
ticket and its content, not its dates. ``reset`` starts the workspace over, dated afresh; so
does a run on a workspace seeded more than ``FRESH_FOR`` ago, whose clocks have run out since
(that re-seed keeps the workspace's settings and connections).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from adapters.helpdesk.sandbox import SIGNATURE_HEADER, sign
from integration import store
from integration.demo import DEMO_TENANT, demo_expected, demo_tickets
from integration.demo.timing import redate
from integration.matrix import Matrix
from integration.models import Ticket
from integration.runtime import Runtime
from integration.worker import drain

__all__ = ["FRESH_FOR", "seed_demo", "stale_age"]

# Past this the sample no longer shows what it means to: every quiet Tier 3 ticket has
# breached its 1-hour first response, and Tier 2's 4 business hours are about to run out.
FRESH_FOR = timedelta(hours=3)


def stale_age(seeded_at: datetime | None, now: datetime) -> timedelta | None:
    """How long ago a demo seeded at ``seeded_at`` was seeded, when that is past ``FRESH_FOR``."""
    if seeded_at is None or now - seeded_at <= FRESH_FOR:
        return None
    return now - seeded_at


def _ensure_tenant(runtime: Runtime, *, reset: bool) -> tuple[str, Matrix, timedelta | None]:
    now = runtime.now()
    with store.session_scope(runtime.sessions) as s:
        existing = store.get_tenant(s, DEMO_TENANT)
        age = None if existing is None or reset else stale_age(existing.created_at, now)
        kept: tuple[dict[str, str], dict[str, Any]] = (
            {"webhook_secret": secrets.token_urlsafe(32)}, {})
        if existing is not None and age is not None:
            kept = (store.tenant_secrets(existing, runtime.cipher), dict(existing.settings))
        if existing is not None and (reset or age is not None):
            store.remove_tenant(s, DEMO_TENANT)
            existing = None
        if existing is None:
            store.add_tenant(
                s,
                slug=DEMO_TENANT,
                name="Demo workspace",
                helpdesk="sandbox",
                base_url=None,
                secrets=kept[0],
                settings=kept[1],
                cipher=runtime.cipher,
                now=now,
            )
    runtime.forget_adapters()
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, DEMO_TENANT)
        assert tenant is not None
        secret = store.tenant_secrets(tenant, runtime.cipher)["webhook_secret"]
        return secret, runtime.matrix_for(tenant), age


def _delivery_id(sample: Ticket) -> str:
    # The sample as packaged, before its dates move: a second run posts the same ids.
    digest = hashlib.sha256(json.dumps(sample.to_dict(), sort_keys=True).encode()).hexdigest()
    return f"demo-{sample.id}-{digest[:12]}"


def seed_demo(runtime: Runtime, *, reset: bool = False,
              corrections: bool = False) -> dict[str, Any]:
    """Create the demo tenant, post every sample ticket as a webhook, process and deliver.

    ``corrections`` adds the agents' overrides the monthly review reads (``escalade demo``
    does; the tests of the sample's own decisions do not).

    The report's ``reseeded_after`` is how old the workspace was when it was seeded afresh
    because its clocks had run out, else None.
    """
    from integration.web import create_app

    secret, matrix, age = _ensure_tenant(runtime, reset=reset)
    # The help centre first: the sample tickets are read against it as they arrive.
    documents = _sync_help_centre(runtime)
    client = create_app(runtime=runtime).test_client()
    samples = demo_tickets()
    now = runtime.now()
    accepted = 0
    for sample, ticket in zip(samples, redate(samples, now=now, matrix=matrix), strict=True):
        payload = {
            "delivery_id": _delivery_id(sample),
            "event": "ticket.created",
            "ticket": ticket.to_dict(),
        }
        body = json.dumps(payload).encode()
        response = client.post(
            f"/webhooks/sandbox/{DEMO_TENANT}",
            data=body,
            headers={"Content-Type": "application/json",
                     SIGNATURE_HEADER: sign(body, secret)},
        )
        if response.status_code == 202:
            accepted += 1
        elif response.status_code != 200:
            raise RuntimeError(f"demo ticket {ticket.id}: {response.status_code} {response.json}")
    report = drain(runtime)
    history = _import_history(runtime, samples, now=now, matrix=matrix)
    corrected = _corrections(runtime) if corrections else 0
    # The sandbox answers for itself: record its test so the workspace shows it connected.
    from integration.workspaces.service import check_stored

    check_stored(runtime, DEMO_TENANT, "helpdesk")
    return {"tickets": len(samples), "accepted": accepted, "decided": report.decided,
            "delivered": report.delivered, "history": history, "corrections": corrected,
            "reseeded_after": age, "documents": documents}


def _sync_help_centre(runtime: Runtime) -> int:
    """Sync the demo's help centre (the sandbox's packaged one); how many documents it holds."""
    from integration.knowledge_sync import sync_workspace

    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, DEMO_TENANT)
        assert tenant is not None
        s.expunge(tenant)
    counts = sync_workspace(runtime, tenant)
    return counts.added + counts.changed + counts.unchanged


def _corrections(runtime: Runtime) -> int:
    """The agents' overrides the monthly review reads, written back like any override."""
    from integration.demo.corrections import record_demo_corrections

    recorded = record_demo_corrections(runtime)
    if recorded:
        drain(runtime)
    return recorded


def _import_history(runtime: Runtime, samples: list[Ticket], *, now: datetime,
                    matrix: Matrix) -> int:
    """Store the demo's past tickets as a history import would (nothing decided or sent)."""
    from integration.demo.history import demo_history
    from integration.store.backfill import import_ticket

    past = demo_history(samples, demo_expected(), now=now, zone=matrix.display_zone)
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, DEMO_TENANT)
        assert tenant is not None
        return sum(import_ticket(s, tenant_id=tenant.id, ticket=t) for t in past)
