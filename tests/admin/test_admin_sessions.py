"""Closed doors: sessions that end on the server, and sign-in waits that no one can abuse."""

# ruff: noqa: F811  (fixtures imported from tests.admin.test_admin are parameters here)

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import click
import pytest
from click.testing import CliRunner

from integration import store
from integration.errors import ConfigurationError
from sidebar_ui.admin.guard import (
    ACCOUNT_DELAY,
    PAIR_DELAY,
    client_address,
    parse_networks,
)
from tests.admin.test_admin import (  # noqa: F401  (fixtures)
    ADMIN,
    PASSWORD,
    _csrf,
    _post,
    admin,
    signed_in,
)

T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
ATTACKER = "203.0.113.66"
OFFICE = "198.51.100.7"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@pytest.fixture
def clock(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The runtime's clock, pinned and moved by the test."""
    found = Clock()
    monkeypatch.setattr(runtime, "now", found)
    return found


def _client_from(app: Any, address: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _sign_in(client: Any, email: str = ADMIN, password: str = PASSWORD, **headers: str) -> Any:
    token = _csrf(client, "/admin/login")
    return client.post("/admin/login", headers=headers,
                       data={"csrf_token": token, "email": email, "password": password})


# --- sessions -------------------------------------------------------------------------------


def test_a_copied_session_cookie_stops_working_after_sign_out(app: Any, signed_in: Any) -> None:
    stolen = signed_in.get_cookie("session").value
    _post(signed_in, "/admin/logout", {}, page="/admin/")

    thief = app.test_client()
    thief.set_cookie("session", stolen)

    response = thief.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")


def test_sign_out_everywhere_ends_the_sessions_of_every_browser(app: Any, admin: str) -> None:
    laptop, phone = app.test_client(), app.test_client()
    assert _sign_in(laptop).status_code == _sign_in(phone).status_code == 302
    assert phone.get("/admin/").status_code == 200

    response = _post(laptop, "/admin/logout-everywhere", {}, page="/admin/")

    assert response.status_code == 302
    assert laptop.get("/admin/").status_code == 302
    assert phone.get("/admin/").status_code == 302
    assert "Signed out everywhere (2 sessions ended)" in laptop.get("/admin/login").text


def test_the_sign_out_everywhere_button_is_on_every_page(signed_in: Any) -> None:
    html = signed_in.get("/admin/").text
    assert 'id="sign-out-everywhere"' in html and 'formaction="/admin/logout-everywhere"' in html


def test_a_session_ends_after_an_idle_hour_and_after_twelve_hours(
        app: Any, admin: str, clock: Clock) -> None:
    idle = app.test_client()
    assert _sign_in(idle).status_code == 302
    clock.advance(minutes=59)
    assert idle.get("/admin/").status_code == 200  # used: the idle clock starts again
    clock.advance(minutes=61)
    assert idle.get("/admin/").status_code == 302

    busy = app.test_client()
    signed_at = clock.now
    assert _sign_in(busy).status_code == 302
    while clock.now < signed_at + timedelta(hours=11, minutes=30):
        clock.advance(minutes=30)
        assert busy.get("/admin/").status_code == 200
    clock.advance(minutes=29)
    assert busy.get("/admin/").status_code == 200
    clock.advance(minutes=2)  # 12 h 1 min after sign-in, though used 2 minutes ago
    assert busy.get("/admin/").status_code == 302


def test_set_password_from_the_cli_ends_the_admins_sessions(
        runtime: Any, signed_in: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from integration.cli.admin import admin

    @click.group()
    def main() -> None:
        """Test root."""

    main.add_command(admin)
    monkeypatch.setenv("ESCALADE_ADMIN_PASSWORD", "a brand new password")
    result = CliRunner().invoke(main, ["admin", "set-password", "--email", ADMIN],
                                obj=runtime)

    assert result.exit_code == 0, result.output
    assert "1 session ended" in result.output
    assert signed_in.get("/admin/").status_code == 302
    with store.session_scope(runtime.sessions) as s:
        assert s.query(store.sessions.AdminSessionRow).count() == 0


def test_sign_out_command_ends_every_session_of_an_admin(runtime: Any, signed_in: Any) -> None:
    from integration.cli.admin import admin

    @click.group()
    def main() -> None:
        """Test root."""

    main.add_command(admin)
    result = CliRunner().invoke(main, ["admin", "sign-out", "--email", ADMIN.upper()],
                                obj=runtime)

    assert result.exit_code == 0, result.output
    assert f"{ADMIN}: 1 session ended" in result.output
    assert signed_in.get("/admin/").status_code == 302
    unknown = CliRunner().invoke(main, ["admin", "sign-out", "--email", "who@example.com"],
                                 obj=runtime)
    assert unknown.exit_code == 2 and "--email: no admin who@example.com" in unknown.output


def test_the_cookie_holds_no_admin_id_only_a_random_token(signed_in: Any) -> None:
    import base64
    import json
    import zlib

    raw = signed_in.get_cookie("session").value.split(".")
    compressed = raw[0] == ""
    payload = raw[1] if compressed else raw[0]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    content = json.loads(zlib.decompress(data) if compressed else data)
    assert set(content) == {"sid", "csrf"}


# --- sign-in waits --------------------------------------------------------------------------


def test_failures_wait_longer_and_longer_then_the_wait_runs_out(
        app: Any, admin: str, clock: Clock) -> None:
    client = _client_from(app, OFFICE)
    for _ in range(PAIR_DELAY.free):
        assert _sign_in(client, password="nope").status_code == 401
    waits = []
    for _ in range(4):
        refused = _sign_in(client)
        assert refused.status_code == 429
        assert "Too many failed sign-ins" in refused.text
        waits.append(int(refused.headers["Retry-After"]))
        clock.advance(seconds=waits[-1])
        assert _sign_in(client, password="still wrong").status_code == 401
    assert waits == sorted(waits) and waits[-1] > waits[0]
    clock.advance(seconds=PAIR_DELAY.after(PAIR_DELAY.free + 4).total_seconds())

    assert _sign_in(client).status_code == 302  # no lock-out: the right password gets in


def test_someone_who_knows_the_email_cannot_lock_the_admin_out(
        app: Any, admin: str, clock: Clock) -> None:
    for n in range(40):
        attacker = _client_from(app, f"203.0.113.{n + 1}")
        for _ in range(PAIR_DELAY.free):
            assert _sign_in(attacker, password=f"guess {n}").status_code in (401, 429)
    admin_browser = _client_from(app, OFFICE)

    refused = _sign_in(admin_browser)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) <= ACCOUNT_DELAY.cap.total_seconds() + 1
    clock.advance(seconds=int(refused.headers["Retry-After"]))
    assert _sign_in(admin_browser).status_code == 302


def test_an_admin_on_a_trusted_network_signs_in_during_an_attack(
        app_config: dict[str, Any], admin: str) -> None:
    from integration.web import create_app

    trusted = create_app({**app_config, "ADMIN_TRUSTED_NETWORKS": "10.0.0.0/8, 127.0.0.1/32"})
    try:
        for n in range(30):
            attacker = _client_from(trusted, f"203.0.113.{n + 1}")
            for _ in range(PAIR_DELAY.free):
                _sign_in(attacker, password="guess")
        assert _sign_in(_client_from(trusted, OFFICE)).status_code == 429
        assert _sign_in(_client_from(trusted, "10.1.2.3")).status_code == 302
    finally:
        trusted.extensions["escalade"].engine.dispose()


def test_the_wait_survives_a_restart(app_config: dict[str, Any], app: Any, admin: str,
                                     clock: Clock) -> None:
    from integration.web import create_app

    client = _client_from(app, ATTACKER)
    for _ in range(PAIR_DELAY.free):
        _sign_in(client, password="nope")
    assert _sign_in(client).status_code == 429

    restarted = create_app(app_config)
    try:
        restarted.extensions["escalade"].now = clock
        assert _sign_in(_client_from(restarted, ATTACKER)).status_code == 429
    finally:
        restarted.extensions["escalade"].engine.dispose()


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
        app_config: dict[str, Any], app: Any, admin: str, clock: Clock) -> None:
    from integration.web import create_app

    client = _client_from(app, ATTACKER)
    for n in range(PAIR_DELAY.free):
        _sign_in(client, password="nope", **{"X-Forwarded-For": f"192.0.2.{n}"})
    # Writing another address in the header does not make a new client.
    assert _sign_in(client, **{"X-Forwarded-For": "192.0.2.200"}).status_code == 429

    proxied = create_app({**app_config, "TRUSTED_PROXIES": "127.0.0.1/32"})
    try:
        proxied.extensions["escalade"].now = clock
        behind = _client_from(proxied, "127.0.0.1")
        for _ in range(PAIR_DELAY.free):
            _sign_in(behind, password="nope", **{"X-Forwarded-For": "192.0.2.10"})
        assert _sign_in(behind, **{"X-Forwarded-For": "192.0.2.10"}).status_code == 429
        assert _sign_in(behind, **{"X-Forwarded-For": "192.0.2.11"}).status_code == 302
    finally:
        proxied.extensions["escalade"].engine.dispose()


def test_unknown_emails_are_throttled_like_real_ones(app: Any, admin: str, clock: Clock) -> None:
    client = _client_from(app, ATTACKER)
    for _ in range(PAIR_DELAY.free):
        assert _sign_in(client, email="nobody@example.com", password="x").status_code == 401
    assert _sign_in(client, email="nobody@example.com", password="x").status_code == 429


# --- the client's address -------------------------------------------------------------------


@pytest.mark.parametrize(("remote", "forwarded", "proxies", "expected"), [
    ("203.0.113.5", "192.0.2.1", "", "203.0.113.5"),
    ("203.0.113.5", "192.0.2.1", "10.0.0.0/8", "203.0.113.5"),
    ("10.0.0.2", "192.0.2.1", "10.0.0.0/8", "192.0.2.1"),
    # The client wrote a hop of its own before the proxies': only trusted hops are skipped.
    ("10.0.0.2", "1.1.1.1, 192.0.2.1, 10.0.0.3", "10.0.0.0/8", "192.0.2.1"),
    ("10.0.0.2", "not-an-ip", "10.0.0.0/8", "10.0.0.2"),
    ("10.0.0.2", None, "10.0.0.0/8", "10.0.0.2"),
    ("::ffff:10.0.0.2", "2001:db8::1", "10.0.0.0/8", "2001:db8::1"),
])
def test_client_address(remote: str, forwarded: str | None, proxies: str,
                        expected: str) -> None:
    networks = parse_networks("ESCALADE_TRUSTED_PROXIES", proxies)
    assert client_address(remote, forwarded, networks) == expected


def test_a_bad_network_setting_stops_the_app_naming_it(app_config: dict[str, Any]) -> None:
    from integration.web import create_app

    with pytest.raises(ConfigurationError, match="ESCALADE_ADMIN_TRUSTED_NETWORKS: '10.0.0/33'"):
        create_app({**app_config, "ADMIN_TRUSTED_NETWORKS": "10.0.0/33"})


def test_attempts_in_flight_count_so_a_burst_gets_no_extra_tries(runtime: Any) -> None:
    from sidebar_ui.admin.guard import SignInKeys, begin_sign_in, sign_in_succeeded

    keys = SignInKeys.of(address=ATTACKER, email=ADMIN)
    waits = []
    # Requests whose password checks have not finished yet: each was counted on arrival.
    for _ in range(PAIR_DELAY.free + 1):
        with store.session_scope(runtime.sessions) as s:
            waits.append(begin_sign_in(s, keys, trusted=False, now=T0))
            if waits[-1]:
                s.rollback()
    assert waits[:PAIR_DELAY.free] == [0.0] * PAIR_DELAY.free
    assert waits[-1] == PAIR_DELAY.after(PAIR_DELAY.free).total_seconds()

    # A success takes its own attempt back and clears the account's count.
    other = SignInKeys.of(address=OFFICE, email=ADMIN)
    with store.session_scope(runtime.sessions) as s:
        assert begin_sign_in(s, other, trusted=False, now=T0) == 0.0
        sign_in_succeeded(s, other)
    with store.session_scope(runtime.sessions) as s:
        assert s.query(store.throttle.LoginThrottleRow).filter_by(
            key_hash=other.address).count() == 0
