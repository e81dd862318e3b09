"""Errors: an HTML page for a browser, JSON for everyone else; the favicon; the last resort."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from integration import store
from integration.errors import ConfigurationError
from tests.conftest import make_ticket, sandbox_body
from tests.fuzz.targets import hostile_app, sign_canvas, sign_sandbox
from tests.outage import sqlite_locked

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SANDBOX = "/webhooks/sandbox/demo"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    with hostile_app("sqlite", tmp_path) as built:
        built.config["MAX_CONTENT_LENGTH"] = 2048
        runtime = built.extensions["escalade"]
        with store.session_scope(runtime.sessions) as s:
            store.add_tenant(s, slug="ic2", name="Ic2", helpdesk="intercom", base_url=None,
                             secrets={"webhook_secret": "another-client-secret",
                                      "access_token": "t"}, settings={}, cipher=runtime.cipher)

        @built.get("/test-only/boom")
        def boom() -> str:
            raise ConfigurationError("boom\nsecond line")

        yield built


def _bad_json(client: Any, accept: str) -> Any:
    body = b'{"delivery_id": '
    return client.post(SANDBOX, data=body, content_type="application/json",
                       headers={**sign_sandbox(body), "Accept": accept})


def _while_locked(client: Any, accept: str) -> Any:
    body = sandbox_body(make_ticket(), delivery_id="d1")
    return client.post(SANDBOX, data=body, content_type="application/json",
                       headers={**sign_sandbox(body), "Accept": accept})


REQUESTS: dict[int, Callable[[Any, str], Any]] = {
    400: _bad_json,
    401: lambda c, a: c.post(SANDBOX, data=b"{}", content_type="application/json",
                             headers={"Accept": a}),
    403: lambda c, a: c.post("/intercom/canvas/ic2/initialize", data=b"{}",
                             headers={**sign_canvas(b"{}"), "Accept": a}),
    404: lambda c, a: c.get("/no/such/page", headers={"Accept": a}),
    405: lambda c, a: c.get(SANDBOX, headers={"Accept": a}),
    413: lambda c, a: c.post(SANDBOX, data=b"x" * 4096, content_type="application/json",
                             headers={"Accept": a}),
    415: lambda c, a: c.post(SANDBOX, data=b"{}", content_type="text/plain",
                             headers={"Accept": a}),
    422: lambda c, a: c.post(SANDBOX, data=json.dumps({"delivery_id": "d1"}).encode(),
                             content_type="application/json",
                             headers={**sign_sandbox(json.dumps({"delivery_id": "d1"})
                                                     .encode()), "Accept": a}),
    500: lambda c, a: c.get("/test-only/boom", headers={"Accept": a}),
    503: _while_locked,
}


@pytest.mark.parametrize("status", sorted(REQUESTS))
def test_a_browser_gets_a_page_and_an_api_client_json(app: Flask, status: int) -> None:
    client = app.test_client()
    away = sqlite_locked(app.config["DATABASE_URL"]) if status == 503 else nullcontext()
    with away:
        page = REQUESTS[status](client, BROWSER)
        answers = [REQUESTS[status](client, accept)
                   for accept in ("application/json", "*/*", "")]
    assert page.status_code == status
    assert page.mimetype == "text/html"
    assert f"({status})" in page.text and "<h2>" in page.text
    # Self-contained: no stylesheet, script or image from anywhere else.
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    for answer in answers:
        assert answer.status_code == status
        assert answer.mimetype == "application/json"
        assert answer.get_json()["error"]


def test_the_page_keeps_what_the_client_needs_and_escapes_what_it_shows(app: Flask) -> None:
    client = app.test_client()
    assert "GET" not in REQUESTS[405](client, BROWSER).headers["Allow"]
    assert "POST" in REQUESTS[405](client, BROWSER).headers["Allow"]
    page = client.get("/sidebar/sandbox/<script>x</script>/tickets/1",
                      headers={"Accept": BROWSER})
    assert "<script>x" not in page.text


def test_an_unexpected_error_is_one_logged_line_and_a_plain_500(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        answer = app.test_client().get("/test-only/boom")
    assert answer.status_code == 500
    assert answer.get_json() == {"error": "internal error; it has been logged"}
    assert len(caplog.records) == 1
    record = caplog.records[0]
    assert record.exc_info is None
    message = record.getMessage()
    assert "unexpected ConfigurationError at tests/test_error_pages.py:" in message
    assert "boom\\nsecond line" in message and "\n" not in message


def test_the_favicon_is_served_from_the_package(app: Flask) -> None:
    answer = app.test_client().get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.mimetype == "image/vnd.microsoft.icon"
    assert answer.data[:4] == b"\x00\x00\x01\x00"  # an ICO directory
    assert len(answer.data) < 4096
