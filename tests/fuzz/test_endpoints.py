"""Property: no request to any public endpoint gets a 5xx, signed or not.

The endpoints come from the app's own URL map, so a new one is fuzzed the day it is added.
Each is hit with unsigned garbage (random bytes, random JSON, random headers, paths and query
strings) and, where Escalade can sign like the vendor does (``targets.SIGNERS``) or an admin
is signed in, with correctly signed hostile bodies: real vendor payloads from
``tests/fixtures`` with fields replaced by hostile values (wrong types, nesting past any
limit, 4,400-digit numbers, NaN, lone surrogates, NUL, control characters).

``ESCALADE_FUZZ_SCALE`` multiplies the number of examples (default 1: a few thousand in
total); ``ESCALADE_FUZZ_RANDOM=1`` draws new examples each run instead of the fixed ones.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_ticket
from tests.fuzz.targets import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SIGNERS,
    SLACK_SECRET,
    TENANTS,
    hostile_app,
)
from tests.store.helpers import BACKENDS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SCALE = float(os.environ.get("ESCALADE_FUZZ_SCALE") or 1)
FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=os.environ.get("ESCALADE_FUZZ_RANDOM") != "1",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
UNSIGNED = settings(FUZZ, max_examples=max(1, int(60 * SCALE)))
SIGNED = settings(FUZZ, max_examples=max(1, int(150 * SCALE)))


def _methods(methods: set[str]) -> tuple[str, ...]:
    # Flask adds HEAD to every GET; a rule that answers HEAD alone is fuzzed with HEAD.
    own = methods - {"HEAD", "OPTIONS"}
    return tuple(sorted(own or methods - {"OPTIONS"}))


def _rules() -> list[tuple[str, str, tuple[str, ...]]]:
    from integration.web import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"VAR_DIR": Path(tmp), "DATABASE_URL": "sqlite://", "WORKERS": 0,
                          "SECRET_KEY": Fernet.generate_key().decode(),
                          "SLACK_SIGNING_SECRET": SLACK_SECRET, "LOG_LEVEL": "WARNING"})
        rules = [(r.endpoint, r.rule, _methods(r.methods or set()))
                 for r in app.url_map.iter_rules()]
        app.extensions["escalade"].engine.dispose()
    return sorted(rules)


RULES = _rules()
ADMIN_RULES = [r for r in RULES if r[1].startswith("/admin")]


# --- the app, with no way out to the network ----------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Any]:
    with hostile_app(request.param, tmp_path_factory.mktemp("fuzz")) as built:
        yield built


@pytest.fixture(scope="module", params=BACKENDS)
def admin_client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[Any, str]]:
    """A client signed in to the admin UI of its own app (what it saves stays there)."""
    with hostile_app(request.param, tmp_path_factory.mktemp("fuzz-admin")) as built:
        client = built.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          client.get("/admin/login").text)
        assert token is not None
        response = client.post("/admin/login", data={
            "csrf_token": token.group(1), "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert response.status_code == 302, response.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/").text)
        assert token is not None
        yield client, token.group(1)


@pytest.fixture(scope="module", autouse=True)
def no_network() -> Iterator[None]:
    """Any connection off 127.0.0.1 fails at once (an admin's "Test connection", say)."""
    real = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") \
                and sock.family != socket.AF_UNIX:
            raise ConnectionRefusedError(f"fuzz: no network ({host})")
        real(sock, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        yield


# --- hostile values -----------------------------------------------------------------------

_texts = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec=None, categories=("Cc", "Cs", "Zl", "Zp", "Cf", "Lo")),
            max_size=12),
    st.sampled_from(["", " ", "\x00", "\ud800", "a\udfffb", "é", "${jndi:x}", "'; drop --",
                     "<script>alert(1)</script>", "../../etc/passwd", "%00", "\r\nX-Forged: 1",
                     "acme:zendesk", "demo:sandbox:1", "1" * 300, "sha256=é", "v0=é"]),
)
_numbers = st.one_of(
    st.integers(), st.integers(min_value=10**40, max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, -1, 2**63, 1e308]),
)
_scalars = st.one_of(st.none(), st.booleans(), _numbers, _texts)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(_texts, inner, max_size=4)),
    max_leaves=12,
)


