"""Setting a workspace up: the one place where what an admin types is checked.

The CLI (``escalade tenant add | configure | connect``) and the admin pages call the same
functions, so the same input gets the same answer everywhere. Every problem is a
``ValidationError`` whose ``field`` names what the admin typed, and the caller says it in its
own terms (``--api-token``, ``--option calendar``, the form field):

- a workspace's fields: ``slug``, ``name``, ``helpdesk``, ``base_url``, its credentials
  (``email``, ``api_token``, ``api_key``, ``access_token``) and ``webhook_secret``;
- a workspace option as ``options.<key>`` (``options.calendar``, ``options.group_ids``);
- a connector's fields by their own names (``base_url``, ``project``, ``api_token``), in
  ``integration.workspaces.connector_fields``;
- a per-install secret by its stored name (``sidebar_secret``, ``jira.webhook_secret``), in
  ``integration.workspaces.install_secrets``.

Nothing here writes the store or calls a vendor (``integration.workspaces.service`` does, once
these checks pass); the only reads are files an option names (``@file``, an activity CSV).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adapters.helpdesk.base import HelpdeskConfig, HelpdeskGroup
from integration.errors import ConfigurationError, ValidationError

__all__ = [
    "CREDENTIALS",
    "DEFAULT_CURRENCY",
    "HELPDESKS",
    "ISO_4217",
    "MIN_WEBHOOK_SECRET",
    "TENANT_OPTIONS",
    "GroupReport",
    "NewTenant",
    "OptionSpec",
    "check_currency",
    "check_email",
    "check_new_tenant",
    "check_options",
    "check_url",
    "group_option",
    "group_report",
    "groups_in_use",
    "parse_json",
    "parse_option_pairs",
    "validate_connection",
]

# The store's own rule (it refuses anything else): a DNS-label-like name, safe in every URL.
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
MIN_WEBHOOK_SECRET = 16
DEFAULT_CURRENCY = "USD"

HELPDESKS: dict[str, str] = {"zendesk": "Zendesk", "freshdesk": "Freshdesk",
                             "intercom": "Intercom", "sandbox": "Sandbox"}
# Which credentials each helpdesk needs before we can fetch or write a ticket.
CREDENTIALS: dict[str, tuple[str, ...]] = {
    "zendesk": ("email", "api_token"),
    "freshdesk": ("api_key",),
    "intercom": ("access_token",),
    "sandbox": (),
}
# Reached at a fixed vendor host unless a base URL overrides it (Intercom: its region's).
BASE_URL_OPTIONAL = frozenset({"sandbox", "intercom"})

# Current ISO 4217 currency codes (funds, metals and test codes left out: not a price).
ISO_4217 = frozenset({
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW",
    "ZWG",
})


# --- single values ------------------------------------------------------------------------


def check_email(name: str, value: Any) -> str:
    """An e-mail address, trimmed; ``ValidationError`` naming ``name`` otherwise."""
    text = str(value or "").strip()
    if not EMAIL.match(text):
        raise ValidationError(name, f"not an e-mail address: {text!r}")
    return text


def check_url(name: str, value: Any) -> str:
    """An http(s) URL with a host, without its trailing slash."""
    text = str(value or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(name, f"not an http(s) URL: {text!r} (e.g. https://acme.example)")
    return text.rstrip("/")


def check_currency(value: Any, name: str = "options.currency") -> str:
    """An ISO 4217 currency code (``usd`` reads as ``USD``)."""
    code = str(value or "").strip().upper()
    if code not in ISO_4217:
        raise ValidationError(name, f"{value!r} is not an ISO 4217 currency code "
                                    "(e.g. USD, EUR, GBP)")
    return code


def parse_json(name: str, raw: str) -> Any:
    """Parse ``raw`` as JSON; the error says where it stopped making sense."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValidationError(name, f"not valid JSON: {err.msg} at line {err.lineno} "
                                    f"column {err.colno}") from err


# --- workspace options --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class OptionSpec:
    """A workspace option: what it holds, and the helpdesks that read it (None: all)."""

    key: str
    kind: str
    help: str
    helpdesks: frozenset[str] | None = None


def _spec(key: str, kind: str, help: str, *helpdesks: str) -> OptionSpec:
    return OptionSpec(key=key, kind=kind, help=help,
                      helpdesks=frozenset(helpdesks) if helpdesks else None)


