"""Product activity: HTTP endpoint and CSV sources, engagement trend and decline."""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from integration.activity import (
    ActivityFileError,
    ActivitySource,
    CsvActivitySource,
    HttpActivitySource,
)
from integration.engagement import Activity, declining, engagement_trend
from integration.errors import ValidationError
from tests import recorded

URL = "https://app.example.com/escalade/activity"
HEADER = (
    "account_id,domain,logins_30d,logins_prev_30d,features_used,last_page,plan,mrr,renewal_date\n"
)


def http(**extra: Any) -> ActivitySource:
    return ActivitySource.from_settings(
        {"kind": "http", "url": URL, "token": "s3cret", **extra}, session=requests.Session()
    )


# --- HTTP ------------------------------------------------------------------------------------


@responses.activate
def test_http_success_sends_the_known_keys_and_the_token() -> None:
    responses.get(
        URL,
        match=[
            matchers.query_param_matcher({"domain": "acme.io", "email": "jo@acme.io"}),
            matchers.header_matcher({"Authorization": "Bearer s3cret"}),
        ],
        json={
            "logins_30d": 4,
            "logins_prev_30d": 20.0,
            "features_used": ["exports", "sso", "exports"],
            "last_page": "/settings/billing",
            "plan": "Enterprise",
            "mrr": "1250.50",
            "renewal_date": "2024-06-30T00:00:00Z",
            "something_new": {"ignored": True},
        },
    )
    found = http().lookup(account_id=None, domain="acme.io", email="jo@acme.io")
    assert found == Activity(
        logins_30d=4,
        logins_prev_30d=20,
        features_used=("exports", "sso"),
        last_page="/settings/billing",
        plan="enterprise",
        mrr=1250.5,
        renewal_date=date(2024, 6, 30),
    )
    assert recorded.extras(responses.calls[0].request).req_kwargs["timeout"] == 3.0


@responses.activate
def test_http_bad_fields_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    responses.get(URL, json={"logins_30d": "many", "mrr": -5, "plan": "pro"})
    with caplog.at_level(logging.WARNING, logger="integration.activity"):
        found = http().lookup(account_id="a1", domain=None, email=None)
    assert found == Activity(plan="pro")
    assert "unusable fields: logins_30d, mrr" in caplog.text


@responses.activate
def test_http_timeout_gives_none_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    responses.get(URL, body=requests.ReadTimeout("slow"))
    with caplog.at_level(logging.WARNING, logger="integration.activity"):
        assert http(timeout=1.5).lookup(account_id="a1", domain=None, email=None) is None
    assert f"activity endpoint {URL} timed out after 1.5s" in caplog.text
    assert "s3cret" not in caplog.text


@responses.activate
def test_http_connection_error_gives_none(caplog: pytest.LogCaptureFixture) -> None:
    responses.get(URL, body=requests.ConnectionError("refused"))
    with caplog.at_level(logging.WARNING, logger="integration.activity"):
        assert http().lookup(account_id="a1", domain=None, email=None) is None
    assert "unreachable: ConnectionError" in caplog.text


@responses.activate
def test_http_500_gives_none_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    responses.get(URL, status=500, json={"error": "boom"})
    with caplog.at_level(logging.WARNING, logger="integration.activity"):
        assert http().lookup(account_id="a1", domain=None, email=None) is None
    assert "answered 500" in caplog.text


@responses.activate
def test_http_404_is_an_unknown_account_without_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    responses.get(URL, status=404)
    with caplog.at_level(logging.WARNING, logger="integration.activity"):
        assert http().lookup(account_id="a1", domain=None, email=None) is None
    assert caplog.text == ""


@responses.activate
@pytest.mark.parametrize(
    ("body", "message"),
    [("<html>oops</html>", "not JSON"), ("[1, 2]", "not an object")],
)
def test_http_bad_json_gives_none(
    caplog: pytest.LogCaptureFixture, body: str, message: str
) -> None:
    responses.get(URL, body=body, content_type="application/json")
    with caplog.at_level(logging.WARNING, logger="integration.activity"):
        assert http().lookup(account_id="a1", domain=None, email=None) is None
    assert message in caplog.text


