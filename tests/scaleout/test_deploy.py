"""deploy/compose.yaml holds together: its services, real commands, secrets, health checks.

Docker does not run here, so the file is read, not run: the YAML parses, every service is
there, every `escalade` command and option exists, gunicorn's options and app spec are real,
the settings it sets are documented ones, and the secret key comes from a mounted file.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from integration.cli.root import main
from integration.config import ENV_DOCS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _escalade(args: list[str]) -> None:
    """Parse ``escalade ARGS`` as the CLI would, without running it."""
    command: click.Command = main
    rest = list(args)
    while isinstance(command, click.Group):
        name = rest.pop(0)
        found = command.get_command(click.Context(command), name)
        assert found is not None, f"`escalade {' '.join(args)}`: no command {name!r}"
        command = found
    command.make_context(command.name or "", rest)


def _gunicorn(args: list[str]) -> None:
    from gunicorn.config import Config

    parsed = Config().parser().parse_args(args)
    [spec] = parsed.args
    module, _, call = spec.partition(":")
    factory = getattr(importlib.import_module(module), call.removesuffix("()"))
    assert callable(factory), spec


def test_every_service_is_there(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"web", "worker", "beat", "migrate", "postgres", "redis"}
    assert compose["services"]["beat"]["deploy"]["replicas"] == 1


@pytest.mark.parametrize("service", ["web", "worker", "beat", "migrate"])
def test_commands_are_real(compose: dict[str, Any], service: str) -> None:
    command = compose["services"][service]["command"]
    if command[0] == "escalade":
        _escalade(command[1:])
    else:
        assert command[0] == "gunicorn"
        _gunicorn(command[1:])


def test_app_services_run_scaleout_with_the_key_from_a_secret_file(
        compose: dict[str, Any]) -> None:
    declared = compose["secrets"]
    for name in ("web", "worker", "beat", "migrate"):
        service = compose["services"][name]
        env = service["environment"]
        assert env["ESCALADE_MODE"] == "scaleout"
        assert env["ESCALADE_BROKER_URL"].startswith("redis://redis:")
        secret = env["ESCALADE_SECRET_KEY_FILE"].removeprefix("/run/secrets/")
        assert secret in service["secrets"] and "file" in declared[secret]
        assert service["env_file"] == ["escalade.env"]
        assert set(env) <= set(ENV_DOCS), "only documented settings"
    example = (DEPLOY / "escalade.env.example").read_text(encoding="utf-8")
    names = {line.lstrip("# ").split("=")[0] for line in example.splitlines()
             if "=" in line and line.lstrip("# ").startswith("ESCALADE_")}
    assert "ESCALADE_DATABASE_URL" in names and names <= set(ENV_DOCS)
    assert {"escalade.env", "secrets/"} <= set((DEPLOY / ".gitignore").read_text().split())


def test_web_is_checked_on_healthz_and_readyz_and_waits_for_the_migration(
        compose: dict[str, Any]) -> None:
    web = compose["services"]["web"]
    check = " ".join(web["healthcheck"]["test"])
    assert "/healthz" in check and "/readyz" in check
    for name in ("web", "worker"):
        needs = compose["services"][name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["postgres"]["condition"] == "service_healthy"
    for name in ("postgres", "redis"):
        assert compose["services"][name]["healthcheck"]["test"]


def test_the_image_holds_every_package(compose: dict[str, Any]) -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    for package in ("integration", "adapters", "sidebar_ui", "scheduler"):
        assert f"COPY {package} {package}" in dockerfile
    assert "'.[scaleout]'" in dockerfile
