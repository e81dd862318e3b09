"""The ``llm`` setting: checked where workspace options are, every error naming its field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integration.cli.root import main
from integration.errors import ValidationError
from integration.llm import DEFAULT_BASE_URL, LlmSettings
from integration.workspaces.validation import check_options
from tests.admin.test_admin import _tenant, admin, signed_in  # noqa: F401  (fixtures)
from tests.admin.test_admin_setup import _add
from tests.test_cli import cli_env  # noqa: F401  (fixture)
from tests.test_cli_connect import _settings, runner  # noqa: F401  (fixture)


def _check(**options: Any) -> dict[str, Any]:
    return check_options(options, helpdesk="sandbox", calendars={}, base_dir=Path("."))


def test_defaults_are_off_and_bounded() -> None:
    settings = LlmSettings.parse({"model": "gpt-4o-mini", "api_key_env": "OPENAI_API_KEY"})
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.second_reading is False
    assert settings.redact is True
    assert (settings.timeout_seconds, settings.requests_per_minute,
            settings.monthly_token_budget) == (10.0, 30, 1_000_000)


@pytest.mark.parametrize(("llm", "field", "words"), [
    ({"model": "m", "base_url": "ftp://models.example"}, "options.llm.base_url",
     "not an http(s) URL"),
    ({"model": "m", "base_url": "localhost:8080"}, "options.llm.base_url", "not an http(s) URL"),
    ({"model": "m", "monthly_token_budget": -5}, "options.llm.monthly_token_budget",
     "must be at least 0"),
    ({"model": "m", "requests_per_minute": 0}, "options.llm.requests_per_minute",
     "must be at least 1"),
    ({"model": "m", "timeout_seconds": 600}, "options.llm.timeout_seconds",
     "must be from 0.1 to 60"),
    ({"model": "m", "temperature": 0.2}, "options.llm.temperature", "unknown key"),
    ({"base_url": "http://127.0.0.1:8080/v1"}, "options.llm.model", "expected a non-empty text"),
    ({"model": "m", "second_reading": "yes"}, "options.llm.second_reading",
     "expected true or false"),
    ({"model": "m", "api_key_env": "ESCALADE_SECRET_KEY"}, "options.llm.api_key_env",
     "not Escalade's own"),
    ({"model": "m", "api_key_env": "K", "api_key_secret": True}, "options.llm.api_key_secret",
     "give the key one way"),
    ({"model": "m", "provider": "bard"}, "options.llm.provider",
     "unknown language model provider 'bard'"),
    ("gpt-4o", "options.llm", "expected a JSON object"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_bad_setting_names_its_field(llm: Any, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as err:
        _check(llm=llm)
    assert err.value.field == field
    assert words in err.value.message


def test_the_older_name_is_checked_the_same_way() -> None:
    with pytest.raises(ValidationError) as err:
        _check(summary_llm={"model": "m", "monthly_token_budget": -1})
    assert err.value.field == "options.summary_llm.monthly_token_budget"


def test_summary_provider_is_extractive_or_llm() -> None:
    assert _check(summary_provider="llm") == {"summary_provider": "llm"}
    with pytest.raises(ValidationError) as err:
        _check(summary_provider="gpt-4")
    assert err.value.field == "options.summary_provider"


def test_a_local_server_needs_no_key() -> None:
    local = {"base_url": "http://127.0.0.1:8080/v1", "model": "llama3.1", "second_reading": True}
    assert _check(llm=local) == {"llm": local}


def test_configure_stores_nothing_on_a_bad_value(runner: CliRunner) -> None:  # noqa: F811
    bad = json.dumps({"base_url": "http://127.0.0.1:8080/v1", "model": "llama3.1",
                      "monthly_token_budget": -1})
    result = runner.invoke(main, ["tenant", "configure", "acme", "--option", f"llm={bad}"])
    assert result.exit_code != 0
    assert "llm.monthly_token_budget" in result.output and "at least 0" in result.output
    assert "llm" not in _settings()["settings"]
    good = bad.replace("-1", "50000")
    result = runner.invoke(main, ["tenant", "configure", "acme", "--option", f"llm={good}",
                                  "--option", "summary_provider=llm"])
    assert result.exit_code == 0, result.output
    assert _settings()["settings"]["llm"]["monthly_token_budget"] == 50000


def test_the_key_is_a_stored_secret(runner: CliRunner) -> None:  # noqa: F811
    result = runner.invoke(main, ["tenant", "secret", "acme", "llm.api_key", "--value-stdin"],
                           input="sk-test-0123456789abcdef\n")
    assert result.exit_code == 0, result.output
    assert _settings()["secrets"]["llm.api_key"] == "sk-test-0123456789abcdef"
    listed = runner.invoke(main, ["tenant", "secret", "acme"])
    assert "llm.api_key" in listed.output


def test_without_the_openai_package_the_setting_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "openai", None)  # import openai raises ImportError
    monkeypatch.delitem(sys.modules, "adapters.llm.openai_client", raising=False)
    with pytest.raises(ValidationError) as err:
        _check(llm={"model": "m"})
    assert err.value.field == "options.llm.provider"
    assert "did not enable openai: the 'openai' package is not installed" in err.value.message


def test_the_admin_page_refuses_a_bad_value_naming_it(signed_in: Any,  # noqa: F811
                                                      runtime: Any) -> None:
    form = {"helpdesk": "sandbox", "slug": "acme",
            "options": 'summary_provider=llm\nllm={"model": "llama3.1", '
                       '"base_url": "http://127.0.0.1:8080/v1", "monthly_token_budget": -1}'}
    bad = _add(signed_in, form)
    assert bad.status_code == 422
    # Named under More options by the key as typed (the form's "options." prefix is not shown).
    assert 'id="error-options">llm.monthly_token_budget: ' in bad.text
    assert "at least 0" in bad.text and "options.llm" not in bad.text
    added = _add(signed_in, {**form, "options": form["options"].replace("-1", "90000")})
    assert added.status_code == 201, added.text
    settings, _secrets = _tenant(runtime, "acme")
    assert settings["llm"]["monthly_token_budget"] == 90000
    page = signed_in.get("/admin/tenants/acme").text
    assert "Language model API key" in page  # the Secrets panel offers the key
