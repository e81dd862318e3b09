"""A many-ticket fake Zendesk on 127.0.0.1 for the ingest and crash benchmarks.

    python bench/fake_zendesk.py --port 0      # prints "listening <url>" and serves

Every ticket id exists: ``GET /api/v2/tickets/<n>.json`` is the project's ``ticket_show``
fixture with the id, the requester and the organization made unique to ``n`` (so tickets
do not count as one customer's repeat contacts), and its comments are one page. Every
``PUT /api/v2/tickets/<n>.json`` is counted and its comment kept (and listed back with the
ticket's comments); ``GET /_bench/stats`` says how many updates arrived, for how many
tickets, how many were an identical repeat of an earlier update to the same ticket, and how
many comments (notes, replies) were written twice: a duplicate write-back. The server runs
in its own process: it survives the app being killed, and shares no interpreter lock with
the load generator.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import re
import sys
import threading
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "zendesk"
TICKET_PATH = re.compile(r"^/api/v2/tickets/(\d+)\.json$")
BOT = 9001  # the workspace's bot_user_id: Escalade's own comments
COMMENTS_PATH = re.compile(r"^/api/v2/tickets/(\d+)/comments\.json$")
# Customer texts, so decisions spread over the tiers as real traffic does.
SUBJECTS = (
    ("Charged twice for the November invoice", "We were charged twice for invoice INV-{n}."),
    ("Dashboard not loading", "The dashboard is down for our whole team since this morning."),
    ("How do I export a report?", "Where can I find the CSV export for the monthly report?"),
    ("Cancel our subscription", "We are evaluating other vendors and want to cancel."),
)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeZendesk:
    """The tickets' shapes, and what was written to them."""

    def __init__(self) -> None:
        self.show = _load("ticket_show.json")
        self.comments = _load("ticket_comments.json")
        self.update = _load("ticket_update.json")
        self.lock = threading.Lock()
        self.puts: Counter[tuple[int, str]] = Counter()
        self.reads = 0
        self.notes: dict[int, list[tuple[str, bool]]] = {}

    def ticket(self, n: int) -> dict[str, Any]:
        """``GET /tickets/<n>.json?include=users,organizations``."""
        shown: dict[str, Any] = copy.deepcopy(self.show)
        subject, body = SUBJECTS[n % len(SUBJECTS)]
        org = 100_000 + n % 500
        # Opened just now: the SLA clock starts with the benchmark, nothing is overdue.
        shown["ticket"].update(id=n, subject=subject, raw_subject=subject,
                               description=body.format(n=n), requester_id=self._user(n),
                               organization_id=org, tags=[], custom_fields=[],
                               created_at=_now(), updated_at=_now())
        users = shown["users"]
        users[0].update(id=self._user(n), email=f"ops{n}@customer{org}.example",
                        organization_id=org)
        shown["organizations"][0].update(id=org, name=f"Customer {org}",
                                         domain_names=[f"customer{org}.example"])
        return shown

    def comment_page(self, n: int) -> dict[str, Any]:
        """The ticket's comments: the customer's one message, one page."""
        page: dict[str, Any] = copy.deepcopy(self.comments)
        first = page["comments"][0]
        text = SUBJECTS[n % len(SUBJECTS)][1].format(n=n)
        first.update(author_id=self._user(n), body=text, plain_body=text,
                     html_body=f"<p>{text}</p>", created_at=_now())
        with self.lock:
            written = list(self.notes.get(n, ()))
        # What Escalade wrote is read back: a write-back retried after a lost answer must
        # find its note here and not write it again.
        page["comments"] = [first, *({**first, "id": 9800 + i, "author_id": BOT,
                                      "body": body, "plain_body": body,
                                      "html_body": f"<p>{body}</p>", "public": public}
                                     for i, (body, public) in enumerate(written))]
        page["users"] = []
        page["meta"] = {"has_more": False, "after_cursor": None, "before_cursor": None}
        page["links"] = {"next": None, "prev": None}
        return page

    def record_put(self, n: int, body: bytes) -> dict[str, Any]:
        """Count one update to ticket ``n``; answer as Zendesk does."""
        digest = hashlib.sha256(body).hexdigest()
        comment = (json.loads(body).get("ticket") or {}).get("comment")
        with self.lock:
            self.puts[(n, digest)] += 1
            if comment:
                self.notes.setdefault(n, []).append(
                    (str(comment.get("body") or comment.get("html_body")),
                     bool(comment.get("public"))))
        answer: dict[str, Any] = copy.deepcopy(self.update)
        answer["ticket"]["id"] = n
        return answer

    def stats(self) -> dict[str, int]:
        """Updates received, tickets updated, identical repeats."""
        with self.lock:
            counts = list(self.puts.items())
            reads = self.reads
            notes = [Counter(written) for written in self.notes.values()]
        return {
            "updates": sum(c for _, c in counts),
            "tickets_updated": len({n for (n, _), _ in counts}),
            "duplicate_updates": sum(c - 1 for _, c in counts),
            "comments": sum(sum(c.values()) for c in notes),
            "duplicate_comments": sum(k - 1 for c in notes for k in c.values()),
            "reads": reads,
        }

    @staticmethod
    def _user(n: int) -> int:
        return 10_000_000 + n


def handler_for(fake: FakeZendesk) -> type[BaseHTTPRequestHandler]:
    """A request handler answering from ``fake`` (HTTP/1.1, keep-alive)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes; with Nagle on, the body waits for the
        # client's delayed ACK (40 ms on Linux), which a real API does not add.
        disable_nagle_algorithm = True

        def _answer(self, status: int, answer: Any) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = urlsplit(self.path).path
            if path == "/_bench/stats":
                return self._answer(200, fake.stats())
            with fake.lock:
                fake.reads += 1
            if match := TICKET_PATH.match(path):
                return self._answer(200, fake.ticket(int(match[1])))
            if match := COMMENTS_PATH.match(path):
                return self._answer(200, fake.comment_page(int(match[1])))
            return self._answer(404, {"error": "RecordNotFound"})

        def do_PUT(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            match = TICKET_PATH.match(urlsplit(self.path).path)
            if match is None:
                return self._answer(404, {"error": "RecordNotFound"})
            return self._answer(200, fake.record_put(int(match[1]), raw))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main() -> None:
    """Serve until killed; the first line printed is ``listening <url>``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    port = parser.parse_args().port
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(FakeZendesk()))
    server.daemon_threads = True
    print(f"listening http://127.0.0.1:{server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