_DEEP = re.compile(r'"\\u0000deep:(\d+)"')


def _deep_marker(depth: int) -> str:
    # Nesting that deep cannot go through json.dumps; _encode writes it out as text.
    return f"\x00deep:{depth}"


_deep = st.sampled_from([65, 200, 1000, 5000]).map(_deep_marker)
_hostile = st.one_of(_json, _deep, _scalars)


def _encode(value: Any, raw_surrogates: bool = False) -> bytes:
    text = json.dumps(value, ensure_ascii=not raw_surrogates)
    text = _DEEP.sub(lambda m: "[" * int(m.group(1)) + "1" + "]" * int(m.group(1)), text)
    return text.encode("utf-8", "surrogatepass")


def _form(value: Any) -> bytes:
    return urlencode({"payload": _encode(value).decode()}).encode()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:3]):
            found += _paths(child, (*prefix, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def _mutated(draw: st.DrawFn, template: Any) -> Any:
    """``template`` with one to three fields replaced by hostile values (or removed)."""
    value = template
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(value)
        path = draw(st.sampled_from(paths))
        if path and isinstance(value, dict) and draw(st.integers(0, 9)) == 0:
            parent = _replace(value, path[:-1], None) if len(path) > 1 else value
            if isinstance(parent, dict) and len(path) == 1:
                value = {k: v for k, v in parent.items() if k != path[0]}
                continue
        value = _replace(value, path, draw(_hostile))
    return value


# --- real payloads to start from ----------------------------------------------------------


def _fixture(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / name).read_text())


def _templates() -> dict[str, list[Any]]:
    ticket = make_ticket()
    now_ms = int(time.time() * 1000)
    linear = _fixture("linear", "webhook_issue_completed.json")
    linear["webhookTimestamp"] = now_ms
    click = {
        "type": "block_actions", "team": {"id": "T0TEAM", "domain": "x"},
        "user": {"id": "U0DANA", "username": "dana", "team_id": "T0TEAM"},
        "container": {"type": "message", "message_ts": "1.2", "channel_id": "C0"},
        "channel": {"id": "C0"}, "message": {"ts": "1.2", "text": "Tier 3"},
        "response_url": "https://hooks.slack.com/actions/T0/1/x",
        "actions": [{"action_id": "escalade_take_ownership", "block_id": "b", "type": "button",
                     "action_ts": "1.3", "value": json.dumps(
                         {"dedupe_key": "demo:sandbox:1:tier_3", "ticket_key": "demo:sandbox:1"})}],
    }
    canvas = {"workspace_id": "w1", "admin": {"id": "1", "email": "a@b.example"},
              "conversation": {"id": "123"}, "context": {"conversation_id": "123"},
              "input_values": {"tier": "3", "reason": "because"}, "component_id": "override"}
    return {
        "webhooks.receive[sandbox]": [
            {"delivery_id": "d1", "event": "ticket.created", "ticket": ticket}],
        "webhooks.receive[zendesk]": [_fixture("zendesk", "ticket_created.json"),
                                      _fixture("zendesk", "trigger_ticket_updated.json")],
        "webhooks.receive[freshdesk]": [_fixture("freshdesk", "rule_ticket_created.json"),
                                        _fixture("freshdesk", "fdk_ticket_updated.json")],
        "webhooks.receive[intercom]": [_fixture("intercom", "conversation_user_created.json")],
        "tracker_webhooks.jira_webhook": [_fixture("jira", "webhook_issue_resolved.json")],
        "tracker_webhooks.linear_webhook": [linear],
        "slack.slack_events": [click, {"type": "url_verification", "challenge": "c"}],
        "canvas.initialize": [canvas],
        "canvas.submit": [canvas],
        "sidebar.bootstrap": [{"ticket_id": "1"}],
        "sidebar.ticket_page": [{}],
        "sidebar.override": [{"tier": "3", "reason": "customer is furious"}],
    }


TEMPLATES = _templates()


# --- requests -----------------------------------------------------------------------------

_HEADER_NAMES = ["Accept", "X-Escalade-Signature", "X-Zendesk-Webhook-Signature",
                 "X-Zendesk-Webhook-Signature-Timestamp", "X-Zendesk-Webhook-Invocation-Id",
                 "X-Hub-Signature", "Linear-Signature", "X-Slack-Signature",
                 "X-Slack-Request-Timestamp", "X-Body-Signature", "X-Escalade-Secret",
                 "Authorization", "X-Escalade-Install-Secret", "X-Escalade-Ticket-Id",
                 "X-Escalade-Sidebar-Token", "X-Escalade-Agent", "Cookie"]
_header_values = st.one_of(
    st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=40),
    st.sampled_from(["sha256=é", "é", "Basic ZXNjYWxhZGU6", "v0=", "text/html", "*/*",
                     "application/json", "abc", "9" * 30]),
)
_CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded",
                  "multipart/form-data; boundary=x", "text/plain", "",
                  "application/json; charset=latin-1"]
