"""Small stateful fakes of Zendesk, Freshdesk and Intercom: what is written can be read back.

Each fake answers the calls an adapter makes to write back to one ticket (and to check what
landed), from the project's vendor fixtures, and keeps the notes and replies it was sent.
It is served two ways: through ``responses`` (``mount``) for in-process tests, or as a real
HTTP server on 127.0.0.1 (``serve``) for a worker process. A hook runs after every write the
fake applied, so a test can lose the answer (a timeout after the vendor applied it) or hold
it while the worker is killed.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import requests
import responses

from tests import recorded
from tests.local_http import serving

__all__ = ["FAKES", "FakeHelpdesk", "Said", "Written", "mount", "serve"]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TICKET = "4711"
CONVERSATION = "215470900158741"
BOT = 9001
ADMIN = "991267001"

# What one write did: "note" or "reply" (a comment), "update" (anything else).
Hook = Callable[[str], bool]


def _load(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / name).read_text(encoding="utf-8"))


@dataclass
class Written:
    """A note or reply the fake was sent, as sent."""

    kind: str
    body: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Said:
    """A customer's message in a conversation a test wrote."""

    body: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeHelpdesk:
    """One ticket at one vendor; ``handle`` answers a request and says what it wrote."""

    identifier: ClassVar[str]
    ticket_id: ClassVar[str]
    comments: list[Written] = field(default_factory=list)
    writes: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # A conversation a test wrote: the subject and the customer's messages. When set, the
    # ticket is only that plus what Escalade wrote, instead of the fixtures' story.
    subject: str | None = None
    said: list[Said] = field(default_factory=list)
    health: float = 0.8

    def ask(self, subject: str, body: str, at: datetime | None = None) -> None:
        """Start the ticket as a customer's question."""
        self.subject = subject
        self.said = [Said(body=body, at=at or datetime.now(UTC))]

    def customer_writes(self, body: str, *, after: float = 2.0) -> None:
        """The customer adds a message ``after`` seconds from now (vendors stamp whole seconds)."""
        self.said.append(Said(body=body, at=datetime.now(UTC) + timedelta(seconds=after)))

    def notes(self) -> list[str]:
        """Bodies of the internal notes written."""
        return [c.body for c in self.comments if c.kind == "note"]

    def replies(self) -> list[str]:
        """Bodies of the customer replies written."""
        return [c.body for c in self.comments if c.kind == "reply"]

    def handle(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, str | None]:
        """(status, JSON answer, what was written or None for a read)."""
        with self.lock:
            status, answer, kind = self._handle(method, path, query, body)
            if kind is not None:
                self.writes.append((method, path))
            return status, answer, kind

    def _handle(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, str | None]:
        raise NotImplementedError

    def tenant(self, base_url: str | None, *, group_ids: dict[str, int]) -> dict[str, Any]:
        """``store.add_tenant`` keywords for a tenant connected to this fake."""
        raise NotImplementedError


def _missing(method: str, path: str) -> tuple[int, Any, None]:
    return 404, {"error": f"the fake has no {method} {path}"}, None


