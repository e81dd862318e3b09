"""A local fake of the Slack Web API: a real HTTP server on 127.0.0.1, in a thread.

slack_sdk speaks urllib, not requests, so the fake sits at the transport: the connector's
``WebClient(base_url=...)`` talks to it over a socket. It keeps channels and messages the way
Slack does (``ts`` per message, threads by ``thread_ts``), answers with Slack's response shapes
(``../shared/specs/slack/samples`` where the method has a sample) and Slack's errors
(``invalid_auth``, ``channel_not_found``, ``message_not_found``); ``fail_next`` scripts a
failure such as HTTP 429 ``ratelimited`` with ``Retry-After``. Every call is recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

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
    _clock: int = 1_764_000_000
    _seq: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, method: str, *, error: str, status: int = 200,
                  headers: dict[str, str] | None = None) -> None:
        """Answer the next call of ``method`` with Slack's error ``error``."""
        self.failures.setdefault(method, []).append(
            _Failure(status=status, body={"ok": False, "error": error}, headers=headers or {}))

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
        return f"{self._clock + self._seq}.{self._seq:06d}"

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
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = args.get("channel"), args.get("ts")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        message = self.messages.get((channel, ts))  # type: ignore[arg-type]
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
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="fake-slack", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    fake.url = f"http://{host!s}:{port}/api/"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
