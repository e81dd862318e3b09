"""Settings come one way: defaults, then ``ESCALADE_*`` environment, then test overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from integration.errors import ConfigurationError

__all__ = ["DEFAULTS", "ENV_DOCS", "load_config"]

# name -> (default, parser, one-line doc); the README's configuration table is this list.
_SPEC: dict[str, tuple[Any, str, str]] = {
    "DATABASE_URL": (None, "str", "SQLAlchemy URL; default SQLite (WAL) at ./var/escalade.db"),
    "VAR_DIR": ("var", "path", "where the embedded database and the generated secret key live"),
    "SECRET_KEY": (None, "str", "Fernet key that encrypts tenant secrets at rest; "
                   "default: generated once into VAR_DIR/secret.key"),
    "SECRET_KEY_FILE": (None, "path", "a file holding the key(s) instead of SECRET_KEY "
                        "(comma or newline separated), e.g. a mounted secret"),
    "MATRIX_PATH": (None, "path", "escalation matrix YAML; default the packaged default.yaml"),
    "MAX_BODY_BYTES": (1_048_576, "int", "largest webhook body accepted (413 above)"),
    "WORKERS": (1, "int", "in-process threads that process events (the outbox has its own); "
                "0 = none"),
    "POLL_SECONDS": (0.5, "float", "how often idle workers look for new work"),
    "EVENT_LEASE_SECONDS": (120.0, "float", "how long a worker holds an event it took; one "
                            "that died (a crash) leaves it to be taken again after this"),
    "OUTBOX_LEASE_SECONDS": (60.0, "float", "the same for a write-back being delivered; "
                             "longer than a vendor call may take"),
    "DB_TIMEOUT_SECONDS": (5.0, "float", "how long a database call waits for a lock or a "
                           "connection before the store counts as unavailable (503)"),
    "OUTBOX_LAG_WARN_SECONDS": (60.0, "float", "log a warning when the oldest due write-back "
                                "has waited longer than this"),
    "SLA_SWEEP_SECONDS": (15.0, "float", "how often the scheduler sweeps SLA clocks"),
    "KB_SYNC_MINUTES": (30.0, "float", "how often the scheduler syncs every workspace's "
                        "help-centre articles and macros; 0 = never"),
    "AUDIT_CRM_LOOKUPS": (2000, "int", "a history audit asks the CRM about at most this many "
                          "organizations"),
    "SLACK_SIGNING_SECRET": (None, "str", "signing secret of Escalade's Slack app; "
                             "enables POST /slack/events (the alert buttons)"),
    "ZENDESK_APP_PUBLIC_KEY": (None, "str", "PEM public key of Escalade's Zendesk app, for "
                               "its signed sidebar URLs (a tenant may set its own)"),
    "PUBLIC_URL": (None, "str", "where helpdesks reach this app (printed webhook URLs); "
                   "default: the address `escalade serve` listens on"),
    "MODE": ("embedded", "str", "`embedded` (workers and scheduler in the app's process) or "
             "`scaleout` (PostgreSQL, Celery workers and beat on ESCALADE_BROKER_URL)"),
    "BROKER_URL": (None, "str", "scale-out mode: the Celery broker, e.g. redis://redis:6379/0"),
    "RELAY_SECONDS": (30.0, "float", "scale-out mode: an event stored this long but not yet "
                      "processed is queued again (a broker that was down loses nothing)"),
    "LOG_LEVEL": ("INFO", "str", "logging level"),
    "LOG_FORMAT": ("auto", "str", "log lines as `json` (one object a line, with tenant and "
                   "ticket ids) or `text`; `auto`: text on a terminal, JSON otherwise"),
    "METRICS_TOKEN": (None, "str", "bearer token GET /metrics requires; unset: open"),
    "ADMIN_SESSION_IDLE_MINUTES": (60, "int", "an admin session ends after this long unused"),
    "ADMIN_SESSION_HOURS": (12, "int", "an admin session ends this long after sign-in"),
    "ADMIN_TRUSTED_NETWORKS": (None, "str", "networks (CIDR, comma-separated) from which an "
                               "admin signs in even while their account is being throttled"),
    "TRUSTED_PROXIES": (None, "str", "reverse proxies (CIDR, comma-separated) whose "
                        "X-Forwarded-For names the client's address"),
}

DEFAULTS: dict[str, Any] = {key: default for key, (default, _, _) in _SPEC.items()}
ENV_DOCS: dict[str, str] = {f"ESCALADE_{key}": doc for key, (_, _, doc) in _SPEC.items()}


def _parse(key: str, kind: str, raw: str) -> Any:
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as err:
        raise ConfigurationError(f"ESCALADE_{key}: expected a number, got {raw!r}") from err
    if kind == "path":
        return Path(raw)
    return raw


def load_config(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Merge defaults, ``ESCALADE_*`` variables and explicit overrides into one dict."""
    env = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for key, (_, kind, _) in _SPEC.items():
        raw = env.get(f"ESCALADE_{key}")
        if raw not in (None, ""):
            config[key] = _parse(key, kind, raw)
    config.update(overrides or {})
    var_dir = Path(config["VAR_DIR"]).resolve()
    config["VAR_DIR"] = var_dir
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{var_dir / 'escalade.db'}"
    return config