class FakeZendesk(FakeHelpdesk):
    """Zendesk ticket 4711: the ticket, its update and its comments."""

    identifier = "zendesk"
    ticket_id = TICKET

    def __init__(self) -> None:
        super().__init__()
        self.tags = list(_load("zendesk", "ticket_show.json")["ticket"]["tags"])
        self.updates: list[dict[str, Any]] = []

    def _handle(self, method: str, path: str, query: dict[str, str],
                body: Any) -> tuple[int, Any, str | None]:
        base = f"/api/v2/tickets/{TICKET}"
        if (method, path) == ("GET", f"{base}.json"):
            shown = copy.deepcopy(_load("zendesk", "ticket_show.json"))
            shown["ticket"]["tags"] = list(self.tags)
            if self.subject is not None:
                shown["ticket"].update(subject=self.subject, description=self.said[0].body,
                                       created_at=_iso(self.said[0].at))
                # A conversation a test writes is from a healthy account unless it says not.
                for organization in shown.get("organizations", ()):
                    organization["organization_fields"]["health"] = self.health
            return 200, shown, None
        if (method, path) == ("PUT", f"{base}.json"):
            ticket = body["ticket"]
            self.updates.append(ticket)
            self.tags = list(ticket.get("tags", self.tags))
            comment = ticket.get("comment")
            kind = "update"
            if comment is not None:
                kind = "reply" if comment.get("public") else "note"
                self.comments.append(Written(kind=kind, body=comment["body"]))
            return 200, _load("zendesk", "ticket_update.json"), kind
        if (method, path) == ("GET", f"{base}/comments.json") and self.subject is not None:
            return 200, self._conversation(), None
        if (method, path) == ("GET", f"{base}/comments.json"):
            page = copy.deepcopy(_load("zendesk", "ticket_comments_page2.json"))
            template = page["comments"][0]
            comments = list(page["comments"])
            for n, written in enumerate(self.comments):
                comment = copy.deepcopy(template)
                comment.update(id=9500 + n, author_id=BOT, body=written.body,
                               plain_body=written.body, html_body=f"<p>{written.body}</p>",
                               public=written.kind == "reply",
                               created_at=f"2026-11-03T10:{10 + n:02d}:00Z")
                comments.append(comment)
            if query.get("sort") == "-created_at":
                comments.reverse()
            page["comments"] = comments
            page["meta"] = {"has_more": False, "after_cursor": None, "before_cursor": None}
            page["links"] = {"next": None, "prev": None}
            return 200, page, None
        return _missing(method, path)

    def _conversation(self) -> dict[str, Any]:
        """One page of comments: the customer's (requester 1001) and Escalade's, in time order."""
        page: dict[str, Any] = copy.deepcopy(_load("zendesk", "ticket_comments.json"))
        template = page["comments"][0]
        requester = next(u for u in page["users"] if u["id"] == 1002)
        comments = []
        for n, said in enumerate(self.said):
            comments.append({**copy.deepcopy(template), "id": 9700 + n, "author_id": 1001,
                             "body": said.body, "plain_body": said.body,
                             "html_body": f"<p>{said.body}</p>", "public": True,
                             "created_at": _iso(said.at)})
        for n, written in enumerate(self.comments):
            comments.append({**copy.deepcopy(template), "id": 9800 + n, "author_id": BOT,
                             "body": written.body, "plain_body": written.body,
                             "html_body": f"<p>{written.body}</p>",
                             "public": written.kind == "reply", "created_at": _iso(written.at)})
        page["comments"] = sorted(comments, key=lambda c: (c["created_at"], c["id"]))
        page["users"] = [{**requester, "id": 1001, "role": "end-user"},
                         {**requester, "id": BOT, "role": "agent", "name": "Escalade"}]
        page["meta"] = {"has_more": False, "after_cursor": None, "before_cursor": None}
        page["links"] = {"next": None, "prev": None}
        return page

    def tenant(self, base_url: str | None, *, group_ids: dict[str, int]) -> dict[str, Any]:
        """Zendesk as ``escalade tenant add`` stores it."""
        return {"helpdesk": "zendesk", "base_url": base_url or "https://acme.zendesk.com",
                "secrets": {"email": "bot@acme.example", "api_token": "t0ken",
                            "webhook_secret": "zd-secret"},
                "settings": {"tier_field_id": 360001234, "bot_user_id": BOT,
                             "group_ids": group_ids}}


