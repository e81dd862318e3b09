"""Configuration comes one way: defaults, then ESCALADE_* environment, then overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.config import ENV_DOCS, load_config
from integration.errors import ConfigurationError


def test_defaults_give_an_embedded_sqlite_database(tmp_path: Path) -> None:
    config = load_config({}, {"VAR_DIR": tmp_path})
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path.resolve() / 'escalade.db'}"
    assert config["WORKERS"] == 1


def test_environment_overrides_defaults_and_overrides_win() -> None:
    env = {"ESCALADE_MAX_BODY_BYTES": "2048", "ESCALADE_DATABASE_URL": "sqlite:///x.db"}
    assert load_config(env)["MAX_BODY_BYTES"] == 2048
    assert load_config(env)["DATABASE_URL"] == "sqlite:///x.db"
    assert load_config(env, {"MAX_BODY_BYTES": 10})["MAX_BODY_BYTES"] == 10


def test_bad_number_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="ESCALADE_WORKERS"):
        load_config({"ESCALADE_WORKERS": "many"})


def test_readme_documents_every_variable() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    missing = [name for name in ENV_DOCS if name not in readme]
    assert not missing, f"README does not document {missing}"
