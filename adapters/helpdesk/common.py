"""What every helpdesk adapter shares: Escalade's footer, actions, payload readers, options.

A write whose outcome is unknown (``adapters.helpdesk.transport`` says when) is retried as
``uncertain``: the next delivery first looks for the write's footer
(``— Escalade · ref <ref>``) on the ticket and sends only what is missing.
"""

from __future__ import annotations

import hmac
import html
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from adapters.helpdesk.base import (
    SidebarCaller,
    SidebarInstall,
    SidebarOtherTenant,
    SidebarProofError,
    SidebarRequest,
)
from integration.errors import (
    ConfigurationError,
    DeliveryError,
    RetriableError,
    ValidationError,
)
from integration.models import Action, ActionKind

__all__ = [
    "AGENT_HEADER",
    "BOT_MARKER",
    "COMMENT_KINDS",
    "INSTALL_SECRET_HEADER",
    "TICKET_HEADER",
    "apply_detail",
    "REF_KEY",
    "comment_bodies",
    "comment_ref",
    "failure",
    "has_marker",
    "header",
    "helpdesk_actions",
    "is_url",
    "mapping",
    "member",
    "mappings",
    "marker_refs",
    "number",
    "option_id",
    "option_id_map",
    "opt_text",
    "raw_header",
    "site_root",
    "skip_unmapped_groups",
    "tag_names",
    "to_html",
    "verify_install_secret",
    "with_marker",
    "with_notices",
    "without_landed",
    "written_kinds",
]

BOT_MARKER = "— Escalade"
# The action payload key holding a note's or reply's stable reference (set by the outbox).
REF_KEY = "ref"
COMMENT_KINDS = (ActionKind.INTERNAL_NOTE, ActionKind.PUBLIC_REPLY)
_DIGITS = re.compile(r"^\d+$")
_REF_TEXT = re.compile(r"^[0-9a-f]{6,40}$")
# A visible footer line, not an HTML comment: every vendor keeps it through its rendering.
_FOOTER = re.compile(r"(?:\n\s*)*— Escalade(?: · ref [0-9a-f]{6,40})?\s*$")
_FOUND_REF = re.compile(r"Escalade\W{0,12}ref\s+([0-9a-f]{6,40})\b")
_TAGS = re.compile(r"<[^>]+>")


# --- actions as the helpdesk receives them ------------------------------------------------


def helpdesk_actions(actions: Sequence[Action]) -> list[Action]:
    """The actions meant for the helpdesk, in order."""
    # ALERT actions go to Slack / the CRM, never to the helpdesk.
    return [a for a in actions if a.target == "helpdesk" and a.kind is not ActionKind.ALERT]


def tag_names(action: Action) -> list[str]:
    """The tags an add/remove action names, stripped, blanks left out; checked as strings."""
    tags = action.payload.get("tags")
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise ValidationError(f"{action.kind.value}.tags", "expected a list of strings")
    return [t.strip() for t in tags if t.strip()]


def comment_bodies(actions: Sequence[Action], kind: ActionKind) -> list[str]:
    """The stripped bodies of the ``kind`` actions (notes or replies), each checked non-empty."""
    bodies = []
    for action in actions:
        if action.kind is kind:
            body = action.payload.get("body")
            if not isinstance(body, str) or not body.strip():
                raise ValidationError(f"{kind.value}.body", "must be a non-empty string")
            bodies.append(body.strip())
    return bodies


def written_kinds(
    actions: Sequence[Action], *, tier_target: object | None,
    only: Collection[ActionKind] | None = None,
) -> tuple[ActionKind, ...]:
    """The kinds a write built from ``actions`` carries (``only`` those, when given), once each.

    The tier field is written only where the install names a target for it (``tier_target``:
    a field id, a ``cf_`` name, an attribute); without one the tier tag carries the tier.
    """
    kinds = []
    for action in helpdesk_actions(actions):
        if only is not None and action.kind not in only:
            continue
        if (action.kind is ActionKind.SET_FIELD and action.payload.get("field") == "tier"
                and tier_target is None):
            continue
        kinds.append(action.kind)
    return tuple(dict.fromkeys(kinds))


