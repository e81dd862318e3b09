"""Slack: one Block Kit message per escalation, follow-ups threaded, a per-channel rate limit.

Configuration (``ConnectorConfig``): credentials ``{"bot_token": "xoxb-..."}``; settings
``channel`` (the alerts channel *id*, ``C...``), ``managers_channel`` (optional, for actions
targeted ``manager``), ``rate_limit`` (new top-level alerts per channel per window, default
10), ``rate_window_seconds`` (default 600), ``users`` (Slack user id -> helpdesk agent id for
*Take ownership*, or -> ``{"agent": "<id>", "email": "<address>"}``, the e-mail naming the
account owner the CRM gives as that Slack user), ``currency`` (ARR prefix, default ``$``).
``base_url`` points the Web API client at a local fake in tests.

``deliver`` takes ALERT actions. An alert payload (``integration.matrix``) opens the
escalation's message the first time its ``dedupe_key`` is seen; a later alert for the same
escalation — the same key again with new content, an SLA warning/breach (``kind``
``sla_warning``/``sla_breach``) or a customer's new message (``customer_reply``) about the
same ticket — becomes a threaded reply and an update of the parent, never a second top-level
message. While the escalation is snoozed, replies stay in the thread and mention nobody. An
``emerging_incident`` payload gets its own layout. What the pure payload cannot know is
filled in here: the ticket's link and summary from its latest decision (an SLA promotion's
payload has none) and the bug filed for it (both from the ``ticket_facts`` lookup it is
given), and the account owner as a Slack mention (the ``users`` setting, else Slack's
``users.lookupByEmail``).

The rate limit: past ``rate_limit`` new messages in a window, an alert is *held*: the channel
gets one summary message ("3 more escalations held by the rate limit: …", with links) and
each held alert is posted in full, buttons and all, in that summary's thread; nothing waits
and nothing bursts out later. The ledger takes the posting slot atomically with the claim.

Which message belongs to which escalation is kept by the ``AlertLedger`` the connector is
given (``adapters.connectors.ledger``); the connector itself never opens the database, and
calls Slack only between ledger calls.

A payload with ``"kind": "slack_update"`` records a click instead (see
:func:`adapters.connectors.slack.app.update_payload`)::

    {"kind": "slack_update", "dedupe_key": "<escalation>", "event": "acknowledged" |
     "owned" | "snoozed", "user_id": "U123", "agent_id": "42" (owned), "until": ISO (snoozed;
     default at + 1 h), "at": ISO (the click), "error": "..." (owned/snoozed that failed),
     "awaits": "<outbox key of the helpdesk assignment>" (owned: shown once it landed),
     "event_id": "<action_ts>" (makes a redelivery a no-op)}

A click that repeats what is done (ownership of an owned escalation, acknowledging twice)
changes nothing; the clicker is told who already has it (an ephemeral message).

Effectively once: every message Escalade posts carries its key in Slack message metadata
(``event_type`` ``escalade_alert``). When an attempt's outcome is unknown — ``deliver(...,
uncertain=True)``, a timeout or dropped connection after the request went out, or a claim
whose worker died — the channel's history (or the thread's replies) is searched for that key
before posting again.

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
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from adapters.connectors.base import Connector, ConnectorConfig
from adapters.connectors.ledger import (
    KEEP,
    AlertLedger,
    Claim,
    Keep,
    StoredAlert,
    TicketFactsLookup,
)
from adapters.connectors.slack import blocks as kit
from adapters.connectors.slack import digest_blocks as digest_kit
from adapters.helpdesk.base import ApplyResult, ConnectionCheck
from integration.errors import (
    ConfigurationError,
    DeliveryError,
    FatalError,
    RetriableError,
    ValidationError,
)
from integration.models import (
    Action,
    ActionKind,
    OutboxOutcome,
    TicketFacts,
    format_time,
    parse_time,
)

__all__ = ["METADATA_TYPE", "SlackConnector", "SlackSettings", "slack_error"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10
# A claim older than this belongs to a worker that died before recording its post.
CLAIM_TTL = timedelta(seconds=120)
# Slack message metadata marking Escalade's messages (https://api.slack.com/metadata).
METADATA_TYPE = "escalade_alert"
# How far back (before the claim) and how many pages the history is searched for a post.
_LOOKBACK = timedelta(minutes=5)
_LOOKUP_PAGES = 5
_OWNER_TTL = timedelta(hours=1)
_UNSURE_MAX = 20
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
# Slack errors worth trying again (https://api.slack.com/methods/chat.postMessage#errors).
_TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable",
                        "request_timeout", "ratelimited"})
_PARENT_GONE = frozenset({"message_not_found", "thread_not_found"})
_NO_USER = frozenset({"users_not_found", "user_not_found", "missing_scope", "not_allowed"})


class _Unsure(RetriableError):
    """The request went out but no answer came back: it may have landed."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SlackSettings:
    """A tenant's Slack settings, checked."""

    channel: str
    managers_channel: str | None = None
    rate_limit: int = 10
    rate_window: timedelta = timedelta(seconds=600)
    users: Mapping[str, str] = field(default_factory=dict)
    emails: Mapping[str, str] = field(default_factory=dict)
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
        agents, emails = _users(settings.get("users") or {})
        return cls(
            channel=channel,
            managers_channel=_channel(managers, "managers_channel") if managers else None,
            rate_limit=limit,
            rate_window=timedelta(seconds=window),
            users=agents,
            emails=emails,
            currency=str(settings.get("currency", "$")),
        )


