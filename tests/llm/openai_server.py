"""A local fake of an OpenAI-compatible chat server: a real HTTP server on 127.0.0.1, in a thread.

The ``openai`` client speaks httpx, not requests, so the fake sits at the transport: the
client's ``base_url`` points at it. It answers ``POST /v1/chat/completions`` with a chat
completion carrying ``usage`` (the shape of the OpenAI API reference, which llama.cpp, vLLM and
Ollama copy), checks each request has that API's shape (model, system and user messages,
max_tokens, a bearer key), and records it. ``script`` queues what the next requests get
instead of the default answer: a status code, a slow answer, a body that is not JSON, a
refusal.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.local_http import serving

KEY = "sk-test-not-a-real-key"
_ROLES = {"system", "user", "assistant"}


@dataclass
class Reply:
    """What one request gets: a message (or refusal), a status, a delay, or raw bytes."""

    content: str | None = "The customer was charged twice and wants a refund."
    status: int = 200
    delay: float = 0.0
    raw: bytes | None = None
    refusal: str | None = None
    prompt_tokens: int = 120
    completion_tokens: int = 30


@dataclass
class FakeOpenAI:
    """State of the fake; tests read ``requests`` and queue replies with ``script``."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    answer: Callable[[dict[str, Any]], Reply] = lambda _body: Reply()
    queued: list[Reply] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *replies: Reply) -> None:
        """The next requests get these replies, in order, then the default answer again."""
        with self.lock:
            self.queued.extend(replies)

    def next_reply(self, body: dict[str, Any]) -> Reply:
        """The queued reply, or the default answer to ``body``."""
        with self.lock:
            if self.queued:
                return self.queued.pop(0)
        return self.answer(body)

    @property
    def sent(self) -> str:
        """Everything the server received in message texts, joined."""
        return "\n".join(m["content"] for r in self.requests for m in r["messages"])


def check_request(body: Any) -> list[str]:
    """Problems with a chat-completion request's shape (empty when it has the API's shape)."""
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    problems = []
    if not isinstance(body.get("model"), str) or not body["model"]:
        problems.append("model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(
        isinstance(m, dict) and m.get("role") in _ROLES and isinstance(m.get("content"), str)
        for m in messages
    ):
        problems.append("messages")
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        problems.append("max_tokens")
    fmt = body.get("response_format")
    if fmt is not None and fmt != {"type": "json_object"}:
        problems.append("response_format")
    return problems


def completion(reply: Reply, model: str) -> dict[str, Any]:
    """A chat completion as the API returns it."""
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 1733400000,
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": reply.content,
                                 "refusal": reply.refusal}}],
        "usage": {"prompt_tokens": reply.prompt_tokens,
                  "completion_tokens": reply.completion_tokens,
                  "total_tokens": reply.prompt_tokens + reply.completion_tokens},
    }


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            if self.path != "/v1/chat/completions":
                return self._send(404, {"error": {"message": "not found"}})
            problems = check_request(body)
            if problems:
                return self._send(400, {"error": {"message": f"bad request: {problems}"}})
            auth = self.headers.get("Authorization") or ""
            with fake.lock:
                fake.requests.append(body)
                fake.keys.append(auth.removeprefix("Bearer ") or None)
            reply = fake.next_reply(body)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.raw is not None:
                return self._send(reply.status, None, raw=reply.raw)
            if reply.status != 200:
                return self._send(reply.status, {"error": {"message": "scripted failure",
                                                           "type": "server_error"}})
            self._send(200, completion(reply, body["model"]))

        def _send(self, status: int, data: Any, raw: bytes | None = None) -> None:
            payload = raw if raw is not None else json.dumps(data).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

    return Handler


@contextmanager
def fake_openai() -> Iterator[FakeOpenAI]:
    """Serve a ``FakeOpenAI`` on 127.0.0.1 for the duration of the block."""
    fake = FakeOpenAI()
    with serving(_handler(fake), name="fake-openai") as url:
        fake.url = f"{url}/v1"
        yield fake