def to_html(text: str) -> str:
    """Plain text as HTML paragraphs: blank lines split paragraphs, line breaks are kept."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.splitlines()) + "</p>"
        for p in paragraphs
    )


# --- Escalade's footer ----------------------------------------------------------------------


def with_marker(body: str, ref: str | None = None) -> str:
    """Append the footer that marks a note or reply as Escalade's (once), with its ``ref``."""
    text = _FOOTER.sub("", body.rstrip()).rstrip()
    if ref is not None and _REF_TEXT.match(ref):
        return f"{text}\n\n{BOT_MARKER} · ref {ref}"
    return f"{text}\n\n{BOT_MARKER}"


def has_marker(body: str) -> bool:
    """True when a plain-text body ends with Escalade's footer."""
    return _FOOTER.search(body.rstrip()) is not None


def marker_refs(texts: Iterable[Any]) -> set[str]:
    """The refs of Escalade footers found in comment bodies (plain text or HTML)."""
    found: set[str] = set()
    for text in texts:
        if isinstance(text, str) and "Escalade" in text:
            plain = html.unescape(_TAGS.sub(" ", text))
            found.update(_FOUND_REF.findall(plain))
    return found


def comment_ref(actions: Sequence[Action], kind: ActionKind) -> str | None:
    """The ref of the one comment the ``kind`` actions are joined into (its first one's)."""
    for action in actions:
        if action.kind is kind:
            ref = action.payload.get(REF_KEY)
            return ref if isinstance(ref, str) else None
    return None


def without_landed(
    actions: Sequence[Action], landed: set[str]
) -> tuple[list[Action], tuple[ActionKind, ...]]:
    """Drop the notes / replies whose comment is already on the ticket; say which kinds."""
    there = tuple(
        kind for kind in COMMENT_KINDS if (ref := comment_ref(actions, kind)) and ref in landed
    )
    return [a for a in actions if a.kind not in there], there


def skip_unmapped_groups(
    actions: Sequence[Action],
    ids: Mapping[str, Any],
    *,
    vendor: str,
    noun: str,
    option: str,
    tenant: str,
) -> tuple[list[Action], list[str]]:
    """Take out group moves the install has no id for, with a plain sentence for each.

    The rest of the write-back (tags, priority, tier field, note, reply, an assignee) still
    goes; a missing mapping never blocks it.
    """
    kept: list[Action] = []
    notices: list[str] = []
    for action in actions:
        group = action.payload.get("group") if action.kind is ActionKind.ASSIGN else None
        if group is None or group in ids:
            kept.append(action)
            continue
        notices.append(_group_notice(str(group), ids, vendor=vendor, noun=noun,
                                     option=option, tenant=tenant))
        rest = {k: v for k, v in action.payload.items() if k != "group"}
        if rest.get("assignee") is not None:
            kept.append(replace(action, payload=rest))
    return kept, list(dict.fromkeys(notices))


def _group_notice(
    group: str, ids: Mapping[str, Any], *, vendor: str, noun: str, option: str, tenant: str
) -> str:
    # The option replaces the whole map, so the command shown keeps the groups already mapped.
    shown = ", ".join(
        [*(f"{json.dumps(k)}: {v}" for k, v in ids.items()), f"{json.dumps(group)}: <id>"]
    )
    return (
        f"Not moved to group '{group}': no {vendor} {noun} is mapped to it; map it with "
        f"`escalade tenant configure {tenant} --option '{option}={{{shown}}}'` "
        "or in the admin UI."
    )


def with_notices(actions: Sequence[Action], notices: Sequence[str]) -> tuple[list[Action], bool]:
    """Add ``notices`` to the write-back's internal note; False when it has no note."""
    notes = [i for i, a in enumerate(actions) if a.kind is ActionKind.INTERNAL_NOTE]
    if not notices or not notes:
        return list(actions), False
    out = list(actions)
    last = out[notes[-1]]
    body = str(last.payload.get("body") or "").rstrip()
    out[notes[-1]] = replace(last, payload={**last.payload, "body": "\n\n".join([body, *notices])})
    return out, True