# kind: how a value is checked here; the helpdesk's adapter checks its own options again
# when it is built (``_check_adapter``).
TENANT_OPTIONS: dict[str, OptionSpec] = {s.key: s for s in (
    _spec("calendar", "calendar", "business calendar from the matrix (default: the matrix's)"),
    _spec("currency", "currency", "ISO 4217 code ARR is shown in (default USD)"),
    _spec("activity", "object", "product activity: a CSV file or an HTTP endpoint (JSON)"),
    _spec("routing", "object", "groups and agents to route to (JSON or @file.json)"),
    _spec("account_risk", "object", 'at-risk accounts: {"threshold": 0.5} (JSON)'),
    _spec("digest", "object", 'weekly Slack digest: {"channel": "C0123ABCD", "day": "mon", '
                              '"hour": 9} (JSON)'),
    _spec("summary_provider", "text", "handoff summary: extractive (default) or llm"),
    _spec("llm", "object", "optional language model: base_url, model, api_key_env, limits, "
                           "second_reading (JSON)"),
    _spec("summary_llm", "object", "older name of llm (JSON)"),
    _spec("group_ids", "id_map", "matrix group -> group id (JSON)", "zendesk", "freshdesk"),
    _spec("team_ids", "id_map", "matrix group -> team id (JSON)", "intercom"),
    _spec("bot_user_id", "id", "id of the agent Escalade writes as", "zendesk", "freshdesk"),
    _spec("tier_field_id", "id", "numeric id of a custom ticket field for the tier", "zendesk"),
    _spec("page_url_field_id", "id", "custom ticket field holding the customer's page URL",
          "zendesk"),
    _spec("tier_field", "text", "cf_... ticket field for the tier", "freshdesk"),
    _spec("page_url_field", "text", "cf_... field holding the customer's page URL",
          "freshdesk"),
    _spec("reply_from_email", "email", "address replies are sent from", "freshdesk"),
    _spec("webhook_username", "text", "Basic-auth user of the automation webhook",
          "freshdesk"),
    _spec("statuses", "object", "custom status code -> pending/on_hold/... (JSON)",
          "freshdesk"),
    _spec("region", "text", "data centre: us, eu or au", "intercom"),
    _spec("admin_id", "id", "admin (teammate) Escalade writes as", "intercom"),
    _spec("workspace_id", "text", "workspace id, for inbox links", "intercom"),
    _spec("tier_attribute", "text", "conversation attribute for the tier", "intercom"),
    _spec("backfill_page_size", "number", "tickets per history page (default 100)"),
    _spec("backfill_metric_events", "bool", "read SLA metric events in backfill", "zendesk"),
    _spec("preload_demo", "bool", "load the demo tickets", "sandbox"),
    _spec("fail_with", "number", "fail write-backs with this HTTP status (demo)", "sandbox"),
    _spec("fail_times", "number", "...this many times (demo)", "sandbox"),
    _spec("retry_after", "number", "...asking to retry after N seconds (demo)", "sandbox"),
)}
# Settings that belong to connectors: set with ``escalade tenant connect``.
CONNECTOR_KEYS = frozenset({"connectors", "slack", "crm", "jira", "linear"})
_JSON_KINDS = frozenset({"object", "id_map"})


