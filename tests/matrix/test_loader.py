"""Matrix validation: every problem names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.calendars import parse_duration
from integration.errors import EscaladeError
from integration.matrix import (
    MatrixError,
    MatrixIssue,
    check_file,
    load_matrix,
    load_matrix_text,
)
from integration.models import Priority, Tier

VALID = """\
version: 2
triggers:
  churn: {lemmas: [cancel], phrases: ["evaluating other vendors"]}
  refund: {lemmas: [refund]}
tiers:
  3:
    rules:
      - id: churn_or_refund
        when: {trigger: [churn, refund]}
    sla: {first_response: 1h}
    actions: {priority: urgent, group: escalations, acknowledge: ack, alert: [slack]}
  2:
    rules:
      - id: billing
        when: {category: [billing]}
    sla: {first_response: 4h, resolution: 24h, calendar: business}
    on_breach: {promote_to: 3, alert: [manager]}
  1:
    sla: {first_response: 24h}
bumps:
  - id: at_risk
    from: [2]
    to: 3
    when: {all: [{plan: [enterprise]}, {health_below: 0.4}]}
calendars:
  business:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-12:30", "13:30-18:00"]}
    holidays: ["2026-12-25"]
templates:
  ack: "Hi {requester_name}, we will reply by {due}."
"""


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    (line,) = [i for i, t in enumerate(text.splitlines(), 1) if needle in t][:1]
    return line


def issues(text: str) -> list[MatrixIssue]:
    with pytest.raises(MatrixError) as info:
        load_matrix_text(text, source="matrix.yaml")
    return info.value.issues


def only_issue(text: str) -> MatrixIssue:
    (issue,) = issues(text)
    return issue


def test_valid_file_compiles() -> None:
    matrix = load_matrix_text(VALID, source="matrix.yaml")
    assert matrix.version.startswith("v2-")
    assert [t.id for t in matrix.triggers] == ["churn", "refund"]
    assert matrix.triggers[0].phrases == ("evaluating other vendors",)
    tier_2 = matrix.tier_settings(Tier.TWO)
    assert tier_2.sla.first_response == parse_duration("4h")
    assert tier_2.sla.calendar is not None and tier_2.sla.calendar.timezone == "Europe/Berlin"
    assert tier_2.on_breach is not None and tier_2.on_breach.promote_to is Tier.THREE
    tier_3 = matrix.tier_settings(Tier.THREE)
    assert tier_3.actions.priority is Priority.URGENT
    assert tier_3.actions.acknowledge_text == "Hi {requester_name}, we will reply by {due}."
    assert tier_3.sla.calendar is None


def test_version_follows_the_content() -> None:
    same = load_matrix_text(VALID).version
    assert load_matrix_text(VALID).version == same
    assert load_matrix_text(VALID + "# a comment\n").version != same


def test_bad_duration_names_file_line_and_field() -> None:
    text = VALID.replace("first_response: 4h", "first_response: 4x")
    issue = only_issue(text)
    assert (issue.file, issue.line) == ("matrix.yaml", line_of(text, "4x"))
    assert issue.field == "tiers.2.sla.first_response"
    assert str(issue).startswith(
        f"matrix.yaml:{line_of(text, '4x')}: tiers.2.sla.first_response: invalid duration '4x'"
    )


def test_unknown_key_is_a_typo_with_a_suggestion() -> None:
    text = VALID.replace('phrases: ["evaluating', 'phrase: ["evaluating')
    issue = only_issue(text)
    assert issue.line == line_of(text, "phrase:")
    assert issue.field == "triggers.churn.phrase"
    assert issue.message == "unknown key 'phrase' (did you mean 'phrases'?)"


def test_unknown_trigger_in_a_rule_points_at_the_list_item() -> None:
    text = VALID.replace(
        "when: {trigger: [churn, refund]}",
        "when:\n          trigger:\n            - churn\n            - refnd",
    )
    issue = only_issue(text)
    assert issue.line == line_of(text, "- refnd")
    assert issue.field == "tiers.3.rules.0.when.trigger.1"
    assert issue.message == "unknown trigger 'refnd' (did you mean 'refund'?)"


def test_unknown_trigger_in_a_mentioned_condition_is_named() -> None:
    text = VALID.replace("when: {trigger: [churn, refund]}", "when: {mentioned: [refnd]}")
    issue = only_issue(text)
    assert issue.field == "tiers.3.rules.0.when.mentioned.0"
    assert issue.message == "unknown trigger 'refnd' (did you mean 'refund'?)"


def test_unknown_category_and_condition() -> None:
    text = VALID.replace("{category: [billing]}", "{category: [biling]}")
    issue = only_issue(text)
    assert issue.line == line_of(text, "biling")
    assert issue.message.startswith("unknown category 'biling' (one of: billing, refund")
    typo = only_issue(VALID.replace("{category: [billing]}", "{categroy: [billing]}"))
    assert typo.message == "unknown condition 'categroy' (did you mean 'category'?)"


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            "{health_below: 0.4}",
            "{health_below: 1.5}",
            "bumps.0.when.all.1.health_below",
            "1.5 is out of range [0, 1]",
        ),
        (
            "{health_below: 0.4}",
            "{sentiment_below: -2}",
            "bumps.0.when.all.1.sentiment_below",
            "-2 is out of range [-1, 1]",
        ),
        (
            "{health_below: 0.4}",
            "{confidence_at_least: 80}",
            "bumps.0.when.all.1.confidence_at_least",
            "80 is out of range [0, 1]",
        ),
        (
            "{health_below: 0.4}",
            "{inquiry: maybe}",
            "bumps.0.when.all.1.inquiry",
            "expected true or false, got 'maybe'",
        ),
        (
            "{health_below: 0.4}",
            "{frustrated: yes please}",
            "bumps.0.when.all.1.frustrated",
            "expected true or false, got 'yes please'",
        ),
    ],
)
def test_thresholds_out_of_range(old: str, new: str, field: str, message: str) -> None:
    text = VALID.replace(old, new)
    issue = only_issue(text)
    assert (issue.line, issue.field, issue.message) == (line_of(text, new), field, message)


def test_duplicate_rule_ids() -> None:
    text = VALID.replace("- id: at_risk", "- id: billing")
    issue = only_issue(text)
    second = [i for i, t in enumerate(text.splitlines(), 1) if "- id: billing" in t][1]
    assert (issue.line, issue.field) == (second, "bumps.0.id")
    assert issue.message == "duplicate rule id 'billing' (also tiers.2.rules.0)"


def test_reserved_rule_id() -> None:
    issue = only_issue(VALID.replace("- id: at_risk", "- id: tier_floor"))
    assert issue.message == "rule id 'tier_floor' is reserved"


def test_bad_time_zone_and_interval() -> None:
    text = VALID.replace("Europe/Berlin", "Europe/Berlinn")
    issue = only_issue(text)
    assert (issue.line, issue.field) == (line_of(text, "Berlinn"), "calendars.business.timezone")
    assert "unknown time zone 'Europe/Berlinn'" in issue.message
    text = VALID.replace('"13:30-18:00"', '"13:30-18"')
    issue = only_issue(text)
    assert (issue.line, issue.field) == (
        line_of(text, "13:30-18"),
        "calendars.business.hours.mon-fri.1",
    )
    assert issue.message.startswith("invalid interval '13:30-18'")


def test_overlapping_intervals_and_bad_weekdays() -> None:
    overlap = only_issue(VALID.replace('"13:30-18:00"', '"12:00-18:00"'))
    assert overlap.field == "calendars.business.hours"
    assert "overlap" in overlap.message
    days = only_issue(VALID.replace("mon-fri:", "mon-fry:"))
    assert days.field == "calendars.business.hours.mon-fry"
    assert days.message.startswith("invalid weekdays 'mon-fry'")


def test_references_to_calendars_and_templates() -> None:
    text = VALID.replace("calendar: business", "calendar: busines")
    issue = only_issue(text)
    assert (issue.line, issue.field) == (line_of(text, "busines}"), "tiers.2.sla.calendar")
    assert issue.message.startswith("unknown calendar 'busines' (did you mean 'business'?)")
    ack = only_issue(VALID.replace("acknowledge: ack", "acknowledge: akc"))
    assert ack.field == "tiers.3.actions.acknowledge"
    placeholder = only_issue(VALID.replace("{due}.", "{deu}."))
    assert placeholder.field == "templates.ack"
    assert placeholder.message.startswith("unknown placeholder {deu}")


def test_breach_promotion_must_go_up() -> None:
    issue = only_issue(VALID.replace("promote_to: 3", "promote_to: 2"))
    assert (issue.field, issue.message) == (
        "tiers.2.on_breach.promote_to",
        "must be above tier 2, got 2",
    )


def test_structure_errors() -> None:
    missing = only_issue(VALID.replace("  1:\n    sla: {first_response: 24h}\n", ""))
    assert missing.field == "tiers"
    assert "tiers [1] are missing" in missing.message
    tier_4 = VALID.replace("  1:\n", "  4:\n")
    found = issues(tier_4)
    assert any(i.field == "tiers.4" and i.line == line_of(tier_4, "  4:") for i in found)
    two_keys = only_issue(
        VALID.replace("{category: [billing]}", "{category: [billing], plan: [pro]}")
    )
    assert "exactly one key (wrap several in 'all: [...]')" in two_keys.message
    move = only_issue(VALID.replace("    to: 3\n", ""))
    assert (move.field, move.message) == ("bumps.0", "a bump needs exactly one of 'to' or 'up'")


def test_yaml_syntax_error_and_duplicate_keys() -> None:
    broken = VALID.replace("tiers:\n", "tiers: [\n", 1)
    syntax = only_issue(broken)
    assert syntax.message.startswith("invalid YAML")
    assert syntax.line is not None and syntax.line > 1
    dup = VALID.replace(
        "  refund: {lemmas: [refund]}", "  refund: {lemmas: [refund]}\n  churn: {lemmas: [quit]}"
    )
    issue = only_issue(dup)
    assert (issue.line, issue.field) == (line_of(dup, "churn: {lemmas: [quit]}"), "triggers.churn")
    assert issue.message == "duplicate key 'churn' (first at line 3)"


def test_unsafe_yaml_and_non_mapping_documents() -> None:
    unsafe = only_issue(VALID.replace("version: 2", "version: !!python/name:os.system"))
    assert (unsafe.line, unsafe.message[:12]) == (1, "invalid YAML")
    listing = only_issue("- version: 1\n")
    assert listing.message == "expected a mapping"


def test_all_problems_are_reported_at_once() -> None:
    text = VALID.replace("first_response: 4h", "first_response: 4x").replace(
        "priority: urgent", "priority: asap"
    )
    found = issues(text)
    assert [i.field for i in found] == ["tiers.3.actions.priority", "tiers.2.sla.first_response"]
    assert "got 'asap'" in found[0].message


def test_matrix_error_is_an_escalade_error() -> None:
    with pytest.raises(EscaladeError) as info:
        load_matrix_text("version: 1\n", source="m.yaml")
    assert isinstance(info.value, MatrixError)
    assert "m.yaml:1: triggers: is required" in str(info.value)


def test_check_file_never_raises(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(VALID, encoding="utf-8")
    assert check_file(good) == []
    assert load_matrix(good).source == str(good)
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID.replace("first_response: 4h", "first_response: 4x"), encoding="utf-8")
    (issue,) = check_file(bad)
    assert issue.file == str(bad) and issue.line == line_of(bad.read_text(), "4x")
    (missing,) = check_file(tmp_path / "nope.yaml")
    assert missing.line is None and missing.message.startswith("cannot read")
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert [i.message for i in check_file(empty)] == ["the file is empty"]


def test_public_api_is_exported() -> None:
    import integration.matrix as package

    lead_uses = {
        "Matrix",
        "MatrixError",
        "MatrixIssue",
        "load_matrix",
        "load_matrix_text",
        "default_matrix",
        "evaluate",
        "check_file",
    }
    assert lead_uses <= set(package.__all__)
    assert all(hasattr(package, name) for name in package.__all__)


ICAL = """\
BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:may-day@example
DTSTART;VALUE=DATE:20270501
DTEND;VALUE=DATE:20270502
SUMMARY:May Day
END:VEVENT
END:VCALENDAR
"""


def test_clocks_warning_and_breach_settings_compile() -> None:
    text = VALID.replace(
        "    on_breach: {promote_to: 3, alert: [manager]}",
        "    on_breach: {promote_to: 3, alert: [manager], acknowledge: true}\n"
        "    on_warning: {note: false, alert: [slack]}",
    ) + "clocks: {warn_before: 45m, pause_on: [pending]}\n"
    matrix = load_matrix_text(text)
    tier_2 = matrix.tier_settings(Tier.TWO)
    assert tier_2.on_breach is not None and tier_2.on_breach.acknowledge
    assert (tier_2.on_warning.note, tier_2.on_warning.alert) == (False, ("slack",))
    assert matrix.warn_before == parse_duration("45m")
    assert {s.value for s in matrix.pause_on} == {"pending"}
    defaults = load_matrix_text(VALID)
    assert defaults.warn_before == parse_duration("30m")
    assert {s.value for s in defaults.pause_on} == {"pending", "on_hold"}


def test_bad_clock_settings_name_their_field() -> None:
    text = VALID + "clocks: {pause_on: [waiting]}\n"
    issue = only_issue(text)
    assert (issue.line, issue.field) == (line_of(text, "clocks:"), "clocks.pause_on.0")
    assert "pending" in issue.message


def test_holidays_from_an_ical_file_beside_the_matrix(tmp_path: Path) -> None:
    (tmp_path / "holidays.ics").write_text(ICAL, encoding="utf-8")
    text = VALID.replace('    holidays: ["2026-12-25"]',
                         '    holidays: ["2026-12-25"]\n    holidays_ical: holidays.ics')
    path = tmp_path / "matrix.yaml"
    path.write_text(text, encoding="utf-8")
    calendar = load_matrix(path).calendars["business"]
    assert {str(d) for d in calendar.holidays} == {"2026-12-25", "2027-05-01"}


def test_a_missing_or_broken_ical_file_names_the_field(tmp_path: Path) -> None:
    text = VALID.replace('    holidays: ["2026-12-25"]', "    holidays_ical: nowhere.ics")
    path = tmp_path / "matrix.yaml"
    path.write_text(text, encoding="utf-8")
    (issue,) = check_file(path)
    assert issue.field == "calendars.business.holidays_ical"
    assert issue.line == line_of(text, "holidays_ical")
    assert "cannot read" in issue.message and "nowhere.ics" in issue.message
    (tmp_path / "nowhere.ics").write_text(ICAL.replace("20270501", "2027-05-01"), "utf-8")
    (issue,) = check_file(path)
    assert issue.field == "calendars.business.holidays_ical"
    assert "nowhere.ics:5" in issue.message


def test_the_fast_yaml_parser_reads_the_default_matrix_as_the_pure_python_one() -> None:
    import yaml

    from integration.matrix.loader import _FAST_LOADER, DEFAULT_PATH

    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert _FAST_LOADER is not yaml.SafeLoader  # libyaml is there: the fast path is taken
    assert yaml.load(text, Loader=_FAST_LOADER) == yaml.safe_load(text)


def test_a_file_libyaml_refuses_is_reported_in_the_pure_python_parsers_words() -> None:
    import yaml

    text = "version: 1\ntiers: [1, 2\n"
    with pytest.raises(yaml.MarkedYAMLError) as pure:
        yaml.safe_load(text)
    with pytest.raises(MatrixError) as err:
        load_matrix_text(text, source="bad.yaml")
    assert err.value.issues[0].message == f"invalid YAML: {pure.value.problem}"