def apply_detail(
    *,
    warnings: Sequence[str] = (),
    already: Sequence[ActionKind] = (),
    failed: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """``ApplyResult.detail`` with only the parts that say something."""
    detail: dict[str, Any] = {}
    if failed:
        detail["failed"] = [dict(f) for f in failed]
    if warnings:
        detail["warnings"] = list(warnings)
    if already:
        detail["already_there"] = [k.value for k in already]
    return detail


def failure(kind: ActionKind, error: str, err: DeliveryError) -> dict[str, Any]:
    """One entry of ``ApplyResult.detail["failed"]``: a kind that did not (surely) land."""
    retriable = isinstance(err, RetriableError)
    return {
        "kind": kind.value,
        "error": error,
        "retriable": retriable,
        "retry_after": err.retry_after if isinstance(err, RetriableError) else None,
        "uncertain": retriable and bool(getattr(err, "uncertain", False)),
    }


def raw_header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value as sent, looked up case-insensitively."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value if isinstance(value, str) else None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's stripped value, looked up case-insensitively."""
    value = raw_header(headers, name)
    return value.strip() if value is not None else None


def mapping(value: Any, path: str) -> Mapping[str, Any]:
    """``value`` as an object, or a ``ValidationError`` naming ``path``."""
    if not isinstance(value, Mapping):
        raise ValidationError(path, "expected an object")
    return value


def member(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``raw[key]`` when it is an object, else an empty one: vendors omit or null optional parts."""
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}


def mappings(value: Any, path: str) -> list[Mapping[str, Any]]:
    """``value`` as a list of objects (None is empty), naming the bad item's path."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValidationError(path, "expected a list")
    return [mapping(v, f"{path}[{i}]") for i, v in enumerate(value)]


def number(value: Any, path: str) -> float | None:
    """A number from JSON or text ("180,000" too); None for null or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(path, "expected a number")
    try:
        return float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
    except ValueError as err:
        raise ValidationError(path, f"expected a number, got {value!r}") from err


def opt_text(value: Any) -> str | None:
    """``value`` as text, or None for null and blank strings."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(value)


def is_url(value: Any) -> bool:
    """True for an absolute http(s) URL string."""
    return isinstance(value, str) and value.startswith(("https://", "http://"))


# --- the sidebar's install secret (Freshdesk's app, the sandbox) -------------------------

# The Freshdesk app's request template (sidebar_ui/freshdesk/config/requests.json) sends the
# per-install secret from a secure iparam, with the ticket and the agent it is opened for.
INSTALL_SECRET_HEADER = "X-Escalade-Install-Secret"
TICKET_HEADER = "X-Escalade-Ticket-Id"
AGENT_HEADER = "X-Escalade-Agent"


def verify_install_secret(
    request: SidebarRequest, install: SidebarInstall, *, via: str
) -> SidebarCaller:
    """The install secret against the tenant's ``sidebar_secret`` (a rotated one's too)."""
    headers = request.headers
    given = raw_header(headers, INSTALL_SECRET_HEADER) or ""
    if not given:
        raise SidebarProofError(f"missing {INSTALL_SECRET_HEADER} header")
    accepted = install.versions("sidebar_secret")
    if not any(_same(given, expected) for expected in accepted):
        if any(_same(given, other.get("sidebar_secret")) for other in install.others()):
            raise SidebarOtherTenant(
                f"this install secret belongs to another tenant, not {install.tenant!r}")
        raise SidebarProofError(f"wrong {INSTALL_SECRET_HEADER}")
    ticket = raw_header(headers, TICKET_HEADER) or request.values.get("ticket_id") or None
    return SidebarCaller(via=via, user=raw_header(headers, AGENT_HEADER) or None, ticket_id=ticket)


def _same(given: str, expected: str | None) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), str(expected).encode())


# --- install options (checked when the adapter is built: ConfigurationError, never a 4xx) ---


def site_root(vendor: str, base_url: str | None, example: str) -> str:
    """``scheme://host/path`` of a vendor site from the tenant's base URL, checked."""
    if not base_url:
        raise ConfigurationError(f"{vendor}: base_url is required ({example})")
    parts = urlsplit(base_url.rstrip("/"))
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigurationError(f"{vendor}: base_url is not a URL: {base_url!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def option_id(vendor: str, value: Any, name: str) -> str | None:
    """A numeric id from the install options (as text), or None when unset."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not _DIGITS.match(str(value)):
        raise ConfigurationError(f"{vendor}: options.{name} must be a numeric id, got {value!r}")
    return str(value)


def option_id_map(vendor: str, value: Any, name: str) -> dict[str, str]:
    """``options.<name>``: matrix names (groups, teams) to numeric vendor ids."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{vendor}: options.{name} must map names to ids")
    out: dict[str, str] = {}
    for key, raw in value.items():
        found = option_id(vendor, raw, f"{name}.{key}")
        if found is None:
            raise ConfigurationError(f"{vendor}: options.{name}.{key} has no id")
        out[str(key)] = found
    return out