class FakeFreshdesk(FakeHelpdesk):
    """Freshdesk ticket 4711: the ticket, its update, notes, replies and conversations."""

    identifier = "freshdesk"
    ticket_id = TICKET

    def __init__(self) -> None:
        super().__init__()
        self.tags = list(_load("freshdesk", "ticket_view.json")["tags"])
        self.updates: list[dict[str, Any]] = []

    def _handle(self, method: str, path: str, query: dict[str, str],
                body: Any) -> tuple[int, Any, str | None]:
        base = f"/api/v2/tickets/{TICKET}"
        if (method, path) == ("GET", base):
            ticket = copy.deepcopy(_load("freshdesk", "ticket_view.json"))
            ticket["tags"] = list(self.tags)
            if self.subject is not None:
                first = self.said[0]
                ticket.update(subject=self.subject, description=f"<div>{first.body}</div>",
                              description_text=first.body, created_at=_iso(first.at))
            return 200, ticket, None
        if (method, path) == ("PUT", base):
            self.updates.append(body)
            self.tags = list(body.get("tags", self.tags))
            return 200, _load("freshdesk", "ticket_updated.json"), "update"
        if method == "POST" and path in (f"{base}/notes", f"{base}/reply"):
            kind = "note" if path.endswith("/notes") else "reply"
            self.comments.append(Written(kind=kind, body=body["body"]))
            made = copy.deepcopy(_load("freshdesk", "note_created.json" if kind == "note"
                                       else "reply_created.json"))
            made.update(id=8200 + len(self.comments), body=body["body"],
                        body_text=_text(body["body"]))
            return 201, made, kind
        if (method, path) == ("GET", "/api/v2/companies/501"):
            company = copy.deepcopy(_load("freshdesk", "company.json"))
            if self.subject is not None:
                company["health_score"] = "Healthy"
                company["custom_fields"]["health"] = self.health
            return 200, company, None
        if (method, path) == ("GET", f"{base}/conversations"):
            conversations = copy.deepcopy(_load("freshdesk", "conversations.json"))
            customer = next(c for c in conversations if c["incoming"])
            if self.subject is not None:
                conversations = [{**copy.deepcopy(customer), "id": 8400 + n, "user_id": 1001,
                                  "body": f"<div>{said.body}</div>", "body_text": said.body,
                                  "created_at": _iso(said.at), "updated_at": _iso(said.at)}
                                 for n, said in enumerate(self.said[1:])]
            template = _load("freshdesk", "note_created.json")
            for n, written in enumerate(self.comments):
                item = copy.deepcopy(template)
                item.update(id=8300 + n, body=written.body, body_text=_text(written.body),
                            private=written.kind == "note")
                if self.subject is not None:
                    item.update(created_at=_iso(written.at), updated_at=_iso(written.at))
                conversations.append(item)
            if self.subject is not None:
                conversations.sort(key=lambda c: c["created_at"])
            return 200, conversations, None
        return _missing(method, path)

    def tenant(self, base_url: str | None, *, group_ids: dict[str, int]) -> dict[str, Any]:
        """Freshdesk as ``escalade tenant add`` stores it."""
        return {"helpdesk": "freshdesk", "base_url": base_url or "https://acme.freshdesk.com",
                "secrets": {"api_key": "fd-api-key-made-up",
                            "webhook_secret": "whsec-made-up-for-these-tests"},
                "settings": {"tier_field": "cf_escalade_tier", "group_ids": group_ids}}


class FakeIntercom(FakeHelpdesk):
    """Intercom conversation: attributes, tags, notes, replies, assignments and its parts."""

    identifier = "intercom"
    ticket_id = CONVERSATION

    def __init__(self) -> None:
        super().__init__()
        conversation = _load("intercom", "conversation.json")
        self.tags = [(t["id"], t["name"]) for t in conversation["tags"]["tags"]]
        listed = _load("intercom", "tags.json")["data"]
        self.workspace = {t["name"].lower(): t["id"] for t in listed}
        self.assignments: list[dict[str, Any]] = []
        self.assignees = {"team": conversation["team_assignee_id"],
                          "admin": conversation["admin_assignee_id"]}

    def _handle(self, method: str, path: str, query: dict[str, str],
                body: Any) -> tuple[int, Any, str | None]:
        base = f"/conversations/{CONVERSATION}"
        if (method, path) == ("GET", base):
            return 200, self._conversation(), None
        if (method, path) == ("PUT", base):
            return 200, self._conversation(), "update"
        if (method, path) == ("GET", "/tags"):
            data = [{"type": "tag", "id": i, "name": n} for n, i in self.workspace.items()]
            return 200, {"type": "list", "data": data}, None
        if (method, path) == ("POST", "/tags"):
            tag_id = self.workspace.setdefault(body["name"].lower(), str(300 + len(self.workspace)))
            return 200, {"type": "tag", "id": tag_id, "name": body["name"]}, None
        if (method, path) == ("POST", f"{base}/tags"):
            name = next(n for n, i in self.workspace.items() if i == body["id"])
            self.tags.append((body["id"], name))
            return 200, {"type": "tag", "id": body["id"], "name": name}, "update"
        if method == "DELETE" and path.startswith(f"{base}/tags/"):
            tag_id = path.rsplit("/", 1)[1]
            name = next((n for i, n in self.tags if i == tag_id), "gone")
            self.tags = [(i, n) for i, n in self.tags if i != tag_id]
            return 200, {"type": "tag", "id": tag_id, "name": name}, "update"
        if (method, path) == ("POST", f"{base}/reply"):
            kind = "note" if body["message_type"] == "note" else "reply"
            self.comments.append(Written(kind=kind, body=body["body"]))
            return 200, self._conversation(), kind
        if (method, path) == ("POST", f"{base}/parts"):
            self.assignments.append(body)
            self.assignees[body["type"]] = int(body["assignee_id"])
            return 200, self._conversation(), "update"
        return _missing(method, path)

    def _conversation(self) -> dict[str, Any]:
        conversation: dict[str, Any] = copy.deepcopy(_load("intercom", "conversation.json"))
        conversation["team_assignee_id"] = self.assignees["team"]
        conversation["admin_assignee_id"] = self.assignees["admin"]
        applied = conversation["tags"]["tags"][0]
        conversation["tags"]["tags"] = [{**applied, "id": i, "name": n} for i, n in self.tags]
        parts = conversation["conversation_parts"]["conversation_parts"]
        template = next(p for p in parts if p["author"]["type"] == "admin")
        customer = next(p for p in parts if p["author"]["type"] == "user")
        if self.subject is not None:
            first = self.said[0]
            conversation["source"].update(subject=self.subject, body=f"<p>{first.body}</p>")
            conversation["created_at"] = int(first.at.timestamp())
            parts[:] = [{**copy.deepcopy(customer), "id": str(9700 + n),
                         "body": f"<p>{said.body}</p>", "created_at": int(said.at.timestamp()),
                         "updated_at": int(said.at.timestamp())}
                        for n, said in enumerate(self.said[1:])]
        for n, written in enumerate(self.comments):
            part = copy.deepcopy(template)
            part.update(id=str(9600 + n), body=written.body,
                        part_type="note" if written.kind == "note" else "comment")
            if self.subject is not None:
                part.update(created_at=int(written.at.timestamp()),
                            updated_at=int(written.at.timestamp()))
            part["author"] = {**template["author"], "id": ADMIN, "name": "Escalade"}
            parts.append(part)
        if self.subject is not None:
            parts.sort(key=lambda p: p["created_at"])
        conversation["conversation_parts"]["total_count"] = len(parts)
        return conversation

    def tenant(self, base_url: str | None, *, group_ids: dict[str, int]) -> dict[str, Any]:
        """Intercom as ``escalade tenant add`` stores it."""
        return {"helpdesk": "intercom", "base_url": base_url,
                "secrets": {"access_token": "dG9rOmFjbWU=", "webhook_secret": "ic-secret"},
                "settings": {"admin_id": ADMIN, "tier_attribute": "Escalade tier",
                             "team_ids": {k: str(v) for k, v in group_ids.items()}}}


