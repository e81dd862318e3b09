"""Audit settings: ARR bands, label map overrides, and options that name themselves on error."""

from __future__ import annotations

import pytest

from integration.audit.settings import (
    AuditSettings,
    label_categories,
    parse_escalation,
    parse_zone,
)
from integration.errors import ValidationError
from integration.models import Category


def test_arr_bands() -> None:
    settings = AuditSettings()
    assert [settings.arr_band(v) for v in (None, 0, 9_999, 10_000, 120_000, 5_000_000)] == [
        "unknown", "under 10k", "under 10k", "10k-50k", "100k-250k", "250k+"]
    assert settings.arr_band_names()[-2:] == ["250k+", "unknown"]


def test_label_map_overrides_and_errors() -> None:
    mapped = label_categories({"Data Export": "bug"}, option="--label-map")
    assert AuditSettings(label_categories=mapped).label_category("data-export") is Category.BUG
    with pytest.raises(ValidationError) as err:
        label_categories({"x": "urgent"}, option="--label-map")
    assert err.value.field == "--label-map" and "how_to" in str(err.value)


def test_escalation_evidence_from_the_command_line() -> None:
    evidence = parse_escalation(tags="escalated, tier3_*", groups="Escalations")
    assert evidence.tags == frozenset({"escalated"})
    assert evidence.tag_prefixes == ("tier3_",)
    assert evidence.groups == frozenset({"escalations"})
    assert "ending in the group escalations" in evidence.describe()


def test_unknown_zone_names_the_option() -> None:
    assert str(parse_zone("Europe/Berlin", option="--zone")) == "Europe/Berlin"
    with pytest.raises(ValidationError) as err:
        parse_zone("Mars/Base", option="--zone")
    assert err.value.field == "--zone"