def _users(raw: Any) -> tuple[dict[str, str], dict[str, str]]:
    """(Slack user -> agent id, e-mail -> Slack user) from the ``users`` setting."""
    if not isinstance(raw, Mapping):
        raise ConfigurationError("slack: users must map Slack user ids to agent ids")
    agents: dict[str, str] = {}
    emails: dict[str, str] = {}
    for user, value in raw.items():
        if isinstance(value, Mapping):
            if value.get("agent") not in (None, ""):
                agents[str(user)] = str(value["agent"])
            email = value.get("email")
            if email:
                if not isinstance(email, str) or "@" not in email:
                    raise ConfigurationError(f"slack: users.{user}.email is not an e-mail address")
                emails[email.strip().lower()] = str(user)
        elif value not in (None, ""):
            agents[str(user)] = str(value)
    return agents, emails


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


def _metadata(key: str) -> dict[str, Any]:
    return {"event_type": METADATA_TYPE, "event_payload": {"key": key}}


def _carries(message: Mapping[str, Any], key: str) -> bool:
    metadata = message.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != METADATA_TYPE:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, Mapping) and payload.get("key") == key


@dataclass(frozen=True, kw_only=True, slots=True)
class _Parent:
    # A posted alert as the ledger had it, the message follow-ups go to.
    id: int
    dedupe_key: str
    channel: str
    ts: str
    thread_ts: str | None
    payload: dict[str, Any]
    state: dict[str, Any]
    snooze_until: datetime | None

    @property
    def root(self) -> str:
        """Where follow-ups go: the message's own thread, or the thread it is a reply in."""
        return self.thread_ts or self.ts


