"""Rotating the key that encrypts workspace credentials: new key first, re-encrypt, drop the old."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integration import store
from integration.cli.root import main
from integration.crypto import SecretCipher, generate_key
from integration.errors import ConfigurationError
from integration.runtime import Runtime

SECRETS = {"api_token": "zd-token-made-up", "webhook_secret": "wh-made-up"}


_MADE: list[Runtime] = []


@pytest.fixture(autouse=True)
def _dispose() -> Iterator[None]:
    """Each runtime a test made closes its pooled connections at the end."""
    yield
    while _MADE:
        _MADE.pop().engine.dispose()


def runtime_with(app_config: dict[str, Any], **config: Any) -> Runtime:
    runtime = Runtime(config={**app_config, **config})
    _MADE.append(runtime)
    return runtime


def add_workspaces(runtime: Runtime, *slugs: str) -> None:
    with store.session_scope(runtime.sessions) as s:
        for slug in slugs:
            store.add_tenant(s, slug=slug, name=slug, helpdesk="zendesk",
                             base_url="https://acme.zendesk.com", secrets=SECRETS,
                             settings={}, cipher=runtime.cipher)


def secrets_of(runtime: Runtime, slug: str) -> dict[str, str]:
    with store.session_scope(runtime.sessions) as s:
        row = store.get_tenant(s, slug)
        assert row is not None
        return store.tenant_secrets(row, runtime.cipher)


def rotate(runtime: Runtime) -> Any:
    return CliRunner().invoke(main, ["keys", "rotate"], obj=runtime)


def test_rotate_re_encrypts_every_workspace_under_the_first_key(
    app_config: dict[str, Any]
) -> None:
    store.upgrade(app_config["DATABASE_URL"])
    old, new = generate_key(), generate_key()
    add_workspaces(runtime_with(app_config, SECRET_KEY=old), "acme", "globex")

    result = rotate(runtime_with(app_config, SECRET_KEY=f"{new},{old}"))

    assert result.exit_code == 0, result.output
    assert "2 workspace(s) re-encrypted under the first key: acme, globex" in result.output
    only_new = runtime_with(app_config, SECRET_KEY=new)
    assert secrets_of(only_new, "acme") == SECRETS == secrets_of(only_new, "globex")
    with pytest.raises(ConfigurationError):
        secrets_of(runtime_with(app_config, SECRET_KEY=old), "acme")


def test_a_workspace_no_key_opens_stops_the_rotation_before_anything_is_written(
    app_config: dict[str, Any]
) -> None:
    store.upgrade(app_config["DATABASE_URL"])
    old, stranger, new = generate_key(), generate_key(), generate_key()
    add_workspaces(runtime_with(app_config, SECRET_KEY=old), "acme")
    add_workspaces(runtime_with(app_config, SECRET_KEY=stranger), "zeta")

    result = rotate(runtime_with(app_config, SECRET_KEY=f"{new},{old}"))

    assert result.exit_code != 0
    assert "workspace 'zeta'" in result.output
    # acme was not re-encrypted either: the old key still opens it, the new one alone not.
    assert secrets_of(runtime_with(app_config, SECRET_KEY=old), "acme") == SECRETS


def test_the_key_can_live_in_a_file(app_config: dict[str, Any], tmp_path: Path) -> None:
    store.upgrade(app_config["DATABASE_URL"])
    old, new = generate_key(), generate_key()
    add_workspaces(runtime_with(app_config, SECRET_KEY=old), "acme")
    key_file = tmp_path / "keys"
    key_file.write_text(f"{new}\n{old}\n")

    from_file = runtime_with(app_config, SECRET_KEY=None, SECRET_KEY_FILE=key_file)
    assert rotate(from_file).exit_code == 0
    assert secrets_of(runtime_with(app_config, SECRET_KEY=new), "acme") == SECRETS


def test_an_unreadable_key_file_is_named(app_config: dict[str, Any], tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigurationError, match="ESCALADE_SECRET_KEY_FILE: cannot read"):
        _ = runtime_with(app_config, SECRET_KEY=None, SECRET_KEY_FILE=missing).cipher
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigurationError, match="holds no key"):
        _ = runtime_with(app_config, SECRET_KEY=None, SECRET_KEY_FILE=empty).cipher


def test_keys_new_prints_a_usable_key() -> None:
    result = CliRunner().invoke(main, ["keys", "new"])
    assert result.exit_code == 0
    SecretCipher([result.output.strip()])
