"""Crash proofs: the app killed mid-burst, or its PostgreSQL stopped, loses nothing.

    python bench/crash.py                                     # SQLite, 3 kills in 2,000 events
    python bench/crash.py --database-url postgresql+psycopg://postgres:pw@127.0.0.1:5444/postgres
    python bench/crash.py --scenario outage --pg-cluster ingest \\
        --database-url postgresql+psycopg://postgres:pw@127.0.0.1:5444/postgres

``kill``: ``escalade serve`` (and everything it started) gets SIGKILL ``--kills`` times in the
middle of a burst of new-ticket webhooks and is started again on the same data. ``outage``:
the PostgreSQL cluster ``--pg-cluster`` is stopped for ``--outage-seconds`` mid-burst
(``pg_ctlcluster``) and started again. The sender acts as a helpdesk does: a delivery not
answered 2xx is sent again, same delivery id, until it is. Then the script waits for every
acknowledged event to be decided and written back (leases of the killed process run out and
are taken again) and prints ONE JSON object counting, against the fake Zendesk and the
database: ``lost`` acknowledged events, ``duplicate_decisions``, ``duplicate_comments``
(notes or replies written twice), ``stuck`` rows (events or write-backs not finished),
``answers`` by status (``500`` must be absent; every ``503`` carries ``Retry-After``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest import (  # noqa: E402
    ROOT,
    SECRET,
    TENANT,
    app_env,
    free_port,
    fresh_database,
    process,
    serve_command,
    vendor_stats,
    wait_healthy,
    wait_processed,
    zendesk_webhook,
)

SENDERS = 16
# Short leases: the killed process's claims are taken again within seconds, not minutes.
LEASES = {"ESCALADE_EVENT_LEASE_SECONDS": "5", "ESCALADE_OUTBOX_LEASE_SECONDS": "5",
          "ESCALADE_POLL_SECONDS": "0.2"}


@dataclass
class Deliveries:
    """Every webhook the sender owes, and what it was answered."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: Counter[str] = field(default_factory=Counter)
    acked: list[str] = field(default_factory=list)
    unacked: int = 0
    without_retry_after: int = 0

    def answered(self, status: str, retry_after: str | None) -> None:
        """Count one answer (an HTTP status, or the name of a connection error)."""
        with self.lock:
            self.answers[status] += 1
            if status == "503" and not retry_after:
                self.without_retry_after += 1


def send_until_acked(port: int, n: int, tally: Deliveries, deadline: float) -> None:
    """Send ticket ``n``'s webhook until it is answered 2xx, as a helpdesk retries."""
    delivery = uuid.uuid4().hex
    while time.monotonic() < deadline:
        body, headers = zendesk_webhook(n, delivery, datetime.now(UTC))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        try:
            connection.request("POST", f"/webhooks/zendesk/{TENANT}", body=body,
                               headers=headers)
            answer = connection.getresponse()
            answer.read()
            tally.answered(str(answer.status), answer.getheader("Retry-After"))
            if answer.status in (200, 202):
                with tally.lock:
                    tally.acked.append(delivery)
                return
        except (OSError, http.client.HTTPException) as err:
            tally.answered(type(err).__name__, None)
        finally:
            connection.close()
        time.sleep(0.3)
    with tally.lock:
        tally.unacked += 1


def burst(port: int, *, events: int, rate: float, tally: Deliveries,
          give_up_after: float) -> list[threading.Thread]:
    """Start the senders: event ``i`` is first sent at ``i / rate`` seconds from now."""
    counter = iter(range(events))
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + events / rate + give_up_after

    def sender() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            send_until_acked(port, 1 + i, tally, deadline)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    return threads


class Server:
    """``escalade serve`` in its own process group, killed and started again at will."""

    def __init__(self, env: dict[str, str], folder: Path, port: int) -> None:
        self.env, self.folder, self.port = env, folder, port
        self.starts = 0
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start it and wait until it answers."""
        self.starts += 1
        log = (self.folder / f"serve-{self.starts}.log").open("w")
        self.proc = subprocess.Popen(serve_command(self.port), env=self.env, cwd=ROOT,
                                     stdout=log, stderr=log, text=True,
                                     start_new_session=True)
        log.close()
        wait_healthy(self.port, self.proc)

    def kill(self) -> None:
        """SIGKILL the whole process group: no cleanup runs, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


def kill_scenario(server: Server, args: argparse.Namespace) -> Callable[[float], None]:
    """At evenly spaced moments of the burst: SIGKILL, then start again."""
    moments = [args.seconds * (k + 1) / (args.kills + 1) for k in range(args.kills)]

    def disturb(elapsed: float) -> None:
        if moments and elapsed >= moments[0]:
            moments.pop(0)
            server.kill()
            server.start()

    return disturb


