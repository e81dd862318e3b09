"""Benchmark the webhook path of a running app: signed Zendesk webhooks at a steady rate.

    python bench/ingest.py                                   # embedded, SQLite, 300/s for 60 s
    python bench/ingest.py --rate 100 --seconds 10           # shorter
    python bench/ingest.py --database-url postgresql+psycopg://u:p@127.0.0.1:5444/postgres
    python bench/ingest.py --mode scaleout --database-url ...  # plus worker, beat and Redis
    python bench/ingest.py --mode scaleout --worker-pool threads --worker-concurrency 16 ...

Starts ``escalade serve`` on 127.0.0.1 (in scale-out mode the web runs under gunicorn, one
process per core, as ``deploy/compose.yaml`` runs it, and the worker at ``--worker-nice``)
over a fresh data folder (for PostgreSQL a fresh database on the server the URL names,
dropped afterwards), one Zendesk workspace with a
signing secret whose write-backs go to a fake Zendesk on 127.0.0.1 (``fake_zendesk.py``),
then sends one new ticket's ``ticket.created`` webhook per event at ``--rate`` for
``--seconds`` (open loop: a slow answer does not slow the sending). Then it waits until every
acknowledged event is decided and its write-back delivered, and prints ONE JSON object:

- ``events_per_s``: acknowledged per second of sending; ``ack_p50_ms`` / ``ack_p99_ms``: from
  sending a request to its answer;
- ``decision_p50_ms`` / ``decision_p99_ms``: stored -> decided, from the database timestamps;
- ``outbox_lag_ms``: the 99th percentile of a write-back's wait (created -> delivered);
- ``errors``: answers other than 202 and failed requests; ``lost``: acknowledged events the
  database does not hold; ``undecided``: acknowledged events not done after the drain.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
TENANT = "bench"
SENDERS = 64
DRAIN_SECONDS = 300.0
WARM_UP_FIRST = 900_000_000

# Scale-out mode: the processes started next to ``escalade serve`` (name, command, extra env).
# ``{python}``, ``{redis_port}`` are filled in; the web process gets the same environment.
# The worker runs below the web processes' CPU priority (``--nice``), as an operator sharing
# one machine would run background work: a backlog of decisions must not hold back the
# acknowledgments.
SCALEOUT_PROCESSES: list[tuple[str, list[str], dict[str, str]]] = [
    ("redis", ["redis-server", "--port", "{redis_port}", "--save", "", "--appendonly", "no"],
     {}),
    ("worker", ["{python}", "-m", "integration.cli", "worker", "--pool", "{pool}",
                "--concurrency", "{concurrency}", "--nice", "{nice}"], {}),
    ("beat", ["{python}", "-m", "integration.cli", "beat"], {}),
]
SCALEOUT_ENV = {"ESCALADE_MODE": "scaleout",
                "ESCALADE_BROKER_URL": "redis://127.0.0.1:{redis_port}/0"}


@dataclass
class Tally:
    """What the senders saw."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    ack_ms: list[float] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0

    def add(self, status: str, ms: float, delivery: str) -> None:
        """Record one answer (``status`` "202", "503", ... or an exception's name)."""
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == "202":
                self.ack_ms.append(ms)
                self.acked.append(delivery)
            else:
                self.errors += 1


