"""Crash proofs: the app killed mid-burst, or its PostgreSQL or broker stopped, loses nothing.

    python bench/crash.py                                     # SQLite, 3 kills in 2,000 events
    python bench/crash.py --database-url postgresql+psycopg://postgres:pw@127.0.0.1:5444/postgres
    python bench/crash.py --scenario outage --pg-cluster ingest \\
        --database-url postgresql+psycopg://postgres:pw@127.0.0.1:5444/postgres
    python bench/crash.py --mode scaleout --database-url ...  # web + Celery worker killed
    python bench/crash.py --mode scaleout --scenario broker-outage --database-url ...

``kill``: ``escalade serve`` (and everything it started; in scale-out mode also the Celery
worker, ``escalade worker``) gets SIGKILL ``--kills`` times in the middle of a burst of
new-ticket webhooks and is started again on the same data. ``outage``: the PostgreSQL cluster
``--pg-cluster`` is stopped for ``--outage-seconds`` mid-burst (``pg_ctlcluster``) and started
again. ``broker-outage`` (scale-out): the Redis broker is killed for ``--outage-seconds`` and
started again empty, as a broker without persistence comes back. The sender acts as a helpdesk
does: a delivery not answered 2xx is sent again, same delivery id, until it is. Then the
script waits for every acknowledged event to be decided and written back (leases of the killed
process run out and are taken again; in scale-out mode the relay queues again what the broker
lost) and prints ONE JSON object counting, against the fake Zendesk and the
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
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest import (  # noqa: E402
    ROOT,
    SECRET,
    TENANT,
    app_env,
    check_mode,
    free_port,
    fresh_database,
    process,
    run_folder,
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
# Scale-out: what a killed worker or an emptied broker held is queued again within seconds.
SCALEOUT_LEASES = {"ESCALADE_MODE": "scaleout", "ESCALADE_RELAY_SECONDS": "5"}


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


class Managed:
    """One process of the app in its own process group, killed and started again at will."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], folder: Path,
                 ready: Callable[[subprocess.Popen[str]], None] | None = None) -> None:
        self.name, self.command, self.env, self.folder = name, command, env, folder
        self.ready = ready
        self.starts = 0
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start it and, when it has a readiness check, wait until it passes."""
        self.starts += 1
        log = (self.folder / f"{self.name}-{self.starts}.log").open("w")
        self.proc = subprocess.Popen(self.command, env=self.env, cwd=ROOT,
                                     stdout=log, stderr=log, text=True,
                                     start_new_session=True)
        log.close()
        if self.ready is not None:
            self.ready(self.proc)

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


def wait_redis(port: int, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    """Return once the redis-server on ``port`` answers PING."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"redis-server did not answer on port {port}")


@dataclass
class Cluster:
    """The app's processes: ``crashed`` are the ones a kill takes down (web, and a worker)."""

    port: int
    crashed: list[Managed]
    broker: Managed | None = None
    kills: int = 0


def start_cluster(args: argparse.Namespace, stack: ExitStack, folder: Path, database_url: str,
                  vendor_url: str) -> Cluster:
    """The web process and, in scale-out mode, Redis, a Celery worker and beat; all started."""
    extra = dict(LEASES)
    broker = None
    if args.mode == "scaleout":
        redis_port = free_port()
        extra.update(SCALEOUT_LEASES)
        extra["ESCALADE_BROKER_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        broker = Managed("redis", ["redis-server", "--port", str(redis_port), "--bind",
                                   "127.0.0.1", "--save", "", "--appendonly", "no"],
                         dict(os.environ), folder, ready=partial(wait_redis, redis_port))
    env = app_env(folder, database_url, extra)
    set_up(env, vendor_url)
    port = free_port()
    web = Managed("serve", serve_command(port), env, folder, ready=partial(wait_healthy, port))
    cluster = Cluster(port=port, crashed=[web], broker=broker)
    started = [web]
    if broker is not None:
        cli = [sys.executable, "-m", "integration.cli"]
        worker = Managed("worker", [*cli, "worker"], env, folder)
        cluster.crashed.append(worker)
        started = [broker, Managed("beat", [*cli, "beat"], env, folder), worker, web]
    for member in started:
        member.start()
        stack.callback(member.stop)
    return cluster


def kill_scenario(cluster: Cluster, args: argparse.Namespace) -> Callable[[float], None]:
    """At evenly spaced moments of the burst: SIGKILL the web process (and the worker), then
    start them again."""
    moments = [args.seconds * (k + 1) / (args.kills + 1) for k in range(args.kills)]

    def disturb(elapsed: float) -> None:
        if moments and elapsed >= moments[0]:
            moments.pop(0)
            for member in cluster.crashed:
                member.kill()
            cluster.kills += 1
            for member in cluster.crashed:
                member.start()

    return disturb


def outage_scenario(cluster: Cluster, args: argparse.Namespace) -> Callable[[float], None]:
    """Halfway through the burst: the PostgreSQL cluster (``outage``) or the Redis broker
    (``broker-outage``, killed: a broker without persistence comes back empty) stops, and
    starts again ``--outage-seconds`` later."""
    done = [False]

    def disturb(elapsed: float) -> None:
        if done[0] or elapsed < args.seconds / 2:
            return
        done[0] = True
        if args.scenario == "broker-outage":
            assert cluster.broker is not None
            cluster.broker.kill()
            time.sleep(args.outage_seconds)
            cluster.broker.start()
        else:
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
    cluster = start_cluster(args, stack, folder, database_url, vendor_url)
    disturb = (kill_scenario(cluster, args) if args.scenario == "kill"
               else outage_scenario(cluster, args))
    tally = Deliveries()
    events = int(args.rate * args.seconds)
    threads = burst(cluster.port, events=events, rate=args.rate, tally=tally,
                    give_up_after=args.drain_seconds)
    began = time.monotonic()
    while any(t.is_alive() for t in threads):
        disturb(time.monotonic() - began)
        time.sleep(0.1)
    counts = wait_processed(database_url, tally.acked, args.drain_seconds)
    return summary(args, events, tally, counts, vendor_stats(vendor_url), cluster.kills)


def summary(args: argparse.Namespace, events: int, tally: Deliveries, counts: dict[str, Any],
            vendor: dict[str, int], kills: int) -> dict[str, Any]:
    """The one JSON object the script prints."""
    statuses = counts["event_statuses"]
    outbox = counts["outbox_statuses"]
    return {
        "scenario": args.scenario, "mode": args.mode,
        "database": "postgresql" if args.database_url else "sqlite",
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
    parser.add_argument("--scenario", choices=("kill", "outage", "broker-outage"),
                        default="kill")
    parser.add_argument("--mode", choices=("embedded", "scaleout"), default="embedded",
                        help="scaleout: Redis, a Celery worker and beat next to the web process")
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
    check_mode(parser, args)
    if args.scenario == "broker-outage" and args.mode != "scaleout":
        parser.error("--scenario broker-outage needs --mode scaleout")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the scenario and print its JSON object."""
    args = parse_args(argv)
    with ExitStack() as stack:
        folder = run_folder(stack, args.keep, "escalade-crash-")
        print(json.dumps(run(args, stack, folder)), flush=True)


if __name__ == "__main__":
    main()
