"""Per-install secrets: the ones a helpdesk or tracker proves itself with, and their rotation.

Webhook secrets, the Freshdesk sidebar secret, the Zendesk app's public key, the Intercom
client secret (``install_secrets``). Replacing one keeps the value it replaced for
``SECRET_GRACE`` (``with_rotation``), and verifiers accept either meanwhile
(``secret_versions``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from integration.errors import ValidationError
from integration.workspaces.validation import HELPDESKS, MIN_WEBHOOK_SECRET

__all__ = [
    "PROOF_SECRETS",
    "ROTATIONS_KEY",
    "SECRET_GRACE",
    "InstallSecret",
    "check_secret_value",
    "install_secret",
    "install_secrets",
    "previous_secret",
    "rotation_of",
    "secret_versions",
    "with_rotation",
]

MAX_SECRET = 500
MAX_PEM = 10_000
SECRET_GRACE = timedelta(hours=24)
# Where the rotation record lives among the tenant's encrypted secrets (the dot keeps it out
# of the helpdesk's credentials, and no connector is called "escalade").
ROTATIONS_KEY = "escalade.rotations"


@dataclass(frozen=True, kw_only=True, slots=True)
class InstallSecret:
    """A secret a helpdesk or tracker proves itself with, by its stored name."""

    name: str
    label: str
    # Where the value comes from or goes, said to the admin.
    where: str
    # Escalade may make the value (else the vendor makes it and the admin copies it in).
    generate: bool
    kind: str = "secret"  # "secret" | "pem"
    connector: str | None = None


_WEBHOOK_SECRETS = {
    "zendesk": InstallSecret(
        name="webhook_secret", label="Webhook signing secret", generate=False,
        where="Zendesk makes it: the webhook's page in Admin Center → Reveal secret."),
    "freshdesk": InstallSecret(
        name="webhook_secret", label="Webhook secret", generate=True,
        where="The password of the automation rules' webhook (user escalade)."),
    "intercom": InstallSecret(
        name="webhook_secret", label="App client secret", generate=False,
        where="Intercom makes it: Developer Hub → your app → Basic information → Client "
              "secret. It signs the webhooks and the inbox app's requests."),
    "sandbox": InstallSecret(
        name="webhook_secret", label="Webhook secret", generate=True,
        where="Signs the sandbox's test webhooks."),
}
_SIDEBAR_SECRETS = {
    "zendesk": InstallSecret(
        name="zendesk_app_public_key", label="Sidebar app public key (PEM)", generate=False,
        kind="pem", where="Zendesk makes it: GET /api/v2/apps/{app_id}/public_key.pem; it "
                          "verifies the sidebar's signed URLs."),
    "freshdesk": InstallSecret(
        name="sidebar_secret", label="Sidebar secret", generate=True,
        where="The secure install parameter sidebar_secret of the Freshdesk app."),
    "sandbox": InstallSecret(
        name="sidebar_secret", label="Sidebar secret", generate=True,
        where="Sent as X-Escalade-Install-Secret to open the sidebar without a token."),
}
_CONNECTOR_SECRETS = {
    "jira": InstallSecret(
        name="jira.webhook_secret", label="Jira webhook secret", generate=True,
        connector="jira",
        where="The secret of the Jira webhook (Settings → System → WebHooks) that says an "
              "issue is done."),
    "linear": InstallSecret(
        name="linear.webhook_secret", label="Linear webhook signing secret", generate=False,
        connector="linear",
        where="Linear makes it: Settings → API → Webhooks → the webhook's signing secret."),
}

# The key of the tenant's language model, when its ``llm`` settings say ``api_key_secret``.
_LLM_SECRET = InstallSecret(
    name="llm.api_key", label="Language model API key", generate=False,
    where="Your model provider makes it (for the hosted OpenAI API: platform.openai.com → API "
          "keys). Used only when the llm setting says api_key_secret: true.")

# Every secret name some helpdesk or tracker proves itself with (Intercom's Canvas also reads
# an older ``client_secret``).
PROOF_SECRETS = frozenset({spec.name for specs in (_WEBHOOK_SECRETS, _SIDEBAR_SECRETS,
                                                   _CONNECTOR_SECRETS)
                           for spec in specs.values()} | {"client_secret"})


def install_secrets(helpdesk: str) -> tuple[InstallSecret, ...]:
    """Every per-install secret a workspace on ``helpdesk`` can hold, connectors' included."""
    own = [found for found in (_WEBHOOK_SECRETS.get(helpdesk), _SIDEBAR_SECRETS.get(helpdesk))
           if found is not None]
    return (*own, *_CONNECTOR_SECRETS.values(), _LLM_SECRET)


