"""Secrets at rest: Fernet encryption of tenant credentials, and masking for logs.

The key comes from ``ESCALADE_SECRET_KEY`` (a Fernet key; several keys separated by commas
rotate: the first encrypts, all decrypt). The embedded default may instead keep a generated
key in a 0600 file (``load_or_create_key``), so a demo runs with no setup, never silently in
production: the caller has to allow it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from integration.errors import ConfigurationError

__all__ = [
    "ENV_VAR",
    "SecretCipher",
    "generate_key",
    "load_or_create_key",
    "mask",
    "read_key_file",
]

log = logging.getLogger(__name__)

ENV_VAR = "ESCALADE_SECRET_KEY"
_MAKE_KEY = "`python -c 'from integration.crypto import generate_key; print(generate_key())'`"


def generate_key() -> str:
    """A new random Fernet key (what to put in ``ESCALADE_SECRET_KEY``)."""
    return Fernet.generate_key().decode("ascii")


def mask(secret: str | None) -> str:
    """Show a secret in logs as ``ab…yz``; short ones are hidden entirely."""
    if not secret:
        return ""
    if len(secret) < 12:
        return "…"
    return f"{secret[:2]}…{secret[-2:]}"


class SecretCipher:
    """Encrypts and decrypts small secrets with Fernet (AES-128-CBC + HMAC-SHA256)."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ConfigurationError(f"{ENV_VAR}: no key given")
        fernets = []
        for index, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError) as err:
                # Never echo the key itself: it may be a real one with a typo.
                raise ConfigurationError(
                    f"{ENV_VAR}: key {index} is not a Fernet key (32 url-safe base64 bytes; "
                    f"make one with {_MAKE_KEY})"
                ) from err
        self._fernet = MultiFernet(fernets)
        first = keys[0].encode() if isinstance(keys[0], str) else keys[0]
        # Derived, never the key itself: a leaked session signature reveals nothing of it.
        self._session_key = hashlib.sha256(b"escalade-session:" + first).hexdigest()

    def session_key(self) -> str:
        """A key for signing web sessions and sidebar tokens, derived from the first key."""
        return self._session_key

    def sign_key(self, purpose: str) -> bytes:
        """A key for one purpose (e.g. ``sidebar``), derived from the first key."""
        return hashlib.sha256(f"{purpose}:{self._session_key}".encode()).digest()

    def __repr__(self) -> str:
        return "SecretCipher(<keys hidden>)"

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        *,
        allow_dev_key: str | os.PathLike[str] | None = None,
    ) -> SecretCipher:
        """The cipher from ``ESCALADE_SECRET_KEY``, else from the dev key file if allowed."""
        raw = environ.get(ENV_VAR, "").strip()
        if raw:
            return cls([part.strip() for part in raw.split(",") if part.strip()])
        if allow_dev_key is None:
            raise ConfigurationError(
                f"{ENV_VAR} is not set: secrets are encrypted at rest and need a key "
                f"(make one with {_MAKE_KEY})"
            )
        path = Path(allow_dev_key)
        log.warning("%s is not set; using the development key file %s", ENV_VAR, path)
        return cls([load_or_create_key(path)])

    def encrypt(self, plaintext: str) -> str:
        """Encrypt text into an ASCII token."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str, *, context: str = "secret") -> str:
        """Decrypt a token; ``ConfigurationError`` when no configured key opens it."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as err:
            raise ConfigurationError(
                f"{context}: cannot be decrypted with {ENV_VAR} (was the key changed? keep "
                "the old key after the new one, comma-separated, until secrets are rotated)"
            ) from err

    def encrypt_json(self, data: Mapping[str, Any]) -> str:
        """Encrypt a JSON object."""
        return self.encrypt(json.dumps(dict(data), sort_keys=True, separators=(",", ":")))

    def decrypt_json(self, token: str, *, context: str = "secret") -> dict[str, Any]:
        """Decrypt a token made by ``encrypt_json``."""
        data = json.loads(self.decrypt(token, context=context))
        if not isinstance(data, dict):
            raise ConfigurationError(f"{context}: decrypted secrets are not a JSON object")
        return data

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as err:
            raise ConfigurationError(f"cannot rotate: no key in {ENV_VAR} opens it") from err


def read_key_file(path: Path) -> list[str]:
    """The keys in a key file (comma or newline separated, first encrypts), named if unreadable."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeError) as err:
        raise ConfigurationError(f"ESCALADE_SECRET_KEY_FILE: cannot read {path}: "
                                 f"{getattr(err, 'strerror', None) or err}") from err
    keys = [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    if not keys:
        raise ConfigurationError(f"ESCALADE_SECRET_KEY_FILE: {path} holds no key")
    return keys


def load_or_create_key(path: str | os.PathLike[str]) -> str:
    """Read the key kept at ``path``, creating it (mode 0600) the first time."""
    key_path = Path(path)
    if key_path.exists():
        return _read_key(key_path)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    # Write a private temp file, then hard-link it into place: the link either appears
    # complete or fails because another process won the race, whose key we then use.
    fd, tmp = tempfile.mkstemp(dir=key_path.parent, prefix=".secret-key-")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
        try:
            os.link(tmp, key_path)
        except FileExistsError:
            return _read_key(key_path)
    finally:
        os.unlink(tmp)
    log.info("created secret key file %s", key_path)
    return key


def _read_key(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigurationError(
            f"{path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`"
        )
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise ConfigurationError(f"{path} is empty; delete it to generate a new key")
    return key
