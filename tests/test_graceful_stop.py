"""``escalade serve`` stopped with SIGTERM: in-hand work finishes, nothing acknowledged is lost."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

from adapters.helpdesk.sandbox import SIGNATURE_HEADER, sign
from tests.conftest import make_ticket, sandbox_body

SECRET = "graceful-stop-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "integration.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=True)


def test_sigterm_finishes_the_work_in_hand_and_exits_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "ESCALADE_DATABASE_URL": f"sqlite:///{tmp_path}/stop.db",
           "ESCALADE_VAR_DIR": str(tmp_path / "var"), "ESCALADE_LOG_FORMAT": "json"}
    run(["db", "upgrade"], env)
    run(["tenant", "add", "acme", "--helpdesk", "sandbox", "--webhook-secret", SECRET,
         "--no-check"], env)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "integration.cli", "serve", "--port", str(port)], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        accepted = []
        for n in range(5):
            body = sandbox_body(make_ticket(tenant="acme", id=f"s{n}"), delivery_id=f"d{n}")
            answer = requests.post(f"{base}/webhooks/sandbox/acme", data=body, timeout=10,
                                   headers={"Content-Type": "application/json",
                                            SIGNATURE_HEADER: sign(body, SECRET)})
            assert answer.status_code == 202
            accepted.append(answer.json()["event_id"])
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=90)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, err
    assert out.rstrip().endswith("stopping: finishing the work in hand\nstopped")
    # Every log line is one JSON object; none is an error.
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert not [line for line in lines if line["level"] in ("error", "critical")]
    # What was acknowledged is decided, or left pending for the next start: never lost.
    assert json.loads(run(["work"], env).stdout)["failed"] == 0
    with sqlite3.connect(tmp_path / "stop.db") as db:
        statuses = db.execute("SELECT status FROM inbound_events").fetchall()
        decided = db.execute("SELECT count(*) FROM tickets WHERE tier IS NOT NULL").fetchone()
    assert sorted(s for (s,) in statuses) == ["done"] * len(accepted)
    assert decided == (len(accepted),)