@responses.activate
def test_http_empty_object_and_no_keys_give_none() -> None:
    responses.get(URL, json={})
    source = http()
    assert source.lookup(account_id="a1", domain=None, email=None) is None
    assert source.lookup(account_id=None, domain=None, email=None) is None
    assert len(responses.calls) == 1  # nothing to ask about: no request


# --- CSV -------------------------------------------------------------------------------------


def write(path: Path, text: str, *, mtime: int | None = None) -> None:
    path.write_text(text, encoding="utf-8")
    if mtime is not None:
        os.utime(path, ns=(mtime, mtime))


def test_csv_lookup_by_account_id_and_by_domain(tmp_path: Path) -> None:
    path = tmp_path / "activity.csv"
    write(
        path,
        HEADER
        + "a1,acme.io,12,30,exports;sso; api ,/billing,Pro,99.5,2024-09-01\n"
        + ",www.Globex.com,3,,,,,,\n",
    )
    source = ActivitySource.from_settings(
        {"kind": "csv", "path": "activity.csv"}, base_dir=tmp_path
    )
    assert isinstance(source, CsvActivitySource)
    acme = source.lookup(account_id="a1", domain=None, email=None)
    assert acme == Activity(
        logins_30d=12,
        logins_prev_30d=30,
        features_used=("exports", "sso", "api"),
        last_page="/billing",
        plan="pro",
        mrr=99.5,
        renewal_date=date(2024, 9, 1),
    )
    assert source.lookup(account_id=None, domain="ACME.io", email=None) is acme
    globex = source.lookup(account_id="unknown", domain=None, email="jo@globex.com")
    assert globex == Activity(logins_30d=3)
    assert source.lookup(account_id="zz", domain="nowhere.io", email=None) is None


def test_csv_is_reread_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "activity.csv"
    write(path, HEADER + "a1,,1,,,,,,\n", mtime=1_700_000_000_000_000_000)
    source = CsvActivitySource(path=path)
    first = source.lookup(account_id="a1", domain=None, email=None)
    assert first is not None and first.logins_30d == 1
    write(path, HEADER + "a1,,2,,,,,,\n", mtime=1_700_000_100_000_000_000)
    second = source.lookup(account_id="a1", domain=None, email=None)
    assert second is not None and second.logins_30d == 2


def test_csv_malformed_line_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "activity.csv"
    write(path, HEADER + "a1,,1,,,,,1,\na2,,1,,,,,abc,\n")
    source = CsvActivitySource(path=path)
    with pytest.raises(ActivityFileError) as caught:
        source.load()
    assert str(caught.value) == "activity.csv:3: mrr: not a number: 'abc'"
    assert isinstance(caught.value, ValidationError)
    assert (caught.value.field, caught.value.line) == ("mrr", 3)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,plan\nacme,pro\n", "activity.csv:1: header: needs an account_id or a domain column"),
        (HEADER + "a1,,x,,,,,,\n", "activity.csv:2: logins_30d: not a whole number: 'x'"),
        (HEADER + "a1,,,-3,,,,,\n", "activity.csv:2: logins_prev_30d: must not be negative: '-3'"),
        (
            HEADER + "a1,,,,,,,,31/12/2024\n",
            "activity.csv:2: renewal_date: not a date (YYYY-MM-DD): '31/12/2024'",
        ),
        (HEADER + "a1,,,,,,,,,extra\n", "activity.csv:2: row: more cells than columns"),
        (
            HEADER + "a1,,1,,,,,,\na1,,2,,,,,,\n",
            "activity.csv:3: account_id: duplicate account: 'a1'",
        ),
        (HEADER + ",,1,,,,,,\n", "activity.csv:2: account_id: no account_id or domain"),
    ],
)
def test_csv_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "activity.csv"
    write(path, content)
    with pytest.raises(ActivityFileError) as caught:
        CsvActivitySource(path=path).load()
    assert str(caught.value) == message