def percentile(values: list[float], p: float) -> float | None:
    """The ``p``-th percentile (nearest rank), None when there are no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[rank], 1)


def zendesk_webhook(n: int, delivery: str, now: datetime) -> tuple[bytes, dict[str, str]]:
    """A signed ``ticket.created`` event subscription for ticket ``n``."""
    body = json.dumps({
        "type": "zen:event-type:ticket.created", "account_id": 1234567, "id": delivery,
        "time": now.isoformat().replace("+00:00", "Z"), "zendesk_event_version": "2022-11-06",
        "subject": f"zen:ticket:{n}",
        "detail": {"id": str(n), "status": "NEW", "subject": "bench", "requester_id": "1",
                   "created_at": "2026-11-02T09:14:00Z", "updated_at": "2026-11-02T09:14:00Z"},
    }).encode()
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(SECRET.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return body, {"Content-Type": "application/json",
                  "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
                  "X-Zendesk-Webhook-Signature-Timestamp": stamp}


def send_load(port: int, *, rate: float, seconds: float, first: int = 1) -> Tally:
    """Open-loop sending: event ``i`` leaves at ``start + i / rate`` whatever came back."""
    tally = Tally()
    total = int(rate * seconds)
    counter = iter(range(total))
    lock = threading.Lock()
    start = time.monotonic() + 0.2

    def sender() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            connection = _send_one(connection, port, first + i, tally)
        connection.close()

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def _send_one(connection: http.client.HTTPConnection, port: int, n: int,
              tally: Tally) -> http.client.HTTPConnection:
    delivery = uuid.uuid4().hex
    body, headers = zendesk_webhook(n, delivery, datetime.now(UTC))
    began = time.perf_counter()
    try:
        connection.request("POST", f"/webhooks/zendesk/{TENANT}", body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        tally.add(str(answer.status), (time.perf_counter() - began) * 1000, delivery)
        if answer.getheader("Connection", "").lower() == "close":
            connection.close()
    except (OSError, http.client.HTTPException) as err:
        tally.add(type(err).__name__, 0.0, delivery)
        connection.close()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    return connection


@contextmanager
def process(name: str, command: list[str], env: dict[str, str], log_dir: Path,
            ready: str | None = None) -> Iterator[subprocess.Popen[str]]:
    """Run ``command`` with its output in ``log_dir``; stopped (then killed) on exit."""
    log = (log_dir / f"{name}.log").open("w")
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE if ready else log,
                            stderr=log, text=True)
    try:
        if ready and proc.stdout is not None:
            line = proc.stdout.readline()
            if not line.startswith(ready):
                raise RuntimeError(f"{name} did not start: {line!r}; see {log_dir}/{name}.log")
            proc.ready_line = line.strip()  # type: ignore[attr-defined]
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        log.close()


def run_cli(args: list[str], env: dict[str, str]) -> str:
    """One ``escalade`` command; its output, or a RuntimeError naming it."""
    done = subprocess.run([sys.executable, "-m", "integration.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"escalade {args[0]} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fresh_database(url: str | None, folder: Path) -> Iterator[str]:
    """A SQLite file in ``folder``, or a new database on ``url``'s PostgreSQL server."""
    if url is None:
        yield f"sqlite:///{folder}/escalade.db"
        return
    name = f"escalade_bench_{os.getpid()}_{int(time.time())}"
    # No pool: a connection kept from before a server restart would be a dead one.
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def app_env(folder: Path, database_url: str, extra: dict[str, str]) -> dict[str, str]:
    """The environment every Escalade process of the run gets."""
    return {**os.environ, "ESCALADE_DATABASE_URL": database_url,
            "ESCALADE_VAR_DIR": str(folder / "var"), "ESCALADE_LOG_FORMAT": "json",
            "PYTHONPATH": str(ROOT), **extra}


def set_up_workspace(env: dict[str, str], vendor_url: str) -> None:
    """Schema, and the Zendesk workspace writing back to the fake vendor."""
    run_cli(["db", "upgrade"], env)
    run_cli(["tenant", "add", TENANT, "--helpdesk", "zendesk", "--base-url", vendor_url,
             "--email", "bot@bench.example", "--api-token", "bench-token",
             "--webhook-secret", SECRET, "--option", "bot_user_id=9001", "--no-check"], env)


