"""Secrets at rest: Fernet keys from the environment or a private dev key file, and masking."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from integration.crypto import SecretCipher, generate_key, load_or_create_key, mask
from integration.errors import ConfigurationError


def test_round_trip_and_ciphertext_differs_from_plaintext() -> None:
    cipher = SecretCipher([generate_key()])
    token = cipher.encrypt("zd-api-token-123")
    assert "zd-api-token-123" not in token
    assert cipher.decrypt(token) == "zd-api-token-123"
    assert cipher.decrypt_json(cipher.encrypt_json({"a": "b"})) == {"a": "b"}


def test_from_env_reads_the_key() -> None:
    key = generate_key()
    token = SecretCipher([key]).encrypt("x")
    assert SecretCipher.from_env({"ESCALADE_SECRET_KEY": key}).decrypt(token) == "x"


def test_missing_key_is_a_configuration_error_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="ESCALADE_SECRET_KEY is not set"):
        SecretCipher.from_env({})


def test_malformed_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError) as info:
        SecretCipher.from_env({"ESCALADE_SECRET_KEY": "definitely-not-a-fernet-key"})
    assert "definitely-not-a-fernet-key" not in str(info.value)


def test_wrong_key_says_how_to_recover() -> None:
    token = SecretCipher([generate_key()]).encrypt("x")
    with pytest.raises(ConfigurationError, match="tenant 'acme'.*key changed"):
        SecretCipher([generate_key()]).decrypt(token, context="tenant 'acme'")


def test_comma_separated_keys_rotate() -> None:
    old, new = generate_key(), generate_key()
    token = SecretCipher([old]).encrypt("s3cret")
    both = SecretCipher.from_env({"ESCALADE_SECRET_KEY": f"{new}, {old}"})
    assert both.decrypt(token) == "s3cret"
    rotated = both.rotate(token)
    assert SecretCipher([new]).decrypt(rotated) == "s3cret"


def test_dev_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret.key"
    first = SecretCipher.from_env({}, allow_dev_key=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = first.encrypt("kept")
    again = SecretCipher.from_env({}, allow_dev_key=path)
    assert again.decrypt(token) == "kept"
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]


def test_environment_key_wins_over_the_dev_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    key = generate_key()
    cipher = SecretCipher.from_env({"ESCALADE_SECRET_KEY": key}, allow_dev_key=path)
    assert SecretCipher([key]).decrypt(cipher.encrypt("x")) == "x"
    assert not path.exists()


def test_dev_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    load_or_create_key(path)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_or_create_key(path)


def test_repr_hides_the_keys() -> None:
    key = generate_key()
    assert key not in repr(SecretCipher([key]))


@pytest.mark.parametrize(
    ("secret", "shown"),
    [("sk-live-abcdefghijklmnop", "sk…op"), ("short", "…"), ("", ""), (None, "")],
)
def test_mask(secret: str | None, shown: str) -> None:
    assert mask(secret) == shown