_KNOWN = {"helpdesk": ["sandbox", "zendesk", "freshdesk", "intercom", "jira", "linear"],
          "tenant_slug": list(TENANTS), "tenant": list(TENANTS), "slug": list(TENANTS),
          "ticket_id": ["1", "123"], "key": ["helpdesk", "slack", "crm", "jira", "linear"],
          "filename": ["escalade.css", "sidebar.js", "../secret.key"]}


def _url_values(rule: str) -> st.SearchStrategy[str]:
    parts = re.split(r"<(?:(\w+):)?(\w+)>", rule)
    strategies: list[st.SearchStrategy[str]] = []
    for i, part in enumerate(parts):
        kind = i % 3
        if kind == 0:
            strategies.append(st.just(part))
        elif kind == 2:
            converter = parts[i - 1]
            if converter == "int":
                strategies.append(st.integers(0, 10**12).map(str))
            else:
                known = st.sampled_from(_KNOWN.get(part, ["x"]))
                raw = st.text(min_size=1, max_size=24).map(lambda t: quote(t, safe=""))
                strategies.append(st.one_of(known, known, raw))
    return st.tuples(*strategies).map("".join)


@st.composite
def unsigned_request(draw: st.DrawFn, rule: str, methods: tuple[str, ...]) -> dict[str, Any]:
    """Any method of the rule, garbage everywhere."""
    path = draw(_url_values(rule))
    query = draw(st.dictionaries(_texts, _texts, max_size=3))
    body = draw(st.one_of(
        st.binary(max_size=300),
        st.builds(_encode, _hostile, st.booleans()),
        _hostile.map(_form),
    ))
    headers = draw(st.dictionaries(st.sampled_from(_HEADER_NAMES), _header_values, max_size=4))
    return {"method": draw(st.sampled_from(methods)), "path": path,
            "query_string": urlencode(query, errors="surrogatepass"), "data": body,
            "content_type": draw(st.sampled_from(_CONTENT_TYPES)), "headers": headers}


@st.composite
def signed_request(draw: st.DrawFn, endpoint: str, rule: str,
                   methods: tuple[str, ...]) -> dict[str, Any]:
    """A body the endpoint's own check accepts, hostile inside."""
    key = draw(st.sampled_from([k for k in SIGNERS if k.split("[")[0] == endpoint]))
    values, signer = SIGNERS[key]
    path = rule
    for name, value in values.items():
        path = re.sub(rf"<(?:\w+:)?{name}>", value, path)
    payload = draw(_mutated(draw(st.sampled_from(TEMPLATES[key]))))
    form = endpoint == "slack.slack_events" and isinstance(payload, dict) \
        and payload.get("type") != "url_verification"
    if form:
        body = _form(payload)
        content_type = "application/x-www-form-urlencoded"
    else:
        body = _encode(payload, draw(st.booleans()))
        content_type = "application/json"
    headers = signer(body)
    headers["Accept"] = draw(st.sampled_from(["application/json", "text/html", "*/*"]))
    return {"method": "POST" if "POST" in methods else methods[0], "path": path, "data": body,
            "content_type": content_type, "headers": headers, "key": key}