def wait_healthy(port: int, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    """Return once ``/healthz`` answers 200; raise when the server died or never did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"escalade serve exited with {proc.returncode}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise RuntimeError("escalade serve did not become healthy")


def serve_command(port: int, *, gunicorn: bool = False) -> list[str]:
    """The web process on 127.0.0.1:``port``: ``escalade serve``, or gunicorn as
    ``deploy/compose.yaml`` runs it in scale-out mode (one process per core here)."""
    if gunicorn:
        return [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                "--workers", str(os.cpu_count() or 1), "--threads", "4",
                "integration.web:create_app()"]
    return [sys.executable, "-m", "integration.cli", "serve", "--port", str(port)]


@contextmanager
def running_app(stack: ExitStack, folder: Path, database_url: str, vendor_url: str,
                mode: str, *, pool: str = "prefork", concurrency: int = 2,
                nice: int = 19) -> Iterator[tuple[int, int]]:
    """The app (and in scale-out mode its other processes), ready for webhooks."""
    redis_port = free_port()
    fill = {"python": sys.executable, "redis_port": str(redis_port), "pool": pool,
            "concurrency": str(concurrency), "nice": str(nice)}
    extra = {k: v.format(**fill) for k, v in SCALEOUT_ENV.items()} if mode == "scaleout" else {}
    env = app_env(folder, database_url, extra)
    if mode == "scaleout":
        for name, command, more in SCALEOUT_PROCESSES:
            stack.enter_context(process(name, [c.format(**fill) for c in command],
                                        {**env, **more}, folder))
    set_up_workspace(env, vendor_url)
    port = free_port()
    command = serve_command(port, gunicorn=mode == "scaleout")
    server = stack.enter_context(process("serve", command, env, folder))
    wait_healthy(port, server)
    yield port, server.pid


def wait_processed(database_url: str, acked: list[str], timeout: float) -> dict[str, Any]:
    """Wait until no acknowledged event or write-back is left to do; the database's view."""
    engine = create_engine(database_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            counts = database_counts(engine, acked)
            if not counts["open"] or time.monotonic() > deadline:
                return counts
            time.sleep(1.0)
    finally:
        engine.dispose()


def database_counts(engine: Any, acked: list[str]) -> dict[str, Any]:
    """Stored, decided and delivered counts, and the stored -> decided / delivery waits."""
    with engine.connect() as c:
        stored = {row[0]: row[1] for row in c.execute(text(
            "SELECT delivery_id, status FROM inbound_events"))}
        waits = [_ms(r, d) for r, d in c.execute(text(
            "SELECT e.received_at, d.decided_at FROM decisions d "
            "JOIN inbound_events e ON e.id = d.event_id"))]
        lags = [_ms(cr, d) for cr, d in c.execute(text(
            "SELECT created_at, delivered_at FROM outbox WHERE delivered_at IS NOT NULL"))]
        outbox = dict(c.execute(text("SELECT status, count(*) FROM outbox GROUP BY status")).all())
        decisions = c.execute(text(
            "SELECT count(*), count(DISTINCT event_id) FROM decisions WHERE cause = 'event'")
        ).one()
    unfinished = [d for d in acked if stored.get(d) in ("pending", "processing")]
    return {
        "lost": sum(1 for d in acked if d not in stored),
        "undecided": len(unfinished),
        "open": len(unfinished) + outbox.get("pending", 0) + outbox.get("inflight", 0),
        "event_statuses": _count(stored.values()),
        "outbox_statuses": outbox,
        "decisions": decisions[0],
        "duplicate_decisions": decisions[0] - decisions[1],
        "decision_ms": waits,
        "outbox_ms": lags,
    }


def _ms(earlier: Any, later: Any) -> float:
    return (_time(later) - _time(earlier)).total_seconds() * 1000


def _time(value: Any) -> datetime:
    # Raw SQL on SQLite hands back the stored text (naive UTC); PostgreSQL a datetime.
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(at, datetime):
        raise TypeError(f"not a time: {value!r}")
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` and its live children have used (Linux
    ``/proc``; gunicorn's request processes are its children)."""
    total = 0.0
    for one in (pid, *_children(pid)):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended since it was listed
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[int]:
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in listed]


def vendor_stats(vendor_url: str) -> dict[str, int]:
    """What the fake Zendesk received."""
    port = int(vendor_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/_bench/stats")
        stats: dict[str, int] = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    return stats


def report(args: argparse.Namespace, tally: Tally, counts: dict[str, Any],
           vendor: dict[str, int]) -> dict[str, Any]:
    """The one JSON object the script prints."""
    return {
        "mode": args.mode,
        "database": "postgresql" if args.database_url else "sqlite",
        "rate": args.rate, "seconds": args.seconds, "sent": int(args.rate * args.seconds),
        "events_per_s": round(len(tally.acked) / args.seconds, 1),
        "ack_p50_ms": percentile(tally.ack_ms, 50),
        "ack_p99_ms": percentile(tally.ack_ms, 99),
        "ack_max_ms": percentile(tally.ack_ms, 100),
        "decision_p50_ms": percentile(counts["decision_ms"], 50),
        "decision_p99_ms": percentile(counts["decision_ms"], 99),
        "outbox_lag_ms": percentile(counts["outbox_ms"], 99),
        "outbox_lag_p50_ms": percentile(counts["outbox_ms"], 50),
        "errors": tally.errors, "answers": tally.statuses,
        "lost": counts["lost"], "undecided": counts["undecided"],
        "duplicate_decisions": counts["duplicate_decisions"],
        "event_statuses": counts["event_statuses"], "outbox_statuses": counts["outbox_statuses"],
        "vendor_updates": vendor["updates"],
        "vendor_duplicate_updates": vendor["duplicate_updates"],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("embedded", "scaleout"), default="embedded")
    parser.add_argument("--rate", type=float, default=300.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server to create a fresh database on "
                             "(default: SQLite in a temporary folder)")
    parser.add_argument("--drain-seconds", type=float, default=DRAIN_SECONDS)
    parser.add_argument("--worker-pool", choices=("prefork", "threads"), default="prefork",
                        help="scaleout: how the Celery worker runs tasks at once")
    parser.add_argument("--worker-concurrency", type=int, default=2,
                        help="scaleout: tasks the Celery worker runs at once")
    parser.add_argument("--worker-nice", type=int, default=19,
                        help="scaleout: the worker's CPU priority below the web's (0: same)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="use (and keep) this folder for the data and the logs")
    args = parser.parse_args(argv)
    check_mode(parser, args)
    return args


def check_mode(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Scale-out mode runs on PostgreSQL only: refuse it without ``--database-url``."""
    if args.mode == "scaleout" and not args.database_url:
        parser.error("--mode scaleout needs --database-url (PostgreSQL)")


def run_folder(stack: ExitStack, keep: Path | None, prefix: str) -> Path:
    """``keep`` (created if need be), else a temporary folder removed when ``stack`` closes."""
    folder = keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main(argv: list[str] | None = None) -> None:
    """Run one benchmark and print its JSON object."""
    args = parse_args(argv)
    with ExitStack() as stack:
        folder = run_folder(stack, args.keep, "escalade-ingest-")
        vendor = stack.enter_context(process(
            "vendor", [sys.executable, str(ROOT / "bench" / "fake_zendesk.py")],
            dict(os.environ), folder, ready="listening"))
        vendor_url = vendor.ready_line.split()[1]  # type: ignore[attr-defined]
        database_url = stack.enter_context(fresh_database(args.database_url, folder))
        port, pid = stack.enter_context(
            running_app(stack, folder, database_url, vendor_url, args.mode,
                        pool=args.worker_pool, concurrency=args.worker_concurrency,
                        nice=args.worker_nice))
        # A few events first: the first requests import the vendor client and read the
        # workspace; steady state is what is measured.
        send_load(port, rate=20, seconds=1, first=WARM_UP_FIRST)
        cpu = cpu_seconds(pid)
        tally = send_load(port, rate=args.rate, seconds=args.seconds)
        cpu = cpu_seconds(pid) - cpu
        counts = wait_processed(database_url, tally.acked, args.drain_seconds)
        result = report(args, tally, counts, vendor_stats(vendor_url))
        # CPU the serve process spent per acknowledged event while the load ran (webhooks,
        # and the in-process workers too): steadier than wall times on a shared machine.
        result["serve_cpu_ms_per_event"] = round(cpu * 1000 / max(len(tally.acked), 1), 2)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
