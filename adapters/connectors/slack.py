"""Slack: one Block Kit message per escalation, follow-ups threaded, a per-channel rate limit.

Configuration (``ConnectorConfig``): credentials ``{"bot_token": "xoxb-..."}``; settings
``channel`` (the alerts channel *id*, ``C...``), ``managers_channel`` (optional, for actions
targeted ``manager``), ``rate_limit`` (new top-level alerts per channel per window, default
10), ``rate_window_seconds`` (default 600), ``users`` (Slack user id -> helpdesk agent id,
for *Take ownership*), ``currency`` (ARR prefix, default ``$``). ``base_url`` points the
Web API client at a local fake in tests.

``deliver`` takes ALERT actions. An alert payload (``integration.matrix``) opens the
escalation's message the first time its ``dedupe_key`` is seen; a later alert for the same
escalation — the same key again with new content, or an SLA warning/breach (``kind``
``sla_warning``/``sla_breach``) about the same ticket — becomes a threaded reply and an update
of the parent, never a second top-level message. While the escalation is snoozed, replies
stay in the thread and mention nobody. A payload with ``"kind": "slack_update"`` records a
click instead (see :func:`adapters.connectors.slack_app.update_payload`)::

    {"kind": "slack_update", "dedupe_key": "<escalation>", "event": "acknowledged" |
     "owned" | "snoozed", "user_id": "U123", "agent_id": "42" (owned), "until": ISO (snoozed;
     default at + 1 h), "at": ISO (the click), "error": "..." (owned/snoozed that failed),
     "event_id": "<action_ts>" (makes a redelivery a no-op)}

Errors: ``ratelimited``/HTTP 429 -> ``RetriableError`` with Slack's ``Retry-After``; 5xx,
Slack's transient errors and connection errors -> ``RetriableError``; any other Slack error
(``channel_not_found``, ``invalid_auth``, ``not_in_channel``, ...) -> ``FatalError`` naming
it. The client never retries or sleeps by itself (no retry handlers).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy.orm import Session, sessionmaker

from adapters.connectors import slack_blocks as kit
from adapters.connectors.base import ApplyResult, Connector, ConnectorConfig
from integration.errors import (
    ConfigurationError,
    DeliveryError,
    FatalError,
    RetriableError,
    ValidationError,
)
from integration.models import Action, ActionKind, parse_time
from integration.store import alerts
from integration.store.db import session_scope

__all__ = ["SlackConnector", "SlackSettings", "slack_error"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10
# A claim older than this belongs to a worker that died before posting.
CLAIM_TTL = timedelta(seconds=120)
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
# Slack errors worth trying again (https://api.slack.com/methods/chat.postMessage#errors).
_TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable",
                        "request_timeout", "ratelimited"})
_PARENT_GONE = frozenset({"message_not_found", "thread_not_found"})
_KEEP: Any = object()


@dataclass(frozen=True, kw_only=True, slots=True)
class SlackSettings:
    """A tenant's Slack settings, checked."""

    channel: str
    managers_channel: str | None = None
    rate_limit: int = 10
    rate_window: timedelta = timedelta(seconds=600)
    users: Mapping[str, str] = field(default_factory=dict)
    currency: str = "$"

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> SlackSettings:
        """Read the connector's ``settings``; raises ``ConfigurationError`` naming the key."""
        channel = _channel(settings.get("channel"), "channel")
        managers = settings.get("managers_channel")
        try:
            limit = int(settings.get("rate_limit", 10))
            window = float(settings.get("rate_window_seconds", 600))
        except (TypeError, ValueError) as err:
            raise ConfigurationError(f"slack: rate_limit and rate_window_seconds: {err}") from err
        if limit < 1 or window <= 0:
            raise ConfigurationError("slack: rate_limit and rate_window_seconds must be > 0")
        users = settings.get("users") or {}
        if not isinstance(users, Mapping):
            raise ConfigurationError("slack: users must map Slack user ids to agent ids")
        return cls(
            channel=channel,
            managers_channel=_channel(managers, "managers_channel") if managers else None,
            rate_limit=limit,
            rate_window=timedelta(seconds=window),
            users={str(k): str(v) for k, v in users.items()},
            currency=str(settings.get("currency", "$")),
        )