def _send(client: Any, request: dict[str, Any]) -> tuple[int, bytes]:
    request = {k: v for k, v in request.items() if k != "key"}
    method = request.pop("method")
    if method == "GET":
        request.pop("data")
    with client.open(method=method, **request) as response:
        return response.status_code, response.data


def _assert_no_5xx(answer: tuple[int, bytes], request: dict[str, Any]) -> None:
    shown = {k: (v[:300] if isinstance(v, bytes | str) else v) for k, v in request.items()}
    assert answer[0] < 500, (answer[0], answer[1][:300], shown)


# --- the properties -----------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "rule", "methods"), RULES,
                         ids=[f"{m[0]} {r}" for _, r, m in RULES])
def test_unsigned_garbage_never_gets_a_5xx(app: Any, endpoint: str, rule: str,
                                           methods: tuple[str, ...]) -> None:
    client = app.test_client()

    @UNSIGNED
    @given(request=unsigned_request(rule, methods))
    def check(request: dict[str, Any]) -> None:
        _assert_no_5xx(_send(client, request), request)

    check()


SIGNED_ENDPOINTS = sorted({key.split("[")[0] for key in SIGNERS})
SIGNED_RULES = [r for r in RULES if r[0] in SIGNED_ENDPOINTS]


def test_every_signed_endpoint_is_in_the_url_map() -> None:
    assert sorted({r[0] for r in SIGNED_RULES}) == SIGNED_ENDPOINTS


@pytest.mark.parametrize(("endpoint", "rule", "methods"), SIGNED_RULES,
                         ids=[e for e, _, _ in SIGNED_RULES])
def test_signed_hostile_bodies_never_get_a_5xx(app: Any, endpoint: str, rule: str,
                                               methods: tuple[str, ...]) -> None:
    client = app.test_client()

    @SIGNED
    @given(request=signed_request(endpoint, rule, methods))
    def check(request: dict[str, Any]) -> None:
        _assert_no_5xx(_send(client, request), request)

    check()


@pytest.mark.parametrize(("endpoint", "rule", "methods"), ADMIN_RULES,
                         ids=[f"{m[0]} {r}" for _, r, m in ADMIN_RULES])
def test_a_signed_in_admin_sending_garbage_never_gets_a_5xx(
    admin_client: tuple[Any, str], endpoint: str, rule: str, methods: tuple[str, ...]
) -> None:
    client, csrf = admin_client
    cookie = client.get_cookie("session")
    assert cookie is not None

    @UNSIGNED
    @given(request=unsigned_request(rule, methods),
           form=st.dictionaries(st.sampled_from(["op", "matrix", "base_url", "email", "token",
                                                 "api_token", "options", "channel", "next",
                                                 "webhook_secret", "password"]),
                                st.one_of(_texts, st.sampled_from(["save", "test", "disconnect"])),
                                max_size=4))
    def check(request: dict[str, Any], form: dict[str, str]) -> None:
        # Whatever the last example did (logging out, say), this one is signed in again.
        client.set_cookie(cookie.key, cookie.value, path=cookie.path or "/")
        if request["method"] == "POST":
            data = urlencode({**form, "csrf_token": csrf}, errors="surrogatepass")
            request = {**request, "data": data.encode(),
                       "content_type": "application/x-www-form-urlencoded"}
        _assert_no_5xx(_send(client, request), request)

    check()