FAKES: dict[str, type[FakeHelpdesk]] = {
    "zendesk": FakeZendesk, "freshdesk": FakeFreshdesk, "intercom": FakeIntercom,
}
# Where each vendor's adapter sends its calls when the tenant has no base_url of its own.
HOSTS = {"zendesk": "https://acme.zendesk.com", "freshdesk": "https://acme.freshdesk.com",
         "intercom": "https://api.intercom.io"}


def _text(html_body: str) -> str:
    return re.sub(r"<[^>]+>", "\n", html_body).strip()


def _never(kind: str) -> bool:
    return False


def mount(rsps: responses.RequestsMock, fake: FakeHelpdesk, *, lose_answer: Hook = _never,
          host: str | None = None,
          lost_with: type[requests.RequestException] = requests.ReadTimeout) -> None:
    """Answer every request to the vendor's host from ``fake``.

    ``lose_answer(kind)`` True: the write is applied, then the call fails with ``lost_with``
    (a read timeout; or a dropped connection) as if the answer never came back.
    """
    root = host or HOSTS[fake.identifier]

    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(str(request.url))
        body = recorded.sent_json(request) if request.body else None
        status, answer, kind = fake.handle(str(request.method), parts.path,
                                           dict(parse_qsl(parts.query)), body)
        if kind is not None and lose_answer(kind):
            raise lost_with(f"no answer after the {kind} was applied")
        return status, {"Content-Type": "application/json"}, json.dumps(answer)

    pattern = re.compile(re.escape(root) + r"/.*")
    for method in (responses.GET, responses.PUT, responses.POST, responses.DELETE):
        rsps.add_callback(method, pattern, callback=callback)


@contextmanager
def serve(fake: FakeHelpdesk, *, after_write: Hook = _never) -> Iterator[str]:
    """Serve ``fake`` on 127.0.0.1; yields the base URL.

    ``after_write(kind)`` runs once the write is applied, before the answer; it may block
    (the caller kills the client meanwhile), and True drops the connection unanswered.
    """

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            status, answer, kind = fake.handle(self.command, parts.path,
                                               dict(parse_qsl(parts.query)),
                                               json.loads(raw) if raw else None)
            if kind is not None and after_write(kind):
                self.close_connection = True
                return
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client is gone (killed): nobody hears the answer

        do_GET = do_PUT = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler, name="fake-helpdesk") as url:
        yield url
