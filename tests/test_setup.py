"""The one place setup input is checked: workspace fields, options, connectors, groups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.helpdesk.base import HelpdeskGroup
from integration.errors import ValidationError
from integration.matrix import default_matrix
from integration.workspaces.connector_fields import check_connector
from integration.workspaces.validation import (
    check_currency,
    check_new_tenant,
    check_options,
    group_report,
    groups_in_use,
    parse_option_pairs,
)

CALENDARS = default_matrix().calendars


def _field(call: Any) -> str:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value.field


def _tenant(**overrides: Any) -> Any:
    values: dict[str, Any] = {
        "slug": "acme", "helpdesk": "zendesk", "name": None,
        "base_url": "https://acme.zendesk.com",
        "credentials": {"email": "bot@acme.example", "api_token": "t0ken"},
        "webhook_secret": None, "generated_secret": "", "options": {},
        "calendars": CALENDARS, "base_dir": Path.cwd(),
    }
    values.update(overrides)
    return check_new_tenant(**values)


def test_currency_is_an_iso_4217_code() -> None:
    assert check_currency("eur") == "EUR"
    assert check_currency("JPY") == "JPY"
    for bad in ("EURO", "XXX", "XAU", "€", ""):
        with pytest.raises(ValidationError, match="ISO 4217"):
            check_currency(bad)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"slug": "Acme Inc"}, "slug"),
    ({"helpdesk": "helpscout"}, "helpdesk"),
    ({"base_url": None}, "base_url"),
    ({"base_url": "acme.zendesk.com"}, "base_url"),
    ({"credentials": {"email": "bot@acme.example"}}, "api_token"),
    ({"credentials": {"email": "not-an-address", "api_token": "t"}}, "email"),
    ({"credentials": {"email": "bot@acme.example", "api_token": "t", "api_key": "k"}},
     "api_key"),
    ({"webhook_secret": "short"}, "webhook_secret"),
    ({"options": {"calendar": "mars"}}, "options.calendar"),
    ({"options": {"currency": "dollars"}}, "options.currency"),
    ({"options": {"calender": "business_us"}}, "options.calender"),
    ({"options": {"team_ids": {"escalations": 1}}}, "options.team_ids"),
    ({"options": {"group_ids": {"escalations": "abc"}}}, "options.group_ids.escalations"),
    ({"options": {"group_ids": [1, 2]}}, "options.group_ids"),
    ({"options": {"tier_field_id": "custom"}}, "options.tier_field_id"),
    ({"options": {"slack": {"channel": "C1"}}}, "options.slack"),
    ({"options": {"routing": {"agents": [{"id": "a", "groups": ["nope"]}]}}}, "options.routing"),
])
def test_a_new_workspace_names_the_field_that_is_wrong(overrides: dict[str, Any],
                                                       field: str) -> None:
    assert _field(lambda: _tenant(**overrides)) == field


def test_a_good_workspace_is_normalized() -> None:
    plan = _tenant(options={"currency": "eur", "calendar": "business_us",
                            "group_ids": {"escalations": "360003", "support": 360001}},
                   base_url="https://acme.zendesk.com/")
    assert plan.base_url == "https://acme.zendesk.com"
    assert plan.settings == {"currency": "EUR", "calendar": "business_us",
                             "group_ids": {"escalations": "360003", "support": 360001}}
    # Zendesk creates the signing secret: none is made up when the admin gave none.
    assert "webhook_secret" not in plan.secrets and not plan.webhook_secret_generated
    made = _tenant(helpdesk="freshdesk", base_url="https://acme.freshdesk.com",
                   credentials={"api_key": "k"}, generated_secret="g" * 32)
    assert made.secrets["webhook_secret"] == "g" * 32 and made.webhook_secret_generated


def test_team_ids_on_zendesk_point_at_group_ids() -> None:
    with pytest.raises(ValidationError, match="Zendesk uses group_ids"):
        _tenant(options={"team_ids": {"escalations": 1}})


def test_option_values_parse_strictly(tmp_path: Path) -> None:
    (tmp_path / "routing.json").write_text('{"groups": [], "agents": []}', encoding="utf-8")
    parsed = parse_option_pairs(["tier_field_id=360001", "region=eu", "calendar=",
                                 "routing=@routing.json"], base_dir=tmp_path)
    assert parsed == {"tier_field_id": 360001, "region": "eu", "calendar": None,
                      "routing": {"groups": [], "agents": []}}
    for pair, field in (("group_ids={escalations: 1}", "options.group_ids"),
                        ('users={"U1": 2', "options.users"),
                        ("routing=@missing.json", "options.routing"),
                        ("novalue", "options")):
        assert _field(lambda p=pair: parse_option_pairs([p], base_dir=tmp_path)) == field
    with pytest.raises(ValidationError, match="only by the command line"):
        parse_option_pairs(["routing=@routing.json"], base_dir=tmp_path, allow_files=False)


def test_activity_csv_must_exist_and_is_stored_absolute(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read") as info:
        check_options({"activity": {"kind": "csv", "path": "usage.csv"}}, helpdesk="sandbox",
                      calendars=CALENDARS, base_dir=tmp_path)
    assert info.value.field == "options.activity"
    (tmp_path / "usage.csv").write_text("account_id,domain,logins_30d\nc1,acme.example,3\n",
                                        encoding="utf-8")
    checked = check_options({"activity": {"kind": "csv", "path": "usage.csv"}},
                            helpdesk="sandbox", calendars=CALENDARS, base_dir=tmp_path)
    assert checked["activity"]["path"] == str((tmp_path / "usage.csv").resolve())


@pytest.mark.parametrize(("connector", "settings", "credentials", "field"), [
    ("jira", {"project": "PAY"}, {"email": "bot@acme.example", "api_token": "t"}, "base_url"),
    ("jira", {"base_url": "https://acme.atlassian.net", "project": "pay shop"},
     {"email": "bot@acme.example", "api_token": "t"}, "project"),
    ("jira", {"base_url": "https://acme.atlassian.net", "project": "PAY"},
     {"email": "bot", "api_token": "t"}, "email"),
    ("jira", {"base_url": "https://acme.atlassian.net", "project": "PAY"},
     {"email": "bot@acme.example"}, "api_token"),
    ("linear", {}, {"api_key": "lin_api_x"}, "team_id"),
    ("linear", {"team_id": "T1"}, {"api_key": "lin_api_x", "webhook_secret": "x"},
     "webhook_secret"),
    ("slack", {"channel": "#alerts"}, {"bot_token": "xoxb-1"}, "channel"),
    ("slack", {"channel": "C0ALERTS", "users": {"dana": "42"}}, {"bot_token": "xoxb-1"},
     "users"),
    ("crm", {}, {}, "access_token"),
])
def test_connectors_name_the_field_they_cannot_use(
        connector: str, settings: dict[str, Any], credentials: dict[str, str],
        field: str) -> None:
    assert _field(lambda: check_connector(connector, settings, credentials)) == field


def test_good_connector_settings_pass() -> None:
    check_connector("jira", {"base_url": "https://acme.atlassian.net", "project": "PAY"},
                    {"email": "bot@acme.example", "api_token": "t"})
    check_connector("linear", {"team_id": "T1"}, {"api_key": "lin_api_x"})


def test_group_report_finds_unmapped_unknown_and_same_named_groups() -> None:
    matrix = default_matrix()
    used = groups_in_use(matrix.tier_settings(t).actions.group
                         for t in sorted(matrix.settings, reverse=True))
    assert used == ["escalations", "support_tier_2", "support"]
    groups = [HelpdeskGroup(id="1", name="Support"), HelpdeskGroup(id="2", name="Support Tier 2"),
              HelpdeskGroup(id="3", name="Escalations")]
    report = group_report(used, {"escalations": 9}, groups)
    assert report.unmapped == ("support_tier_2", "support")
    assert report.unknown == {"escalations": "9"}
    assert report.suggestions == {"support_tier_2": "2", "support": "1"}
    assert groups_in_use(["escalations"], {"groups": [{"id": "vip"}, {"id": "escalations"}]}) \
        == ["escalations", "vip"]


def test_readme_group_examples_map_every_default_group() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    matrix = default_matrix()
    used = {matrix.tier_settings(t).actions.group for t in matrix.settings} - {None}
    examples = []
    for option in ("group_ids", "team_ids"):
        for chunk in readme.split(f"{option}=")[1:]:
            examples.append(json.loads(chunk[:chunk.index("}") + 1]))
    assert len(examples) >= 3, "README maps groups for Zendesk, Freshdesk and Intercom"
    for example in examples:
        assert used <= set(example), f"README example {example} leaves out {used - set(example)}"


def test_the_slug_rule_is_the_store_s_rule() -> None:
    """What `tenant add` and the admin accept is exactly what the store will store."""
    from integration.store.repo import _SLUG
    from integration.workspaces.validation import SLUG

    for slug in ("a", "ab", "acme-eu", "x" * 63, "x" * 64, "-acme", "acme-", "Acme", "ac_me"):
        assert bool(SLUG.match(slug)) == bool(_SLUG.match(slug)), slug