def parse_option_pairs(
    pairs: Iterable[str], *, base_dir: Path, allow_files: bool = True
) -> dict[str, Any]:
    """``KEY=VALUE`` pairs: JSON values allowed, ``@file`` reads a file, empty clears.

    Options that hold an object, and values that start like JSON (``{``, ``[``), must be
    valid JSON; others read JSON scalars (``42``, ``true``) and otherwise keep the text.
    ``allow_files=False`` (the web form) refuses ``@file``: a browser reads no server files.
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValidationError("options", f"expected KEY=VALUE, got {pair!r}")
        if raw.startswith("@") and not allow_files:
            raise ValidationError(f"options.{key}", "paste the value itself: files are read "
                                                    "only by the command line")
        if raw.startswith("@"):
            path = Path(raw[1:]).expanduser()
            path = path if path.is_absolute() else base_dir / path
            try:
                raw = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                reason = getattr(err, "strerror", None) or str(err)
                raise ValidationError(f"options.{key}",
                                      f"cannot read {str(path)!r}: {reason}") from err
        options[key] = _option_value(key, raw)
    return options


def _option_value(key: str, raw: str) -> Any:
    if raw.strip() in ("", "null"):
        return None  # clears the option
    spec = TENANT_OPTIONS.get(key)
    if (spec is not None and spec.kind in _JSON_KINDS) or raw.lstrip()[:1] in ("{", "["):
        return parse_json(f"options.{key}", raw)
    if spec is not None and spec.kind in ("text", "email", "calendar", "currency"):
        return raw.strip()
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw.strip()


def check_options(
    options: Mapping[str, Any],
    *,
    helpdesk: str,
    calendars: Mapping[str, Any],
    base_dir: Path,
) -> dict[str, Any]:
    """Check workspace options for ``helpdesk``; returns them normalized (None clears one)."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        name = f"options.{key}"
        if key in CONNECTOR_KEYS:
            raise ValidationError(name, "belongs to a connector: use `escalade tenant connect` "
                                        "or the admin page")
        spec = TENANT_OPTIONS.get(key)
        if spec is None:
            usable = ", ".join(k for k, s in TENANT_OPTIONS.items()
                               if s.helpdesks is None or helpdesk in s.helpdesks)
            raise ValidationError(name, f"unknown option (known: {usable})")
        if spec.helpdesks is not None and helpdesk not in spec.helpdesks:
            readers = " and ".join(HELPDESKS[h] for h in sorted(spec.helpdesks))
            own = group_option(helpdesk) if spec.kind == "id_map" else None
            hint = f"; {HELPDESKS.get(helpdesk, helpdesk)} uses {own}" if own else ""
            raise ValidationError(name, f"this option is for {readers} only{hint}")
        out[key] = None if value is None else _check_option(spec, value, calendars, base_dir)
    return out


def group_option(helpdesk: str) -> str | None:
    """The option that maps matrix groups to ``helpdesk``'s ids (None: groups by name)."""
    from adapters.registry import adapter_class

    return adapter_class(helpdesk).group_option


def _check_option(spec: OptionSpec, value: Any, calendars: Mapping[str, Any],
                  base_dir: Path) -> Any:
    name = f"options.{spec.key}"
    if spec.kind == "calendar":
        if value not in calendars:
            raise ValidationError(name, f"{value!r} is not in the matrix "
                                        f"(calendars: {', '.join(sorted(calendars)) or 'none'})")
        return value
    if spec.kind == "currency":
        return check_currency(value, name)
    if spec.kind == "email":
        return check_email(name, value)
    if spec.kind == "id_map":
        return _id_map(name, value)
    if spec.kind == "object" and not isinstance(value, Mapping):
        raise ValidationError(name, f"expected a JSON object, got {_kind(value)}")
    if spec.kind == "id" and (isinstance(value, bool) or not re.fullmatch(r"\d+", str(value))):
        raise ValidationError(name, f"expected a numeric id, got {value!r}")
    if spec.kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValidationError(name, f"expected a number, got {value!r}")
    if spec.kind == "bool" and not isinstance(value, bool):
        raise ValidationError(name, f"expected true or false, got {value!r}")
    if spec.key == "activity":
        return _activity(value, base_dir)
    if spec.key == "routing":
        _routing(value, calendars)
    if spec.key in ("llm", "summary_llm"):
        _llm(spec.key, value)
    if spec.key == "summary_provider":
        _summary_provider(value)
    if spec.key == "account_risk":
        _account_risk(value)
    if spec.key == "digest":
        _digest(value)
    return value


def _digest(value: Mapping[str, Any]) -> None:
    from integration.analytics.digest import policy_from_settings

    try:
        policy_from_settings({"digest": value})
    except ValidationError as err:
        raise ValidationError(f"options.{err.field}", err.message) from err


def _account_risk(value: Mapping[str, Any]) -> None:
    from integration.account_risk import policy_from_settings

    unknown = sorted(set(value) - {"threshold"})
    if unknown:
        raise ValidationError(f"options.account_risk.{unknown[0]}", "unknown (known: threshold)")
    try:
        policy_from_settings({"account_risk": value})
    except ValidationError as err:
        raise ValidationError(f"options.{err.field}", err.message) from err


def _kind(value: Any) -> str:
    return {str: "text", int: "a number", float: "a number", bool: "true/false",
            list: "a list"}.get(type(value), type(value).__name__)


def _id_map(name: str, value: Any) -> dict[str, int | str]:
    if not isinstance(value, Mapping):
        raise ValidationError(name, 'expected a JSON object such as {"escalations": 360001}, '
                                    f"got {_kind(value)}")
    out: dict[str, int | str] = {}
    for group, raw in value.items():
        if isinstance(raw, bool) or not re.fullmatch(r"\d+", str(raw).strip()):
            raise ValidationError(f"{name}.{group}", f"expected a numeric id, got {raw!r}")
        out[str(group)] = int(raw) if isinstance(raw, int) else str(raw).strip()
    return out


