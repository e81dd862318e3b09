"""Is the app up, is it ready, and what requests get while the database is away.

``/healthz`` is liveness (touches nothing, so it stays up during a database outage);
``/readyz`` checks the database (connects, the schema is current) and reports the delivery
backlog; in scale-out mode it also checks the broker. A broker that does not answer makes the
app "degraded", still ready: webhooks are stored and acknowledged, and the relay queues them
once the broker is back, so taking the web process out of service would only lose them.

While the database is unavailable (PostgreSQL stopped, a SQLite lock held past the busy
timeout) every other request gets a 503 with ``Retry-After`` at once
(``integration.availability.StoreGate``: one log line when the outage starts, one when it
ends); every few seconds one request is let through to ask the database again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from integration.availability import StoreGate
from integration.runtime import Runtime
from integration.store.db import is_unavailable, ping, session_scope
from integration.store.health import migrations_current, outbox_lag
from integration.web.errors import POLLED, unavailable

__all__ = ["bp", "gate_requests", "readiness"]

bp = Blueprint("health", __name__)


def _runtime() -> Runtime:
    runtime = current_app.extensions["escalade"]
    assert isinstance(runtime, Runtime)
    return runtime


def _gate() -> StoreGate:
    gate = current_app.extensions["escalade.store_gate"]
    assert isinstance(gate, StoreGate)
    return gate


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers, with the matrix version it runs."""
    return jsonify({"status": "ok", "matrix_version": _runtime().matrix.version})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: the database answers, its schema is current; the delivery backlog."""
    report, ready = readiness(_runtime(), _gate())
    return jsonify(report), 200 if ready else 503


def readiness(runtime: Runtime, gate: StoreGate) -> tuple[dict[str, Any], bool]:
    """What ``/readyz`` reports: the database (reachable, schema current), the outbox lag,
    the broker in scale-out mode."""
    checks: dict[str, Any] = {}
    try:
        ping(runtime.engine)
        current, head = migrations_current(runtime.engine)
        schema_ok = current == head
        checks["database"] = {"status": "ok" if schema_ok else "migrations pending",
                              "migration": current, "expected": head}
        if schema_ok:
            with session_scope(runtime.sessions) as s:
                lag = outbox_lag(s, now=runtime.now())
            checks["outbox"] = {"due": lag.due, "oldest_wait_seconds": round(lag.seconds, 1)}
    except Exception as err:
        if not is_unavailable(err):
            raise
        gate.went_down(err)  # the log has the reason; the answer does not show hosts
        checks["database"] = {"status": "unavailable", "error": type(err).__name__}
        return {"status": "unavailable", "checks": checks}, False
    gate.came_back()
    status = "ready" if schema_ok else "unavailable"
    if runtime.tasks is not None:
        broker_error = runtime.tasks.ping()
        checks["broker"] = ({"status": "ok"} if broker_error is None
                            else {"status": "unavailable", "error": broker_error})
        if broker_error is not None and schema_ok:
            status = "degraded"
    return {"status": status, "checks": checks}, schema_ok


def gate_requests() -> Response | None:
    """Before every view: a 503 at once while the database is away (health checks pass)."""
    gate = _gate()
    if not gate.down or request.endpoint is None:
        return None
    # The polled endpoints never touch the database: they answer even while it is away.
    if request.endpoint in POLLED or request.endpoint.endswith(".static"):
        return None
    if not gate.probe_due():
        return unavailable()
    try:
        ping(_runtime().engine)
    except Exception as err:
        if not is_unavailable(err):
            raise
        gate.went_down(err)
        return unavailable()
    gate.came_back()
    return None