class SlackConnector(Connector):
    """Escalation alerts in a Slack channel, with buttons handled by ``app``.

    ``ledger`` remembers which message belongs to which escalation (``AlertLedger``);
    ``deliver`` and ``update_message`` need it, a connector without it can only
    ``test_connection``. ``ticket_links`` maps a ticket id to where a person opens it and
    ``ticket_facts`` a ticket key to its link, summary and bug, for alerts that came without.
    """

    identifier = "slack"
    shared = frozenset({"ledger", "ticket_links", "ticket_facts"})

    def __init__(
        self,
        *,
        config: ConnectorConfig,
        ledger: AlertLedger | None = None,
        client: WebClient | None = None,
        clock: Callable[[], datetime] | None = None,
        timeout: int = DEFAULT_TIMEOUT,
        ticket_links: Callable[[str], str | None] | None = None,
        ticket_facts: TicketFactsLookup | None = None,
    ) -> None:
        super().__init__(config=config)
        self.settings = SlackSettings.from_mapping(config.settings)
        self.ticket_links = ticket_links
        self.ticket_facts = ticket_facts
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
        self.ledger = ledger
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._owners: dict[str, tuple[datetime, str | None]] = {}

    # --- the outbox's entry points ---------------------------------------------------

    def deliver(
        self, ticket_key: str, actions: Sequence[Action], *, uncertain: bool = False
    ) -> ApplyResult:
        """Post, thread or update the alert messages for ``actions`` (ALERT only).

        ``uncertain``: an earlier attempt may have landed; look before posting again.
        """
        refs: list[str] = []
        for action in actions:
            if action.kind is not ActionKind.ALERT:
                raise FatalError(f"slack delivers alerts only, not {action.kind.value}")
            payload = dict(action.payload)
            try:
                if payload.get("kind") == kit.UPDATE_KIND:
                    event = kit.AlertEvent.from_payload(payload, now=self._clock())
                    refs.append(self.update_message(
                        self.config.tenant, _required(payload, "dedupe_key"), event,
                        uncertain=uncertain))
                else:
                    refs.append(self._alert(ticket_key, action.target, payload,
                                            uncertain=uncertain))
            except ValidationError as err:
                raise FatalError(f"slack: bad alert payload: {err}") from err
        return ApplyResult(
            applied=(ActionKind.ALERT,) if actions else (),
            external_ref=refs[-1] if refs else None,
            detail={"messages": refs},
        )

    def test_connection(self) -> ConnectionCheck:
        """``auth.test``: which workspace and bot the token belongs to."""
        response = self._call("auth.test", self.client.auth_test)
        return ConnectionCheck(message=f"Slack workspace {response.get('team')} "
                                       f"({response.get('team_id')}) as {response.get('user')}")

    def update_message(
        self, tenant: str, dedupe_key: str, event: kit.AlertEvent, *, uncertain: bool = False
    ) -> str:
        """Show ``event`` (who acknowledged, owns or snoozed it) on the escalation's message."""
        if tenant != self.config.tenant:
            raise FatalError(f"slack: update for tenant {tenant!r} sent to {self.config.tenant!r}")
        now = self._clock()
        ledger = self._ledger()
        found = ledger.alert(dedupe_key)
        if found is None:
            raise FatalError(f"slack: no alert message for escalation {dedupe_key!r}")
        if found.ts is None:
            raise RetriableError("slack: the alert is being posted", retry_after=5)
        parent = _parent(found)
        outcome = ledger.outbox_outcome(event.awaits) if event.awaits else None
        ref = f"{parent.channel}:{parent.ts}"
        if event.event_id and event.event_id in parent.state.get("events", ()):
            # A redelivery: the note is there; finish the repaint a failure interrupted.
            if parent.state.get("stale"):
                self._refresh(parent, parent.payload, parent.state, now=now)
            return ref
        already = kit.already_note(parent.state, event)
        if already is not None:
            self._tell(parent, event.user_id, already)
            self._save(parent, state=kit.remember(parent.state, event), now=now)
            return ref
        if event.awaits:
            if outcome is not None and event.agent_id is not None and all(
                    p.get("assignee") != event.agent_id for p in outcome.payloads):
                # Two people clicked at once and the other one's assignment went first.
                self._tell(parent, event.user_id, "Someone else is taking ownership of this "
                                                  "escalation right now; the alert shows who.")
                self._save(parent, state=kit.remember(parent.state, event), now=now)
                return ref
            event = _after_assignment(event, outcome, now)
        state = kit.apply_event(parent.state, event)
        key = f"{parent.dedupe_key}:event:{event.event_id or format_time(event.at)}"
        self._thread(parent, kit.event_note(event, zone=kit.zone_of(parent.payload)), key=key,
                     uncertain=uncertain)
        snooze = (parse_time(state["snooze_until"], "snooze_until")
                  if state.get("snooze_until") else None)
        self._save(parent, state={**state, "stale": True}, snooze_until=snooze, now=now)
        self._refresh(parent, parent.payload, state, now=now)
        return ref

    # --- helpers the Slack action handler calls --------------------------------------

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

    def slack_user_for(self, email: str) -> str | None:
        """The Slack user with this e-mail: the ``users`` setting, else ``users.lookupByEmail``.

        Cached an hour (found or not); an error reads as "unknown", never as a failed alert.
        """
        address = email.strip().lower()
        mapped = self.settings.emails.get(address)
        if mapped is not None:
            return mapped
        now = self._clock()
        with self._lock:
            hit = self._owners.get(address)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            response = self._call("users.lookupByEmail", self.client.users_lookupByEmail,
                                  email=address)
            user = response.get("user") or {}
            found = str(user["id"]) if user.get("id") and not user.get("deleted") else None
        except FatalError as err:
            if not any(code in str(err) for code in _NO_USER):
                log.warning("slack: could not look up %s: %s", address, err)
            found = None
        except RetriableError as err:
            log.warning("slack: could not look up %s now: %s", address, err)
            return None
        with self._lock:
            self._owners[address] = (now + _OWNER_TTL, found)
        return found

    # --- alerts ----------------------------------------------------------------------

    def _alert(self, ticket_key: str, target: str, payload: dict[str, Any], *,
               uncertain: bool) -> str:
        dedupe_key = _required(payload, "dedupe_key")
        ticket_key = str(payload.get("ticket_key") or ticket_key)
        kind = payload.get("kind")
        channel = (self.settings.managers_channel if target == "manager" else None) or (
            self.settings.channel)
        # A digest goes to the channel its workspace chose for it.
        if kind == digest_kit.DIGEST_KIND:
            channel = _digest_channel(payload)
        # Hash what the matrix sent, not what is filled in here: a redelivery must match.
        fingerprint = _fingerprint(payload)
        now = self._clock()
        ledger = self._ledger()
        follows_ticket = kind in (*kit.SLA_KINDS, kit.REPLY_KIND)
        found = ledger.alert(dedupe_key, or_ticket=ticket_key if follows_ticket else None)
        same = found is not None and found.dedupe_key == dedupe_key
        if kind in kit.NOTE_KINDS and (found is None or found.ts is None):
            if found is None:
                # The escalation has no message (Slack was connected later): nothing to add.
                return "no alert to thread under"
            raise RetriableError("slack: the alert is being posted", retry_after=5)
        if found is None or found.ts is None:
            # Lookups (a Slack call for the owner) happen between ledger calls, never in one.
            payload = self._complete(payload, self._facts(ticket_key))
            claim = ledger.claim(
                dedupe_key=dedupe_key, ticket_key=ticket_key, channel=channel, payload=payload,
                now=now, uncertain=uncertain, rate_limit=self.settings.rate_limit,
                rate_window=self.settings.rate_window, stale_after=CLAIM_TTL)
            return self._post_alert(claim, payload, fingerprint, now=now)
        parent, delivered = _parent(found), fingerprint in found.delivered
        if delivered:
            # Shown already (a redelivery); finish a parent repaint a failure interrupted.
            if parent.state.get("stale"):
                self._refresh(parent, parent.payload, parent.state, now=now)
            return f"{parent.channel}:{parent.ts}"
        return self._follow_up(parent, payload, fingerprint, same=same, now=now,
                               uncertain=uncertain)

    def _complete(self, payload: dict[str, Any], facts: TicketFacts) -> dict[str, Any]:
        """The payload with what only the app and Slack know: link, summary, bug, owner."""
        if payload.get("kind") in (kit.INCIDENT_KIND, *kit.NOTE_KINDS, digest_kit.DIGEST_KIND):
            return payload
        out = dict(payload)
        if not out.get("ticket_url"):
            out["ticket_url"] = facts.ticket_url or self._link(out)
        if not out.get("summary") and facts.summary:
            out["summary"] = facts.summary
        if not out.get("tracker_issue") and facts.tracker_key:
            out["tracker_issue"] = {"key": facts.tracker_key, "url": facts.tracker_url}
        owner = (out.get("account") or {}).get("owner") if isinstance(
            out.get("account"), Mapping) else None
        if owner and "@" in str(owner) and not out.get("account_owner_slack"):
            slack_user = self.slack_user_for(str(owner))
            if slack_user:
                out["account_owner_slack"] = slack_user
        return out

    def _facts(self, ticket_key: str) -> TicketFacts:
        return self.ticket_facts(ticket_key) if self.ticket_facts is not None else TicketFacts()

    def _link(self, payload: Mapping[str, Any]) -> str | None:
        ticket_id = payload.get("ticket_id")
        if self.ticket_links is None or not ticket_id:
            return None
        try:
            return self.ticket_links(str(ticket_id))
        except (ConfigurationError, DeliveryError) as err:
            log.warning("slack: no link for ticket %s: %s", ticket_id, err)
            return None

    def _post_alert(self, claim: Claim, payload: dict[str, Any], fingerprint: str, *,
                    now: datetime) -> str:
        try:
            return self._post_claimed(claim, payload, fingerprint, now=now)
        except _Unsure:
            # Whatever went out may have landed: the next attempt looks before posting.
            self._ledger().mark_unsure(claim.id, since=claim.since)
            raise

    def _post_claimed(self, claim: Claim, payload: dict[str, Any], fingerprint: str, *,
                      now: datetime) -> str:
        dedupe_key = str(payload["dedupe_key"])
        thread_ts = claim.thread_ts
        if claim.summary_id is not None and claim.new_summary:
            thread_ts = self._open_summary(claim, payload, now=now)
            self._ledger().set_thread(claim.id, thread_ts)
        ts = None
        if claim.find:
            ts = self._find(claim.channel, dedupe_key, since=claim.since, thread_ts=thread_ts)
        if ts is None:
            ts = self._post_row(
                claim.id, channel=claim.channel, key=dedupe_key,
                fingerprint=fingerprint, text=kit.alert_text(payload),
                blocks=kit.alert_blocks(payload, now=now, currency=self.settings.currency),
                thread_ts=thread_ts,
            )
        else:
            self._mark(claim.id, channel=claim.channel, ts=ts, fingerprint=fingerprint,
                       thread_ts=thread_ts, now=now)
        if claim.summary_id is not None and thread_ts is not None:
            self._repaint_summary(claim.summary_id, claim.channel, thread_ts)
        return f"{claim.channel}:{ts}"

    def _open_summary(self, claim: Claim, payload: dict[str, Any], *, now: datetime) -> str:
        """Post the channel's summary of held alerts (or find the one an attempt left)."""
        assert claim.summary_id is not None and claim.summary_key is not None
        key = claim.summary_key
        if claim.find_summary:
            found = self._find(claim.channel, key, since=claim.summary_since, thread_ts=None)
            if found is not None:
                self._mark(claim.summary_id, channel=claim.channel, ts=found, fingerprint="",
                           thread_ts=None, now=now)
                return found
        try:
            return self._post_row(
                claim.summary_id, channel=claim.channel, key=key, fingerprint="",
                text=kit.held_summary_text([payload]),
                blocks=self._held_blocks([payload], claim.frees_at or now),
                release_on_refusal=(claim.id,),
            )
        except _Unsure:
            self._ledger().mark_unsure(claim.summary_id, since=claim.since)
            raise

    def _post_row(
        self, row_id: int, *, channel: str, key: str, fingerprint: str,
        text: str, blocks: list[dict[str, Any]], thread_ts: str | None = None,
        release_on_refusal: Sequence[int] = (),
    ) -> str:
        """Post a claimed row's message and record its ``ts``; a refusal frees the claim.

        When the outcome is unknown (``_Unsure``) the claim stays for the next attempt.
        """
        kwargs: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        try:
            response = self._call(
                "chat.postMessage", self.client.chat_postMessage, channel=channel, text=text,
                blocks=blocks, metadata=_metadata(key), unfurl_links=False, unfurl_media=False,
                **kwargs,
            )
        except _Unsure:
            raise
        except BaseException:
            self._ledger().release((row_id, *release_on_refusal))
            raise
        ts = str(response["ts"])
        self._mark(row_id, channel=str(response["channel"]), ts=ts, fingerprint=fingerprint,
                   thread_ts=thread_ts, now=self._clock())
        return ts

    def _mark(self, row_id: int, *, channel: str, ts: str, fingerprint: str,
              thread_ts: str | None, now: datetime) -> None:
        if not self._ledger().mark_posted(row_id, channel=channel, ts=ts,
                                          fingerprint=fingerprint, thread_ts=thread_ts, now=now):
            log.warning("slack: message %s:%s was posted but its claim vanished", channel, ts)

    def _held_blocks(self, held: Sequence[Mapping[str, Any]],
                     frees_at: datetime) -> list[dict[str, Any]]:
        return kit.held_summary_blocks(held, limit=self.settings.rate_limit,
                                       window=self.settings.rate_window, frees_at=frees_at,
                                       currency=self.settings.currency)

    def _repaint_summary(self, summary_id: int, channel: str, thread_ts: str) -> None:
        """List every alert the summary holds (as recorded, so concurrent holds all show)."""
        found = self._ledger().held_alerts(summary_id)
        if found is None or not found.payloads:
            return
        held = list(found.payloads)
        frees_at = parse_time(found.frees_at, "frees_at") if found.frees_at else self._clock()
        try:
            self._call("chat.update", self.client.chat_update, channel=channel, ts=thread_ts,
                       text=kit.held_summary_text(held),
                       blocks=self._held_blocks(held, frees_at))
        except DeliveryError as err:
            # The alert itself is posted; the list catches up with the next held alert.
            log.warning("slack: summary of held alerts %s:%s not updated: %s", channel,
                        thread_ts, err)

    def _follow_up(self, parent: _Parent, payload: dict[str, Any], fingerprint: str, *,
                   same: bool, now: datetime, uncertain: bool) -> str:
        snoozed = parent.snooze_until is not None and parent.snooze_until > now
        state = dict(parent.state)
        mention = None if snoozed else (state.get("owned_by") or state.get("acknowledged_by"))
        self._thread(parent, kit.followup_text(payload, mention=mention),
                     key=f"{parent.dedupe_key}:{fingerprint}", uncertain=uncertain)
        if payload.get("kind") in kit.SLA_KINDS:
            state["sla"] = kit.sla_status(payload, at=now)
        # A re-alert of the same escalation shows its news; others keep the parent's content.
        shown = dict(parent.payload)
        if payload.get("kind") == kit.BUG_KIND:
            shown["tracker_issue"] = payload.get("tracker_issue")
        elif same and payload.get("kind") != kit.REPLY_KIND:
            shown = {**payload, **{k: v for k, v in parent.payload.items()
                                   if k in _FILLED and not payload.get(k)}}
        self._save(parent, payload=shown, state={**state, "stale": True}, now=now,
                   snooze_until=parent.snooze_until, delivered=fingerprint)
        self._refresh(parent, shown, state, now=now)
        return f"{parent.channel}:{parent.ts}"

    def _tell(self, parent: _Parent, user_id: str, text: str) -> None:
        """Tell one person something only they need to know; the thread if Slack refuses."""
        try:
            self.notify_user(channel=parent.channel, user_id=user_id, text=text)
        except FatalError as err:
            log.info("slack: no ephemeral message for %s (%s); noted in the thread", user_id, err)
            self._call("chat.postMessage", self.client.chat_postMessage, channel=parent.channel,
                       thread_ts=parent.root, text=f"<@{user_id}>: {text}",
                       blocks=kit.followup_blocks(f":information_source: <@{user_id}>: {text}"),
                       unfurl_links=False, unfurl_media=False)

    # --- Slack calls and bookkeeping -------------------------------------------------

    def _thread(self, parent: _Parent, text: str, *, key: str, uncertain: bool) -> None:
        unsure = uncertain or key in parent.state.get("unsure_replies", ())
        if unsure and self._find(parent.channel, key, since=None, thread_ts=parent.root):
            return  # the earlier attempt landed
        try:
            self._call("chat.postMessage", self.client.chat_postMessage, channel=parent.channel,
                       thread_ts=parent.root, text=text, blocks=kit.followup_blocks(text),
                       metadata=_metadata(key), unfurl_links=False, unfurl_media=False)
        except _Unsure:
            # Remember it, so the retry looks in the thread first whatever the outbox knows.
            self._ledger().remember_unsure_reply(parent.id, key, keep=_UNSURE_MAX)
            raise

    def _find(self, channel: str, key: str, *, since: datetime | None,
              thread_ts: str | None) -> str | None:
        """The ``ts`` of Escalade's message carrying ``key``: in the thread, or the channel."""
        cursor: str | None = None
        for _ in range(_LOOKUP_PAGES):
            args: dict[str, Any] = {"channel": channel, "include_all_metadata": True,
                                    "limit": 200}
            if cursor:
                args["cursor"] = cursor
            if thread_ts:
                response = self._call("conversations.replies", self.client.conversations_replies,
                                      ts=thread_ts, **args)
            else:
                if since is not None:
                    args["oldest"] = f"{(since - _LOOKBACK).timestamp():.6f}"
                response = self._call("conversations.history",
                                      self.client.conversations_history, **args)
            for message in response.get("messages") or ():
                if isinstance(message, Mapping) and _carries(message, key):
                    return str(message["ts"])
            cursor = ((response.get("response_metadata") or {}).get("next_cursor")) or None
            if not cursor:
                return None
        return None

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
              snooze_until: datetime | None | Keep = KEEP) -> None:
        self._ledger().save(parent.id, state=state, now=now, payload=payload,
                            delivered=delivered, snooze_until=snooze_until)

    def _call(self, method: str, func: Callable[..., SlackResponse], **kwargs: Any) -> Any:
        try:
            return func(**kwargs)
        except SlackApiError as err:
            raise slack_error(err, method) from err
        except OSError as err:
            # urllib's URLError, timeouts and dropped connections are all OSError; the
            # request may have been sent and acted on.
            raise _Unsure(f"slack {method}: {err}") from err

    def _ledger(self) -> AlertLedger:
        if self.ledger is None:
            raise FatalError("slack: the connector was built without an alert ledger (ledger=)")
        return self.ledger


