"""Delivering one claimed outbox row: to the tenant's helpdesk, or to a connected connector.

``deliver`` is what ``outbox.deliver_due`` calls for each row, outside any transaction; the
outbox records the outcome and retries (backoff, ``Retry-After``). Effectively once: a row
whose earlier attempt may have landed comes with ``item.uncertain``, and the adapter or
connector looks for what already landed before writing again.

A vendor that needs two calls (Zendesk: a note and a public reply) may land the first and not
the second; the part that did not land is queued again as its own row, so the part that did is
never repeated. An adapter or connector returns what it created (message ts, note and task
ids, the issue key) in its ``ApplyResult``, which the outbox keeps with the row; it writes no
store itself. A tracker's answer (the issue it filed) is noted here on every ticket of the bug
group.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from adapters.helpdesk.base import ApplyResult
from adapters.registry import target_connector
from integration import outbox, store
from integration.bugs.service import TRACKERS, after_filed
from integration.context import connected_targets
from integration.errors import ConfigurationError, FatalError
from integration.outbox import Deliverer, OutboxItem

if TYPE_CHECKING:
    from integration.runtime import Runtime

__all__ = ["deliver", "deliverer"]

log = logging.getLogger(__name__)

# When a vendor's partial failure names no Retry-After, the rest waits this long.
REST_DELAY_SECONDS = 30


def deliverer(runtime: Runtime) -> Deliverer:
    """The outbox's deliverer for this runtime's adapters and connectors."""
    return partial(deliver, runtime)


def deliver(runtime: Runtime, item: OutboxItem) -> ApplyResult:
    """Deliver one outbox row through the tenant's adapter or the target's connector.

    The part of a helpdesk write that did not land is queued again as its own row, keeping
    the actions' refs, and marked uncertain when the failed call may have landed after all
    (a timeout after sending): the adapter then checks the ticket before writing again.
    """
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, item.tenant_slug)
        if tenant is None:
            raise FatalError(f"tenant {item.tenant_slug!r} was removed")
        s.expunge(tenant)
    if item.target != "helpdesk":
        return _to_connector(runtime, tenant, item)
    if item.ticket_external_id is None:
        raise FatalError("helpdesk action without a ticket id")
    try:
        result = runtime.adapter_for(tenant).apply(
            item.ticket_external_id, list(item.actions), uncertain=item.uncertain
        )
    except ConfigurationError as err:
        raise FatalError(f"configuration: {err}") from err
    failed = (result.detail or {}).get("failed") or []
    if failed:
        _requeue_rest(runtime, item, failed)
    return result


def _to_connector(runtime: Runtime, tenant: store.TenantRow, item: OutboxItem) -> ApplyResult:
    if item.target not in connected_targets(tenant):
        raise FatalError(f"{item.target} is not connected for tenant {item.tenant_slug!r}")
    try:
        connector = runtime.connector_for(tenant, target_connector(item.target))
    except ConfigurationError as err:
        raise FatalError(f"configuration: {err}") from err
    ticket_key = f"{tenant.slug}:{tenant.helpdesk}:{item.ticket_external_id}"
    result = connector.deliver(ticket_key, list(item.actions), uncertain=item.uncertain)
    if item.target in TRACKERS:
        # The tracker answered with its issue: note it on every ticket of the group.
        for action in item.actions:
            group_id = action.payload.get("group_id")
            if group_id is not None:
                after_filed(runtime, tenant, result.detail, int(group_id), now=runtime.now())
    return result


def _requeue_rest(runtime: Runtime, item: OutboxItem, failed: list[dict[str, Any]]) -> None:
    kinds = {f["kind"] for f in failed}
    rest = [a for a in item.actions if a.kind.value in kinds]
    delay = max((f.get("retry_after") or 0 for f in failed), default=0) or REST_DELAY_SECONDS
    uncertain = item.uncertain or any(f.get("uncertain") for f in failed)
    now = runtime.now()
    with store.session_scope(runtime.sessions) as s:
        outbox.enqueue(
            s,
            tenant_id=item.tenant_id,
            target=item.target,
            ticket_external_id=item.ticket_external_id,
            actions=rest,
            idempotency_key=f"{item.idempotency_key}:rest:{item.attempt}",
            decision_id=item.decision_id,
            ticket_id=item.ticket_id,
            now=now + timedelta(seconds=float(delay)),
            uncertain=uncertain,
        )
    log.warning("%s: %s did not land; queued again", item.idempotency_key, sorted(kinds))
