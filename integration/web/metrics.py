"""``GET /metrics``: Prometheus metrics of this process and of the cluster's database.

With ``METRICS_TOKEN`` set, a scrape must send it as ``Authorization: Bearer <token>``; the
figures hold no ticket text or customer names either way. While the database is away the
process's own metrics are still served, with ``escalade_database_up 0``.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, request

from integration.metrics import Family, exposition
from integration.runtime import Runtime
from integration.store.db import is_unavailable, session_scope
from integration.store.metrics import ClusterFigures, cluster_figures

__all__ = ["bp"]

bp = Blueprint("metrics", __name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@bp.get("/metrics")
def metrics() -> Response:
    """The metrics in Prometheus's text format."""
    runtime = current_app.extensions["escalade"]
    assert isinstance(runtime, Runtime)
    token = runtime.config.get("METRICS_TOKEN")
    if token and not _bearer_is(str(token)):
        return Response("metrics need the bearer token set in METRICS_TOKEN\n", status=401,
                        mimetype="text/plain", headers={"WWW-Authenticate": "Bearer"})
    families = [Family(name="escalade_info", kind="gauge", help="The matrix version this "
                       "process runs.", samples=(({"matrix_version": runtime.matrix.version},
                                                  1.0),))]
    try:
        with session_scope(runtime.sessions) as s:
            figures = cluster_figures(s, now=runtime.now())
        families += [_up(1.0), *_cluster(figures)]
    except Exception as err:
        if not is_unavailable(err):
            raise
        families.append(_up(0.0))
    families += runtime.metrics.families()
    return Response(exposition(families), mimetype=None, content_type=CONTENT_TYPE)


def _bearer_is(token: str) -> bool:
    sent = request.headers.get("Authorization", "")
    scheme, _, value = sent.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(),
                                                              token.encode())


def _up(value: float) -> Family:
    return Family(name="escalade_database_up", kind="gauge",
                  help="Whether the database answered this scrape.", samples=(({}, value),))


def _cluster(figures: ClusterFigures) -> list[Family]:
    return [
        Family(name="escalade_inbound_events", kind="gauge",
               help="Stored webhook and backfill events, by status.",
               samples=tuple(({"status": k}, float(v)) for k, v in sorted(figures.events.items()))),
        Family(name="escalade_event_queue_lag_seconds", kind="gauge",
               help="How long the oldest event waiting to be decided has waited.",
               samples=(({}, figures.oldest_event_wait),)),
        Family(name="escalade_decisions_total", kind="counter",
               help="Decisions written (every tier decision, override and SLA step).",
               samples=(({}, float(figures.decisions)),)),
        Family(name="escalade_outbox", kind="gauge",
               help="Write-backs and alerts pending or failed, by vendor.",
               samples=tuple(({"target": t, "status": st}, float(n))
                             for (t, st), n in sorted(figures.outbox.items()))),
        Family(name="escalade_outbox_lag_seconds", kind="gauge",
               help="How long the oldest due write-back or alert has waited.",
               samples=(({}, figures.oldest_outbox_wait),)),
    ]