def _channel(value: Any, key: str) -> str:
    # Ids, not names: names change, and chat.update only accepts the id.
    if not isinstance(value, str) or not _CHANNEL_ID.match(value):
        raise ConfigurationError(f"slack: {key} must be a channel id such as C0123ABCD")
    return value


def slack_error(err: SlackApiError, method: str) -> DeliveryError:
    """Map a Slack API error to what the outbox should do with it."""
    response = err.response
    error = str(response.get("error") or f"HTTP {response.status_code}")
    message = f"slack {method}: {error}"
    if response.status_code == 429 or error == "ratelimited":
        headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
        return RetriableError(message, retry_after=_seconds(headers.get("retry-after")))
    if response.status_code >= 500 or error in _TRANSIENT:
        return RetriableError(message)
    return FatalError(message)


def _seconds(value: Any) -> float | None:
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(float(value), 0.0) if value is not None else None
    except (TypeError, ValueError):
        return None


def _fingerprint(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, kw_only=True, slots=True)
class _Parent:
    # A detached snapshot of an alert row, so no session is open during a Slack call.
    id: int
    channel: str
    ts: str
    payload: dict[str, Any]
    state: dict[str, Any]
    snooze_until: datetime | None


class SlackConnector(Connector):
    """Escalation alerts in a Slack channel, with buttons handled by ``slack_app``.

    ``sessions`` (a SQLAlchemy ``sessionmaker`` on the migrated database) holds the
    ``alert_messages`` table: which message belongs to which escalation. ``deliver`` and
    ``update_message`` need it; a connector without it can only ``test_connection``.
    """

    identifier = "slack"

    def __init__(
        self,
        *,
        config: ConnectorConfig,
        sessions: sessionmaker[Session] | None = None,
        client: WebClient | None = None,
        clock: Callable[[], datetime] | None = None,
        timeout: int = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(config=config)
        self.settings = SlackSettings.from_mapping(config.settings)
        token = config.credentials.get("bot_token")
        if not token and client is None:
            raise ConfigurationError("slack: credentials need a bot_token (xoxb-...)")
        base_url = config.base_url or WebClient.BASE_URL
        self.client = client or WebClient(
            token=token,
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            timeout=timeout,
            # The outbox retries with backoff; the client must not sleep or retry itself.
            retry_handlers=[],
        )
        self.sessions = sessions
        self._clock = clock or (lambda: datetime.now(UTC))

    # --- the outbox's entry points ---------------------------------------------------

    def deliver(self, ticket_key: str, actions: Sequence[Action], *,
                uncertain: bool = False) -> ApplyResult:
        """Post, thread or update the alert messages for ``actions`` (ALERT only)."""
        refs: list[str] = []
        for action in actions:
            if action.kind is not ActionKind.ALERT:
                raise FatalError(f"slack delivers alerts only, not {action.kind.value}")
            payload = dict(action.payload)
            try:
                if payload.get("kind") == kit.UPDATE_KIND:
                    event = kit.AlertEvent.from_payload(payload, now=self._clock())
                    refs.append(self.update_message(
                        self.config.tenant, _required(payload, "dedupe_key"), event))
                else:
                    refs.append(self._alert(ticket_key, action.target, payload))
            except ValidationError as err:
                raise FatalError(f"slack: bad alert payload: {err}") from err
        return ApplyResult(
            applied=(ActionKind.ALERT,) if actions else (),
            external_ref=refs[-1] if refs else None,
            detail={"messages": refs},
        )

    def test_connection(self) -> str:
        """``auth.test``: which workspace and bot the token belongs to."""
        response = self._call("auth.test", self.client.auth_test)
        return (f"Slack workspace {response.get('team')} ({response.get('team_id')}) "
                f"as {response.get('user')}")

    def update_message(self, tenant: str, dedupe_key: str, event: kit.AlertEvent) -> str:
        """Show ``event`` (who acknowledged, owns or snoozed it) on the escalation's message."""
        if tenant != self.config.tenant:
            raise FatalError(f"slack: update for tenant {tenant!r} sent to {self.config.tenant!r}")
        now = self._clock()
        with session_scope(self._sessions()) as s:
            row = alerts.get_alert(s, tenant_id=self._tenant_id(s), dedupe_key=dedupe_key)
            if row is None:
                raise FatalError(f"slack: no alert message for escalation {dedupe_key!r}")
            if row.ts is None:
                raise RetriableError("slack: the alert is being posted", retry_after=5)
            parent = _snapshot(row)
        if event.event_id and event.event_id in parent.state.get("events", ()):
            # A redelivery: the note is there; finish the repaint a failure interrupted.
            if parent.state.get("stale"):
                self._refresh(parent, parent.payload, parent.state, now=now)
            return f"{parent.channel}:{parent.ts}"
        state = kit.apply_event(parent.state, event)
        self._thread(parent, kit.event_note(event))
        snooze = (parse_time(state["snooze_until"], "snooze_until")
                  if state.get("snooze_until") else None)
        self._save(parent, state={**state, "stale": True}, snooze_until=snooze, now=now)
        self._refresh(parent, parent.payload, state, now=now)
        return f"{parent.channel}:{parent.ts}"

    # --- helpers the lead may call from the Slack action handler ---------------------

    def agent_for(self, slack_user_id: str) -> str | None:
        """The helpdesk agent id mapped to a Slack user (``users`` setting), if any."""
        return self.settings.users.get(slack_user_id)

    def notify_user(self, *, channel: str, user_id: str, text: str) -> None:
        """An ephemeral message only ``user_id`` sees (e.g. "you are not mapped to an agent")."""
        self._call("chat.postEphemeral", self.client.chat_postEphemeral,
                   channel=channel, user=user_id, text=text)

    def user_email(self, slack_user_id: str) -> str | None:
        """The Slack user's e-mail (``users.info``; needs ``users:read.email``)."""
        response = self._call("users.info", self.client.users_info, user=slack_user_id)
        user = response.get("user") or {}
        email = (user.get("profile") or {}).get("email")
        return str(email) if email else None

    # --- alerts ----------------------------------------------------------------------

    def _alert(self, ticket_key: str, target: str, payload: dict[str, Any]) -> str:
        dedupe_key = _required(payload, "dedupe_key")
        ticket_key = str(payload.get("ticket_key") or ticket_key)
        channel = (self.settings.managers_channel if target == "manager" else None) or (
            self.settings.channel)
        fingerprint = _fingerprint(payload)
        now = self._clock()
        with session_scope(self._sessions()) as s:
            tenant_id = self._tenant_id(s)
            row = alerts.get_alert(s, tenant_id=tenant_id, dedupe_key=dedupe_key)
            same = row is not None
            if row is None and payload.get("kind") in kit.SLA_KINDS:
                row = alerts.latest_for_ticket(s, tenant_id=tenant_id, ticket_key=ticket_key)
            if row is None or row.ts is None:
                claim_id = self._claim(s, tenant_id, dedupe_key, ticket_key, channel, payload, now)
                parent = None
            else:
                parent, delivered = _snapshot(row), fingerprint in row.delivered
        if parent is None:
            return self._post(claim_id, channel, payload, fingerprint, now=now)
        if delivered:
            # Shown already (a redelivery); finish a parent repaint a failure interrupted.
            if parent.state.get("stale"):
                self._refresh(parent, parent.payload, parent.state, now=now)
            return f"{parent.channel}:{parent.ts}"
        return self._follow_up(parent, payload, fingerprint, same=same, now=now)

    def _claim(
        self, s: Session, tenant_id: int, dedupe_key: str, ticket_key: str, channel: str,
        payload: dict[str, Any], now: datetime,
    ) -> int:
        window = self.settings.rate_window
        posts = alerts.recent_posts(s, tenant_id=tenant_id, channel=channel, since=now - window)
        if len(posts) >= self.settings.rate_limit:
            frees = posts[len(posts) - self.settings.rate_limit] + window
            wait = max((frees - now).total_seconds(), 1.0)
            raise RetriableError(
                f"slack: {len(posts)} alerts in {channel} within "
                f"{int(window.total_seconds())} s (limit {self.settings.rate_limit}); "
                f"next in {wait:.0f} s",
                retry_after=wait,
            )
        row = alerts.claim_alert(
            s, tenant_id=tenant_id, dedupe_key=dedupe_key, ticket_key=ticket_key,
            channel=channel, payload=payload, now=now, stale_after=CLAIM_TTL,
        )
        if row is None:
            raise RetriableError("slack: another worker is posting this alert", retry_after=5)
        return row.id

    def _post(self, row_id: int, channel: str, payload: dict[str, Any], fingerprint: str, *,
              now: datetime) -> str:
        try:
            response = self._call(
                "chat.postMessage", self.client.chat_postMessage, channel=channel,
                text=kit.alert_text(payload),
                blocks=kit.alert_blocks(payload, now=now, currency=self.settings.currency),
                unfurl_links=False, unfurl_media=False,
            )
        except BaseException:
            with session_scope(self._sessions()) as s:
                alerts.release_claim(s, row_id=row_id)
            raise
        channel, ts = str(response["channel"]), str(response["ts"])
        with session_scope(self._sessions()) as s:
            row = s.get(alerts.AlertMessageRow, row_id)
            if row is None:
                log.warning("slack: alert %s was posted but its claim vanished", channel)
            else:
                alerts.mark_posted(s, row, channel=channel, ts=ts, fingerprint=fingerprint,
                                   now=now)
        return f"{channel}:{ts}"

    def _follow_up(self, parent: _Parent, payload: dict[str, Any], fingerprint: str, *,
                   same: bool, now: datetime) -> str:
        snoozed = parent.snooze_until is not None and parent.snooze_until > now
        state = dict(parent.state)
        mention = None if snoozed else (state.get("owned_by") or state.get("acknowledged_by"))
        self._thread(parent, kit.followup_text(payload, mention=mention))
        if payload.get("kind") in kit.SLA_KINDS:
            state["sla"] = kit.sla_status(payload, at=now)
        shown = payload if same else parent.payload
        self._save(parent, payload=shown, state={**state, "stale": True}, now=now,
                   snooze_until=parent.snooze_until, delivered=fingerprint)
        self._refresh(parent, shown, state, now=now)
        return f"{parent.channel}:{parent.ts}"

    # --- Slack calls and bookkeeping -------------------------------------------------

    def _thread(self, parent: _Parent, text: str) -> None:
        self._call("chat.postMessage", self.client.chat_postMessage, channel=parent.channel,
                   thread_ts=parent.ts, text=text, blocks=kit.followup_blocks(text),
                   unfurl_links=False, unfurl_media=False)

    def _refresh(self, parent: _Parent, payload: Mapping[str, Any],
                 state: dict[str, Any], *, now: datetime) -> None:
        state = {k: v for k, v in state.items() if k != "stale"}
        try:
            self._call(
                "chat.update", self.client.chat_update, channel=parent.channel, ts=parent.ts,
                text=kit.alert_text(payload),
                blocks=kit.alert_blocks(payload, state, now=now, currency=self.settings.currency),
            )
        except FatalError as err:
            # Someone deleted the alert: the thread still has the news; nothing to repaint.
            if not any(code in str(err) for code in _PARENT_GONE):
                raise
            log.warning("slack: alert %s:%s is gone; not updated", parent.channel, parent.ts)
        self._save(parent, state=state, now=now)

    def _save(self, parent: _Parent, *, state: dict[str, Any], now: datetime,
              payload: dict[str, Any] | None = None, delivered: str | None = None,
              snooze_until: datetime | None = _KEEP) -> None:
        with session_scope(self._sessions()) as s:
            row = s.get(alerts.AlertMessageRow, parent.id)
            if row is None:
                return
            row.state = state
            if payload is not None:
                row.payload = payload
            if delivered is not None:
                row.delivered = [*row.delivered, delivered]
            if snooze_until is not _KEEP:
                row.snooze_until = snooze_until
            row.updated_at = now

    def _call(self, method: str, func: Callable[..., SlackResponse], **kwargs: Any) -> Any:
        try:
            return func(**kwargs)
        except SlackApiError as err:
            raise slack_error(err, method) from err
        except OSError as err:
            # urllib's URLError, timeouts and refused connections are all OSError.
            raise RetriableError(f"slack {method}: {err}") from err

    def _sessions(self) -> sessionmaker[Session]:
        if self.sessions is None:
            raise FatalError("slack: the connector was built without a database (sessions=)")
        return self.sessions

    def _tenant_id(self, s: Session) -> int:
        tenant_id = alerts.tenant_id_for(s, self.config.tenant)
        if tenant_id is None:
            raise FatalError(f"slack: tenant {self.config.tenant!r} was removed")
        return tenant_id


def _snapshot(row: alerts.AlertMessageRow) -> _Parent:
    return _Parent(id=row.id, channel=row.channel, ts=str(row.ts), payload=dict(row.payload),
                   state=dict(row.state or {}), snooze_until=row.snooze_until)


def _required(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise ValidationError(key, "required")
    return value
