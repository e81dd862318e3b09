"""A local fake of the Slack Web API: a real HTTP server on 127.0.0.1, in a thread.

slack_sdk speaks urllib, not requests, so the fake sits at the transport: the connector's
``WebClient(base_url=...)`` talks to it over a socket. It keeps channels and messages the way
Slack does (``ts`` per message, threads by ``thread_ts``), answers with Slack's response shapes
(``../shared/specs/slack/samples`` where the method has a sample) and Slack's errors
(``invalid_auth``, ``channel_not_found``, ``message_not_found``); ``fail_next`` scripts a
failure such as HTTP 429 ``ratelimited`` with ``Retry-After``, and ``drop_next`` makes the next
call of a method land (the message is stored) but its answer never arrive, as when the
connection drops or the client times out. Messages keep their ``metadata`` and are listed by
``conversations.history`` / ``conversations.replies`` (newest first / oldest first, as Slack
does, with cursors); ``users.lookupByEmail`` answers from ``users``. Every call is recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.local_http import serving

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs" / "slack" / "samples"
TOKEN = "xoxb-test-token"
TEAM_ID = "T0ESCALADE"
BOT_USER = "U0BOT"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``X-Slack-Signature`` the way Slack computes it (v0, HMAC-SHA256 over ts and body)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Call:
    """One Web API request as the fake received it."""

    method: str
    args: dict[str, Any]
    token: str | None
    content_type: str


@dataclass
class _Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeSlack:
    """State and recorded calls of the fake; tests read ``calls`` and ``messages``."""

    url: str = ""
    channels: set[str] = field(default_factory=lambda: {"C0ALERTS", "C0MANAGERS"})
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    # (channel, ts) -> the message as Slack stores it
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, list[_Failure]] = field(default_factory=dict)
    drops: dict[str, int] = field(default_factory=dict)
    page_size: int = 100
    # Where message ``ts`` values start (Slack's are the post's Unix time); tests with a
    # frozen clock set it to their own "now" so ``oldest`` filters the way Slack's would.
    epoch: int = field(default_factory=lambda: int(time.time()))
    _seq: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, method: str, *, error: str, status: int = 200,
                  headers: dict[str, str] | None = None) -> None:
        """Answer the next call of ``method`` with Slack's error ``error``."""
        self.failures.setdefault(method, []).append(
            _Failure(status=status, body={"ok": False, "error": error}, headers=headers or {}))

    def drop_next(self, method: str, times: int = 1) -> None:
        """Carry out the next call(s) of ``method`` but never answer (the client gives up)."""
        self.drops[method] = self.drops.get(method, 0) + times

    def take_drop(self, method: str) -> bool:
        """Whether this call's answer is to be dropped (used by the HTTP handler)."""
        with self.lock:
            if self.drops.get(method):
                self.drops[method] -= 1
                return True
            return False

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one method, in order."""
        return [c for c in self.calls if c.method == method]

    def top_level(self) -> list[dict[str, Any]]:
        """Messages posted to channels (not thread replies), in order."""
        return [m for m in self.messages.values() if "thread_ts" not in m]

    def replies(self, ts: str) -> list[dict[str, Any]]:
        """Thread replies under the message ``ts``, in order."""
        return [m for m in self.messages.values() if m.get("thread_ts") == ts]

    # --- the methods -----------------------------------------------------------------

    def handle(self, method: str, args: dict[str, Any],
               token: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self.lock:
            queued = self.failures.get(method)
            if queued:
                failure = queued.pop(0)
                return failure.status, failure.body, failure.headers
            if token != TOKEN:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            if handler is None:
                return 200, {"ok": False, "error": "unknown_method"}, {}
            return 200, handler(args), {}

    def _next_ts(self) -> str:
        self._seq += 1
        return f"{self.epoch + self._seq}.{self._seq:06d}"

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        thread_ts = args.get("thread_ts")
        if thread_ts and (channel, thread_ts) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        ts = self._next_ts()
        message = {"type": "message", "user": BOT_USER, "bot_id": "B0BOT", "ts": ts,
                   "text": args.get("text", ""), "blocks": args.get("blocks", [])}
        metadata = args.get("metadata")
        if isinstance(metadata, dict):
            if not isinstance(metadata.get("event_type"), str) or not isinstance(
                    metadata.get("event_payload"), dict):
                return {"ok": False, "error": "invalid_metadata_format"}
            message["metadata"] = metadata
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = args.get("channel"), args.get("ts")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        message = self.messages.get((str(channel), str(ts)))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.update(text=args.get("text", ""), blocks=args.get("blocks", []),
                       edited={"user": BOT_USER, "ts": self._next_ts()})
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"],
                "message": message}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel") not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        if args.get("user") not in self.users:
            return {"ok": False, "error": "user_not_in_channel"}
        return {**_sample("chat.postEphemeral"), "ok": True, "message_ts": self._next_ts(),
                "error": None, "needed": None, "provided": None, "warning": None}

    def _listed(self, message: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        shown = dict(message)
        if str(args.get("include_all_metadata")).lower() not in ("true", "1"):
            shown.pop("metadata", None)
        return shown

    def _page(self, items: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
        start = int(args.get("cursor") or 0)
        size = min(int(args.get("limit") or self.page_size), self.page_size)
        page = items[start:start + size]
        more = start + size < len(items)
        return {"ok": True, "messages": page, "has_more": more,
                "response_metadata": {"next_cursor": str(start + size) if more else ""}}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(args.get("oldest") or 0)
        # Channel history: top-level messages only, newest first.
        found = [self._listed(m, args) for (c, ts), m in self.messages.items()
                 if c == channel and "thread_ts" not in m and float(ts) > oldest]
        return self._page(sorted(found, key=lambda m: float(m["ts"]), reverse=True), args)

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = args.get("channel"), args.get("ts")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        parent = self.messages.get((str(channel), str(ts)))
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        thread = [self._listed(parent, args)] + [
            self._listed(m, args) for (c, _), m in self.messages.items()
            if c == channel and m.get("thread_ts") == ts]
        return self._page(thread, args)

    def _users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        email = str(args.get("email") or "").lower()
        for user in self.users.values():
            if str((user.get("profile") or {}).get("email") or "").lower() == email:
                body = _sample("users.lookupByEmail")
                base = body.get("user", {})
                profile = {**base.get("profile", {}), **user.get("profile", {})}
                return {"ok": True, "user": {**base, **user, "team_id": TEAM_ID,
                                             "deleted": False, "profile": profile}}
        return {"ok": False, "error": "users_not_found"}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        body = _sample("users.info")
        base = body.get("user", {})
        profile = {**base.get("profile", {}), **user.get("profile", {})}
        return {"ok": True, "user": {**base, **user, "team_id": TEAM_ID, "profile": profile}}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {**_sample("auth.test"), "ok": True, "url": "https://escalade-test.slack.com/",
                "team": "Escalade Test", "user": "escalade", "team_id": TEAM_ID,
                "user_id": BOT_USER, "bot_id": "B0BOT", "is_enterprise_install": False,
                "error": None, "warning": None, "needed": None, "provided": None}


def _sample(method: str) -> dict[str, Any]:
    # Slack's published response shape when the specs are around; the fields we set win.
    path = SAMPLES / f"{method}.json"
    if not path.is_file():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    data.pop("enterprise_id", None)
    return data


def _args(handler: BaseHTTPRequestHandler, body: bytes) -> dict[str, Any]:
    args: dict[str, Any] = dict(parse_qsl(urlsplit(handler.path).query))
    content_type = handler.headers.get("Content-Type", "")
    if body and content_type.startswith("application/json"):
        args.update(json.loads(body))
    elif body:
        args.update(parse_qsl(body.decode()))
    for key in ("blocks", "attachments"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args


def _handler_for(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            method = urlsplit(self.path).path.rsplit("/", 1)[-1]
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
            args = _args(self, body)
            with fake.lock:
                fake.calls.append(Call(method=method, args=args, token=token,
                                       content_type=self.headers.get("Content-Type", "")))
            status, payload, headers = fake.handle(method, args, token)
            if fake.take_drop(method):
                # Done, but the answer never arrives: the client sees a dropped connection.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@contextmanager
def running_slack_api() -> Iterator[FakeSlack]:
    """Serve a fresh :class:`FakeSlack` on 127.0.0.1 (a free port) for the block's duration."""
    fake = FakeSlack()
    with serving(_handler_for(fake), name="fake-slack") as url:
        fake.url = f"{url}/api/"
        yield fake