def _activity(value: Mapping[str, Any], base_dir: Path) -> dict[str, Any]:
    from integration.activity import ActivitySource, CsvActivitySource

    settings = dict(value)
    if settings.get("kind") == "csv" and isinstance(settings.get("path"), str):
        # Stored absolute: the app resolves relative paths against its own folder, not ours.
        path = Path(settings["path"]).expanduser()
        settings["path"] = str(path if path.is_absolute() else (base_dir / path).resolve())
    try:
        source = ActivitySource.from_settings(settings, base_dir=base_dir)
        if isinstance(source, CsvActivitySource):
            source.load()
    except ValidationError as err:
        raise ValidationError("options.activity", str(err)) from err
    except OSError as err:
        raise ValidationError("options.activity", f"cannot read {settings.get('path')!r}: "
                                                  f"{err.strerror or err}") from err
    return settings


def _llm(key: str, value: Any) -> None:
    """The language model's settings hold together and name a client this build has."""
    from adapters.registry import llm_client_class
    from integration.llm import LlmSettings

    try:
        settings = LlmSettings.parse(value, field=key)
    except ValidationError as err:
        raise ValidationError(f"options.{err.field}", err.message) from err
    try:
        llm_client_class(settings.provider)
    except ConfigurationError as err:
        raise ValidationError(f"options.{key}.provider", str(err)) from err


def _summary_provider(value: Any) -> None:
    from integration.summary import LLM_PROVIDERS

    if value != "extractive" and value not in LLM_PROVIDERS:
        raise ValidationError("options.summary_provider",
                              f"{value!r}: use extractive or llm (the model set in llm)")


def _routing(value: Any, calendars: Mapping[str, Any]) -> None:
    from integration.routing import RoutingTable

    try:
        RoutingTable.from_settings(value, calendars=calendars)
    except ValidationError as err:
        raise ValidationError("options.routing", str(err)) from err


# --- a new workspace --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class NewTenant:
    """A workspace that passed every check, ready to store."""

    slug: str
    name: str
    helpdesk: str
    base_url: str | None
    secrets: Mapping[str, str]
    settings: Mapping[str, Any]
    webhook_secret_generated: bool = False

    @property
    def config(self) -> HelpdeskConfig:
        """The helpdesk connection these values describe."""
        secrets = dict(self.secrets)
        webhook = secrets.pop("webhook_secret", None)
        return HelpdeskConfig(tenant=self.slug, helpdesk=self.helpdesk, base_url=self.base_url,
                              credentials=secrets, webhook_secret=webhook,
                              options=dict(self.settings))


def check_new_tenant(
    *,
    slug: str,
    helpdesk: str,
    name: str | None,
    base_url: str | None,
    credentials: Mapping[str, str | None],
    webhook_secret: str | None,
    generated_secret: str,
    options: Mapping[str, Any],
    calendars: Mapping[str, Any],
    base_dir: Path,
) -> NewTenant:
    """Check everything ``escalade tenant add`` and the admin's "Add workspace" take."""
    slug = (slug or "").strip()
    if not SLUG.match(slug):
        raise ValidationError("slug", f"{slug!r}: use 1-63 lower-case letters, digits or dashes, "
                                      "starting and ending with a letter or digit")
    if helpdesk not in CREDENTIALS:
        raise ValidationError("helpdesk", f"{helpdesk!r} is not one of: "
                                          f"{', '.join(sorted(CREDENTIALS))}")
    label = HELPDESKS[helpdesk]
    shown = (name or "").strip() or slug
    if len(shown) > 200:
        raise ValidationError("name", "at most 200 characters")
    url = (base_url or "").strip() or None
    if url is None and helpdesk not in BASE_URL_OPTIONAL:
        raise ValidationError("base_url", f"{label} needs its address, e.g. "
                                          f"https://yourcompany.{helpdesk}.com")
    if url is not None:
        url = check_url("base_url", url)
    needed = CREDENTIALS[helpdesk]
    secrets: dict[str, str] = {}
    for key, value in credentials.items():
        text = (value or "").strip()
        if not text:
            continue
        if key not in needed:
            wants = " and ".join(needed) or "no credentials"
            raise ValidationError(key, f"is not used by {label} (it takes {wants})")
        secrets[key] = text
    for key in needed:
        if key not in secrets:
            raise ValidationError(key, f"{label} needs it")
    if "email" in secrets:
        secrets["email"] = check_email("email", secrets["email"])
    given = (webhook_secret or "").strip()
    if given and len(given) < MIN_WEBHOOK_SECRET:
        raise ValidationError("webhook_secret", f"at least {MIN_WEBHOOK_SECRET} characters, or "
                                                "leave it out to have one generated")
    if given or generated_secret:
        secrets["webhook_secret"] = given or generated_secret
    settings = check_options(options, helpdesk=helpdesk, calendars=calendars, base_dir=base_dir)
    settings = {k: v for k, v in settings.items() if v is not None}
    plan = NewTenant(slug=slug, name=shown, helpdesk=helpdesk, base_url=url, secrets=secrets,
                     settings=settings,
                     webhook_secret_generated=not given and bool(generated_secret))
    check_adapter(plan.config)
    return plan


