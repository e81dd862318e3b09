"""Benchmark the monthly review: how long a workspace's review and calibration check take.

A throwaway SQLite workspace gets ``ESCALADE_BENCH_SIZES`` stored tickets (generated as in
``bench/audit.py``, spread over the 60 days before the reviewed month's end, the review's
cap is 3,000) and one agent's override per 100 tickets. Measures ``monthly_review`` (read,
classify, findings, every suggestion replayed) and ``calibration_check``. Prints ONE JSON
object.

    python bench/review.py
    ESCALADE_BENCH_SIZES=500,3000 python bench/review.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.fernet import Fernet  # noqa: E402

from bench.audit import tickets  # noqa: E402
from integration import store  # noqa: E402
from integration.decisions import record_override  # noqa: E402
from integration.models import Tier  # noqa: E402
from integration.monthly_review import calibration_check, monthly_review  # noqa: E402
from integration.runtime import Runtime  # noqa: E402
from integration.store.backfill import import_ticket  # noqa: E402

MONTH = "2026-10"
NOW = datetime(2026, 10, 31, 12, tzinfo=UTC)


def _workspace(size: int, folder: Path) -> Runtime:
    url = f"sqlite:///{folder / 'bench.db'}"
    store.upgrade(url)
    runtime = Runtime(config={"VAR_DIR": folder / "var", "DATABASE_URL": url, "WORKERS": 0,
                              "SECRET_KEY": Fernet.generate_key().decode(),
                              "LOG_LEVEL": "WARNING"})
    runtime.now = lambda: NOW  # type: ignore[method-assign]
    with store.session_scope(runtime.sessions) as s:
        tenant = store.add_tenant(s, slug="bench", name="Bench", helpdesk="sandbox",
                                  base_url=None, secrets={"webhook_secret": "w" * 32},
                                  settings={}, cipher=runtime.cipher)
        for ticket in tickets(size):
            import_ticket(s, tenant_id=tenant.id, ticket=replace(ticket, tenant="bench"))
    for n in range(0, size, 100):
        with store.session_scope(runtime.sessions) as s:
            live = store.get_tenant(s, "bench")
            assert live is not None
            row = store.get_ticket(s, live.id, "zendesk", str(n))
            if row is not None:
                record_override(s, tenant=live, ticket=row, tier=Tier(3 if n % 200 else 1),
                                reason="bench", agent="agent", matrix=runtime.matrix, now=NOW)
    return runtime


def measure(size: int) -> dict[str, Any]:
    """One review and one calibration check over ``size`` stored tickets."""
    with tempfile.TemporaryDirectory(prefix="escalade-bench-") as tmp:
        runtime = _workspace(size, Path(tmp))
        with store.session_scope(runtime.sessions) as s:
            found = store.get_tenant(s, "bench")
            assert found is not None
            s.expunge(found)
            tenant = found
        text = runtime.matrix_text() or ""
        monthly_review(runtime, tenant, MONTH, text=text)  # loads the reader once
        started = time.perf_counter()
        review = monthly_review(runtime, tenant, MONTH, text=text)
        review_seconds = time.perf_counter() - started
        started = time.perf_counter()
        calibration_check(runtime, tenant, text=text, now=NOW)
        calibration_seconds = time.perf_counter() - started
        runtime.engine.dispose()
    return {"tickets": review["tickets_read"], "suggestions": len(review["suggestions"]),
            "review_seconds": round(review_seconds, 2),
            "calibration_seconds": round(calibration_seconds, 2)}


def main() -> None:
    """Measure each size; print one JSON object."""
    sizes = [int(s) for s in os.environ.get("ESCALADE_BENCH_SIZES", "3000").split(",")]
    print(json.dumps({"review": [measure(size) for size in sizes]}))


if __name__ == "__main__":
    main()