def test_csv_lookup_never_raises_and_keeps_the_last_good_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "activity.csv"
    source = CsvActivitySource(path=path)
    with caplog.at_level(logging.WARNING, logger="integration.activity"):
        assert source.lookup(account_id="a1", domain=None, email=None) is None  # missing
        write(path, HEADER + "a1,,5,,,,,,\n", mtime=1_700_000_000_000_000_000)
        assert source.lookup(account_id="a1", domain=None, email=None) == Activity(logins_30d=5)
        write(path, HEADER + "a1,,oops,,,,,,\n", mtime=1_700_000_100_000_000_000)
        assert source.lookup(account_id="a1", domain=None, email=None) == Activity(logins_30d=5)
        path.write_bytes(b"account_id\n\xff\xfe\n")
        os.utime(path, ns=(1_700_000_200_000_000_000,) * 2)
        assert source.lookup(account_id="a1", domain=None, email=None) == Activity(logins_30d=5)
    assert "unreadable" in caplog.text
    assert "activity.csv:2: logins_30d: not a whole number: 'oops'" in caplog.text
    assert "not UTF-8 text" in caplog.text


# --- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ([], "activity"),
        ({"kind": "ftp"}, "activity.kind"),
        ({"kind": "http"}, "activity.url"),
        ({"kind": "http", "url": "file:///etc/passwd"}, "activity.url"),
        ({"kind": "http", "url": "https://"}, "activity.url"),
        ({"kind": "http", "url": URL, "token": ""}, "activity.token"),
        ({"kind": "http", "url": URL, "timeout": 0}, "activity.timeout"),
        ({"kind": "http", "url": URL, "timeout": 120}, "activity.timeout"),
        ({"kind": "http", "url": URL, "timeout": "3"}, "activity.timeout"),
        ({"kind": "http", "url": URL, "path": "x.csv"}, "activity.path"),
        ({"kind": "csv"}, "activity.path"),
    ],
)
def test_bad_settings_name_the_field(settings: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ActivitySource.from_settings(settings)
    assert caught.value.field == field


def test_http_settings_build_an_http_source() -> None:
    source = ActivitySource.from_settings({"kind": "http", "url": URL, "timeout": 2})
    assert isinstance(source, HttpActivitySource)
    assert (source.url, source.timeout) == (URL, 2.0)


# --- trend -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recent", "previous", "trend", "falling"),
    [
        (7, 10, 0.7, True),  # exactly a 30 % drop
        (8, 10, 0.8, False),
        (0, 40, 0.0, True),
        (1, 4, 0.25, False),  # too small a base to mean anything
        (1, 5, 0.2, True),
        (30, 10, 3.0, False),
        (5, 0, None, False),
        (None, 10, None, False),
        (10, None, None, False),
    ],
)
def test_trend_and_decline(
    recent: int | None, previous: int | None, trend: float | None, falling: bool
) -> None:
    activity = Activity(logins_30d=recent, logins_prev_30d=previous)
    assert engagement_trend(activity) == trend
    assert declining(activity) is falling


def test_decline_threshold_is_configurable_and_none_is_safe() -> None:
    activity = Activity(logins_30d=8, logins_prev_30d=10)
    assert declining(activity, drop=0.2)
    assert not declining(activity, drop=0.3)
    assert engagement_trend(None) is None
    assert not declining(None)


@responses.activate
def test_http_answers_are_reused_for_a_while_but_failures_are_not() -> None:
    from integration.activity import HttpActivitySource

    now = [1000.0]
    source = HttpActivitySource(url=URL, session=requests.Session(), cache_seconds=60,
                                clock=lambda: now[0])
    responses.get(URL, json={"logins_30d": 3})
    first = source.lookup(account_id="a1", domain=None, email=None)
    assert first is not None and first.logins_30d == 3
    assert source.lookup(account_id="a1", domain=None, email=None) == first
    assert len(responses.calls) == 1
    now[0] += 61
    source.lookup(account_id="a1", domain=None, email=None)
    assert len(responses.calls) == 2
    responses.replace(responses.GET, URL, status=503)
    assert source.lookup(account_id="a2", domain=None, email=None) is None
    assert source.lookup(account_id="a2", domain=None, email=None) is None
    assert len(responses.calls) == 4  # a failing endpoint is asked again, not cached