def check_adapter(config: HelpdeskConfig) -> None:
    """Build the helpdesk's adapter (no call is made): its own checks of options and keys."""
    from adapters.registry import build_adapter

    try:
        adapter = build_adapter(config)
    except ConfigurationError as err:
        raise _adapter_error(err, config) from err
    session = getattr(adapter, "session", None)
    if session is not None:
        session.close()


def _adapter_error(err: ConfigurationError, config: HelpdeskConfig) -> ValidationError:
    text = str(err).removeprefix(f"{config.helpdesk}: ")
    found = re.search(r"options\.([a-z_]+)", text)
    if found:
        return ValidationError(f"options.{found.group(1)}", text)
    for key in ("base_url", *CREDENTIALS.get(config.helpdesk, ())):
        if key in text:
            return ValidationError(key, text)
    return ValidationError("helpdesk", text)


def validate_connection(
    *, slug: str, helpdesk: str, base_url: str | None, secrets: Mapping[str, str]
) -> None:
    """Raise ``ValidationError`` naming the first missing or malformed helpdesk setting."""
    if helpdesk not in CREDENTIALS:
        raise ValidationError("helpdesk", f"unknown helpdesk {helpdesk!r}")
    label = HELPDESKS[helpdesk]
    if not base_url and helpdesk not in BASE_URL_OPTIONAL:
        raise ValidationError("base_url", f"{label} needs its address (--base-url)")
    if base_url:
        check_url("base_url", base_url)
    for name in CREDENTIALS[helpdesk]:
        if not secrets.get(name):
            raise ValidationError(name, f"{label} needs --{name.replace('_', '-')}")
    if secrets.get("email"):
        check_email("email", secrets["email"])


# --- groups -----------------------------------------------------------------------------


def groups_in_use(tier_groups: Iterable[str | None], routing: Any = None) -> list[str]:
    """Group names the matrix's tiers (and the routing table) assign tickets to."""
    names = [g for g in tier_groups if g]
    if isinstance(routing, Mapping):
        for group in routing.get("groups") or ():
            if isinstance(group, Mapping) and isinstance(group.get("id"), str):
                names.append(group["id"])
    return list(dict.fromkeys(names))


@dataclass(frozen=True, kw_only=True, slots=True)
class GroupReport:
    """How the matrix's group names meet the helpdesk's groups."""

    used: tuple[str, ...]
    mapped: Mapping[str, str] = field(default_factory=dict)
    unmapped: tuple[str, ...] = ()
    # Mapped to an id the helpdesk did not list (deleted, or a typo).
    unknown: Mapping[str, str] = field(default_factory=dict)
    # For unmapped names: the helpdesk group whose name reads the same, if any.
    suggestions: Mapping[str, str] = field(default_factory=dict)


def _same_name(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.casefold())


def group_report(
    used: Sequence[str], mapping: Mapping[str, Any] | None,
    groups: Sequence[HelpdeskGroup] | None,
) -> GroupReport:
    """Which used names have no id, which ids the helpdesk does not know, and likely matches."""
    mapping = {str(k): str(v) for k, v in (mapping or {}).items()}
    known = {g.id for g in groups} if groups is not None else None
    unmapped = tuple(name for name in used if name not in mapping)
    unknown = {name: gid for name, gid in mapping.items()
               if known is not None and gid not in known}
    by_name = {_same_name(g.name): g.id for g in groups or ()}
    suggestions = {name: by_name[_same_name(name)] for name in unmapped
                   if _same_name(name) in by_name}
    return GroupReport(used=tuple(used), mapped={k: v for k, v in mapping.items()},
                       unmapped=unmapped, unknown=unknown, suggestions=suggestions)