def install_secret(helpdesk: str, name: str) -> InstallSecret:
    """The per-install secret ``name`` of a ``helpdesk`` workspace; ``ValidationError``."""
    known = install_secrets(helpdesk)
    for spec in known:
        if spec.name == name:
            return spec
    label = HELPDESKS.get(helpdesk, helpdesk)
    raise ValidationError("name", f"{name!r} is not a secret of a {label} workspace "
                                  f"(one of: {', '.join(s.name for s in known)})")


def check_secret_value(spec: InstallSecret, value: str) -> str:
    """The value to store for ``spec``, trimmed; ``ValidationError`` naming it otherwise."""
    text = (value or "").strip()
    if spec.kind == "pem":
        return _public_key(spec.name, text)
    if len(text) < MIN_WEBHOOK_SECRET:
        raise ValidationError(spec.name, f"at least {MIN_WEBHOOK_SECRET} characters "
                                         f"(got {len(text)})")
    if len(text) > MAX_SECRET:
        raise ValidationError(spec.name, f"at most {MAX_SECRET} characters")
    if any(ch.isspace() for ch in text) or not text.isprintable():
        raise ValidationError(spec.name, "no spaces or line breaks inside a secret")
    return text


def _public_key(name: str, text: str) -> str:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    if len(text) > MAX_PEM:
        raise ValidationError(name, f"at most {MAX_PEM} characters")
    if "-----BEGIN PUBLIC KEY-----" not in text:
        raise ValidationError(name, "not a PEM public key: paste it whole, from "
                                    "-----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY-----")
    try:
        key = load_pem_public_key(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as err:
        raise ValidationError(name, "the PEM public key cannot be read (cut short or "
                                    "changed?)") from err
    if not isinstance(key, RSAPublicKey):
        raise ValidationError(name, "Zendesk signs with RSA: this is not an RSA public key")
    return text + "\n"


def rotation_of(secrets: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """When each per-install secret was last set, and the value it replaced, if kept."""
    raw = secrets.get(ROTATIONS_KEY)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): dict(v) for k, v in data.items() if isinstance(v, dict)} if isinstance(
        data, dict) else {}


def with_rotation(stored: Mapping[str, str], changes: Mapping[str, str], *,
                  now: datetime) -> dict[str, str]:
    """``changes`` to the secrets plus the rotation record of the per-install ones.

    A per-install secret replaced by another value keeps the old one for ``SECRET_GRACE``;
    one set for the first time or cleared keeps nothing.
    """
    record = rotation_of(stored)
    out = dict(changes)
    for name, value in changes.items():
        old = stored.get(name) or ""
        if name not in PROOF_SECRETS or value == old:
            continue
        entry = {"rotated_at": now.isoformat()}
        if old and value:
            entry |= {"previous": old, "previous_until": (now + SECRET_GRACE).isoformat()}
        record[name] = entry
        out[ROTATIONS_KEY] = json.dumps(record, sort_keys=True)
    return out


def previous_secret(secrets: Mapping[str, str], name: str) -> tuple[str, datetime] | None:
    """The value ``name`` replaced and until when it counts, if it is kept."""
    entry = rotation_of(secrets).get(name) or {}
    previous, until = entry.get("previous"), entry.get("previous_until")
    if not previous or not until:
        return None
    try:
        return previous, datetime.fromisoformat(until)
    except ValueError:
        return None


def secret_versions(secrets: Mapping[str, str], name: str, *, now: datetime) -> tuple[str, ...]:
    """The secret ``name``, then the value it replaced while its grace period lasts."""
    current = secrets.get(name) or ""
    if not current:
        return ()
    found = previous_secret(secrets, name)
    if found is not None and found[0] != current and now < found[1]:
        return (current, found[0])
    return (current,)