# Filled in at delivery (``_complete``); a re-alert without them keeps the parent's.
_FILLED = ("ticket_url", "summary", "tracker_issue", "account_owner_slack")


def _after_assignment(
    event: kit.AlertEvent, outcome: OutboxOutcome | None, now: datetime
) -> kit.AlertEvent:
    """The ownership as the helpdesk decided it: wait while it tries, say why if it refused."""
    if outcome is None:
        return replace(event, error="the helpdesk assignment was never queued")
    if outcome.status == "delivered":
        return event
    if outcome.status == "failed":
        return replace(event, error=f"the helpdesk refused the assignment: "
                                    f"{outcome.error or 'no reason given'}")
    wait = 2.0
    if outcome.next_attempt_at is not None:
        wait = max((outcome.next_attempt_at - now).total_seconds() + 1.0, wait)
    raise RetriableError("slack: waiting for the helpdesk to assign the ticket"
                         + (f" (last try: {outcome.error})" if outcome.error else ""),
                         retry_after=wait)


def _parent(found: StoredAlert) -> _Parent:
    return _Parent(id=found.id, dedupe_key=found.dedupe_key, channel=found.channel,
                   ts=str(found.ts), thread_ts=found.thread_ts, payload=dict(found.payload),
                   state=dict(found.state), snooze_until=found.snooze_until)


def _digest_channel(payload: Mapping[str, Any]) -> str:
    channel = payload.get("channel")
    if not isinstance(channel, str) or not _CHANNEL_ID.match(channel):
        raise FatalError(f"slack: the digest's channel must be a channel id, got {channel!r}")
    return channel


def _required(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise ValidationError(key, "required")
    return value