def outage_scenario(args: argparse.Namespace) -> Callable[[float], None]:
    """Halfway through the burst: the PostgreSQL cluster stops, and starts again later."""
    done = [False]

    def disturb(elapsed: float) -> None:
        if not done[0] and elapsed >= args.seconds / 2:
            done[0] = True
            pg_cluster(args.pg_cluster, "stop")
            time.sleep(args.outage_seconds)
            pg_cluster(args.pg_cluster, "start")

    return disturb


def set_up(env: dict[str, str], vendor_url: str) -> None:
    """Schema and workspace, written from this process (two CLI starts cost seconds)."""
    from integration import store
    from integration.web import create_app

    store.upgrade(env["ESCALADE_DATABASE_URL"])
    app = create_app({"DATABASE_URL": env["ESCALADE_DATABASE_URL"],
                      "VAR_DIR": env["ESCALADE_VAR_DIR"], "WORKERS": 0})
    runtime = app.extensions["escalade"]
    try:
        with store.session_scope(runtime.sessions) as s:
            store.add_tenant(s, slug=TENANT, name=TENANT, helpdesk="zendesk",
                             base_url=vendor_url, cipher=runtime.cipher,
                             secrets={"email": "bot@bench.example", "api_token": "bench-token",
                                      "webhook_secret": SECRET},
                             settings={"bot_user_id": 9001})
    finally:
        runtime.engine.dispose()


def pg_cluster(name: str, action: str) -> None:
    """``pg_ctlcluster 15 <name> stop|start``."""
    subprocess.run(["pg_ctlcluster", "15", name, action], check=True, timeout=120)


def run(args: argparse.Namespace, stack: ExitStack, folder: Path) -> dict[str, Any]:
    """One scenario end to end; the counts."""
    vendor = stack.enter_context(process(
        "vendor", [sys.executable, str(ROOT / "bench" / "fake_zendesk.py")],
        dict(os.environ), folder, ready="listening"))
    vendor_url = vendor.ready_line.split()[1]  # type: ignore[attr-defined]
    database_url = stack.enter_context(fresh_database(args.database_url, folder))
    env = app_env(folder, database_url, LEASES)
    set_up(env, vendor_url)
    server = Server(env, folder, free_port())
    server.start()
    stack.callback(server.stop)
    disturb = kill_scenario(server, args) if args.scenario == "kill" else outage_scenario(args)
    tally = Deliveries()
    events = int(args.rate * args.seconds)
    threads = burst(server.port, events=events, rate=args.rate, tally=tally,
                    give_up_after=args.drain_seconds)
    began = time.monotonic()
    while any(t.is_alive() for t in threads):
        disturb(time.monotonic() - began)
        time.sleep(0.1)
    counts = wait_processed(database_url, tally.acked, args.drain_seconds)
    return summary(args, events, tally, counts, vendor_stats(vendor_url), server.starts - 1)


def summary(args: argparse.Namespace, events: int, tally: Deliveries, counts: dict[str, Any],
            vendor: dict[str, int], kills: int) -> dict[str, Any]:
    """The one JSON object the script prints."""
    statuses = counts["event_statuses"]
    outbox = counts["outbox_statuses"]
    return {
        "scenario": args.scenario, "database": "postgresql" if args.database_url else "sqlite",
        "events": events, "acknowledged": len(tally.acked), "never_acknowledged": tally.unacked,
        "kills": kills, "answers": dict(tally.answers),
        "answers_500": tally.answers.get("500", 0),
        "503_without_retry_after": tally.without_retry_after,
        "lost": counts["lost"],
        "duplicate_decisions": counts["duplicate_decisions"],
        "duplicate_comments": vendor["duplicate_comments"],
        "repeated_field_updates": vendor["duplicate_updates"],
        "stuck": statuses.get("pending", 0) + statuses.get("processing", 0)
        + outbox.get("pending", 0) + outbox.get("inflight", 0),
        "failed": statuses.get("failed", 0) + outbox.get("failed", 0),
        "decided_events": statuses.get("done", 0), "tickets_written": vendor["tickets_updated"],
        "event_statuses": statuses, "outbox_statuses": outbox,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("kill", "outage"), default="kill")
    parser.add_argument("--rate", type=float, default=100.0, help="new events per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the burst")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--pg-cluster", default=None, help="outage: the cluster to stop")
    parser.add_argument("--outage-seconds", type=float, default=10.0)
    parser.add_argument("--drain-seconds", type=float, default=300.0)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.scenario == "outage" and not (args.pg_cluster and args.database_url):
        parser.error("--scenario outage needs --pg-cluster and --database-url")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the scenario and print its JSON object."""
    args = parse_args(argv)
    with ExitStack() as stack:
        folder = args.keep or Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="escalade-crash-")))
        folder.mkdir(parents=True, exist_ok=True)
        print(json.dumps(run(args, stack, folder)), flush=True)


if __name__ == "__main__":
    main()
