"""Jira Cloud: file a bug report once per problem, comment on it as more customers hit it.

Built on the ``jira`` library against REST v3 (descriptions and comments in Atlassian
Document Format). ``ConnectorConfig.base_url`` is the site, ``https://<name>.atlassian.net``.

Credentials: ``email`` and ``api_token`` (an Atlassian API token of a user who can browse,
create and comment in the project). Secret ``webhook_secret`` is used by
``integration.web.tracker_webhooks``, not here.

Settings:
  ``project``            project key, required (``"PAY"``)
  ``issue_type``         default ``"Bug"``
  ``labels``             extra labels; ``escalade`` and the report's fingerprint are always set
  ``priorities``         severity -> Jira priority name, default critical=Highest, major=High,
                         minor=Medium; ``{}`` sends no priority (projects without the field)
  ``title_threshold``    word-overlap needed to reuse an open issue by title, default 0.6
  ``timeout_seconds``    per HTTP call, default 10
  ``currency``           ARR prefix in descriptions, default ``$``

Finding an existing issue: ``POST /rest/api/3/search/jql`` for an open issue labelled with
the fingerprint, then for an open ``escalade`` issue whose summary shares most words with the
title (that issue then also gets the fingerprint label). Found -> an ADF comment listing the
customers it does not mention yet, each with their own steps quoted from their ticket, and
the title renamed to the new count ("... (4 accounts)") unless someone edited it by hand;
none new -> nothing is written (an outbox retry is a no-op). Every helpdesk ticket is linked
on the issue as a remote link (``POST /issue/{key}/remotelink`` with a ``globalId`` per
ticket, so linking twice updates the same link).

Errors: 429 -> ``RetriableError`` with Jira's ``Retry-After``; 5xx and network errors ->
``RetriableError``; other 4xx -> ``FatalError`` with Jira's ``errorMessages``/``errors``.
The client never retries or sleeps (``max_retries=0``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests
from jira import JIRA, JIRAError

from adapters.connectors.base import Connector, ConnectorConfig
from adapters.connectors.jira import adf
from adapters.connectors.tracker import (
    BugReport,
    TicketLink,
    TrackerIssue,
    deliver_reports,
    new_customers,
    retitle,
    setting_number,
    ticket_links,
    title_similarity,
    title_words,
)
from adapters.helpdesk.base import ApplyResult, ConnectionCheck
from integration.errors import ConfigurationError, DeliveryError, FatalError, RetriableError
from integration.models import Action

__all__ = ["DEFAULT_PRIORITIES", "JiraTracker", "escape_jql", "jira_error"]

DEFAULT_PRIORITIES = {"critical": "Highest", "major": "High", "minor": "Medium"}
ESCALADE_LABEL = "escalade"
_SEARCH_FIELDS = ["summary", "status", "labels", "description", "comment"]
_STOP_WORDS = frozenset({
    "and", "are", "but", "for", "into", "not", "such", "that", "the", "their", "then", "there",
    "these", "they", "this", "was", "will", "with",
})
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,49}$")


def escape_jql(value: str) -> str:
    """A JQL string literal (double-quoted, backslash and quote escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def text_query(title: str, *, terms: int = 6) -> str | None:
    """``(summary ~ "w1" OR ...)`` over the title's longest words; ``None`` without any.

    Words only, so Jira's text-search operators (``+ - & | ! ( ) { } [ ] ^ ~ * ? : \\ /``,
    https://support.atlassian.com/jira-software-cloud/docs/search-for-issues-using-the-text-field/)
    cannot break the query; one clause per word, so a title differing in a word still
    matches and the similarity check decides. Stop words are left out: Jira ignores them.
    """
    words = sorted((w for w in title_words(title) if len(w) > 2 and w not in _STOP_WORDS),
                   key=lambda w: (-len(w), w))[:terms]
    if not words:
        return None
    return "(" + " OR ".join(f"summary ~ {escape_jql(w)}" for w in words) + ")"


def _retry_after(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    raw = response.headers.get("Retry-After")
    try:
        return max(float(raw), 0.0) if raw is not None else None
    except ValueError:
        return None  # an HTTP-date: the outbox's own backoff decides


def _messages(response: requests.Response | None) -> str:
    if response is None:
        return ""
    try:
        data = response.json()
    except ValueError:
        return response.text[:300]
    if not isinstance(data, Mapping):
        return ""
    parts = [str(m) for m in data.get("errorMessages") or ()]
    errors = data.get("errors")
    if isinstance(errors, Mapping):
        parts += [f"{field}: {message}" for field, message in errors.items()]
    return "; ".join(parts)


def jira_error(err: JIRAError, doing: str) -> DeliveryError:
    """Map a Jira failure to retriable (429, 5xx) or fatal (other 4xx), with Jira's message."""
    status = err.status_code or 0
    detail = _messages(err.response) or (err.text or "")
    message = f"jira: {doing} failed with HTTP {status}" + (f": {detail}" if detail else "")
    if status == 429:
        return RetriableError(message, retry_after=_retry_after(err.response))
    if status >= 500 or status == 0:
        return RetriableError(message)
    if status in (401, 403):
        message += " (check the email, API token and project permissions)"
    return FatalError(message)


def _setting_labels(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str) or not all(isinstance(x, str) and x and " " not in x for x in raw):
        raise ConfigurationError("Jira setting 'labels' must be a list of labels without spaces")
    return tuple(raw)


class JiraTracker(Connector):
    """Jira Cloud as Escalade's bug tracker."""

    identifier = "jira"

    def __init__(self, *, config: ConnectorConfig, client: JIRA | None = None) -> None:
        super().__init__(config=config)
        settings = config.settings
        self.project = str(settings.get("project") or "").strip().upper()
        if not _PROJECT_KEY.match(self.project):
            raise ConfigurationError("Jira needs settings.project, a project key such as 'PAY'")
        self.issue_type = str(settings.get("issue_type") or "Bug")
        self.labels = _setting_labels(settings.get("labels"))
        priorities = settings.get("priorities", DEFAULT_PRIORITIES)
        if not isinstance(priorities, Mapping):
            raise ConfigurationError("Jira setting 'priorities' must map severity to a priority")
        self.priorities = {str(k): str(v) for k, v in priorities.items()}
        self.title_threshold = setting_number(settings, "title_threshold", 0.6, who="Jira")
        self.currency = str(settings.get("currency") or "$")
        server = (config.base_url or "").rstrip("/")
        if not server.startswith(("https://", "http://")):
            raise ConfigurationError("Jira needs base_url, the site such as https://acme.atlassian.net")
        self.server = server
        if client is None:
            email, token = config.credentials.get("email"), config.credentials.get("api_token")
            if not email or not token:
                raise ConfigurationError("Jira needs credentials.email and credentials.api_token")
            client = JIRA(
                server=server,
                basic_auth=(email, token),
                options={"rest_api_version": "3"},
                # The outbox owns retrying; the library would otherwise sleep on 429/503.
                max_retries=0,
                get_server_info=False,
                timeout=setting_number(settings, "timeout_seconds", 10, who="Jira") or 10.0,
            )
        self._client = client

    # --- the Tracker protocol ----------------------------------------------------------

    def test_connection(self) -> ConnectionCheck:
        """``GET /rest/api/3/myself``: who the token belongs to."""
        me = self._call("check the credentials", self._client.myself)
        who = me.get("displayName") or me.get("emailAddress") or me.get("accountId") or "?"
        return ConnectionCheck(message=f"Jira {self.server}: connected as {who}")

    def file_or_update(self, report: BugReport) -> TrackerIssue:
        """Comment on the open issue tracking ``report``, or create one."""
        found = self.find_open_issue(report)
        if found is None:
            return self._create(report)
        key = str(found["key"])
        fields = found.get("fields") or {}
        labels = fields.get("labels") or []
        edit: dict[str, Any] = {}
        if report.fingerprint not in labels:
            edit["update"] = {"labels": [{"add": report.fingerprint}]}
        if retitle(fields.get("summary"), report.title):
            edit["fields"] = {"summary": _summary(report.title)}
        if edit:
            self._request("update the issue", "PUT", f"issue/{key}", edit)
        text = _issue_text(fields)
        fresh = new_customers(report, text)
        if fresh:
            body = adf.update_comment(report, fresh, currency=self.currency)
            self._call("comment", self._client.add_comment, key, body)
        self._link_tickets(key, [link for link in ticket_links(report) if link.page not in text])
        status = (fields.get("status") or {}).get("name")
        return TrackerIssue(key=key, url=self.browse_url(key), created=False,
                            status=status, new_customers=len(fresh))

    def deliver(
        self, ticket_key: str, actions: Sequence[Action], *, uncertain: bool = False
    ) -> ApplyResult:
        """File each ``bug_report`` ALERT action's report; the last issue is the reference.

        ``uncertain`` needs nothing more: filing always searches by the fingerprint label
        first, so a retry finds the issue an interrupted attempt created.
        """
        return deliver_reports(self, actions)

    # --- searching and filing ----------------------------------------------------------

    def browse_url(self, key: str) -> str:
        """The issue's page on the site."""
        return f"{self.server}/browse/{key}"

    def search(self, jql: str, *, limit: int) -> list[Mapping[str, Any]]:
        """Issues matching ``jql`` via ``POST /rest/api/3/search/jql`` (raw IssueBean dicts)."""
        # JIRA.enhanced_search_issues posts to the same endpoint but sends "expand": null and
        # "properties": null, which the published schema rejects, and first loads /field.
        body = {"jql": jql, "fields": list(_SEARCH_FIELDS), "maxResults": limit}
        data = self._request("search", "POST", "search/jql", body)
        issues = data.get("issues") if isinstance(data, Mapping) else None
        return [i for i in issues or () if isinstance(i, Mapping) and i.get("key")]

    def find_open_issue(self, report: BugReport) -> Mapping[str, Any] | None:
        """The open issue with the fingerprint label, else the best open title match."""
        scope = f"project = {escape_jql(self.project)} AND statusCategory != Done"
        by_label = self.search(
            f"{scope} AND labels = {escape_jql(report.fingerprint)} ORDER BY created ASC", limit=1
        )
        if by_label:
            return by_label[0]
        words = text_query(report.title)
        if words is None:
            return None
        candidates = self.search(
            f"{scope} AND labels = {escape_jql(ESCALADE_LABEL)} AND {words} ORDER BY created DESC",
            limit=50,
        )
        scored = [(title_similarity(report.title, str((c.get("fields") or {}).get("summary"))), c)
                  for c in candidates]
        scored = [pair for pair in scored if pair[0] >= self.title_threshold]
        return max(scored, key=lambda pair: pair[0])[1] if scored else None

    def create_fields(self, report: BugReport) -> dict[str, Any]:
        """The ``fields`` of the create request for ``report``."""
        labels = list(dict.fromkeys((ESCALADE_LABEL, *self.labels, report.fingerprint)))
        fields: dict[str, Any] = {
            "project": {"key": self.project},
            "issuetype": {"name": self.issue_type},
            "summary": _summary(report.title),
            "description": adf.description(report, currency=self.currency),
            "labels": labels,
        }
        priority = self.priorities.get(report.severity)
        if priority:
            fields["priority"] = {"name": priority}
        return fields

    def _create(self, report: BugReport) -> TrackerIssue:
        issue = self._call("create the issue", self._client.create_issue,
                           fields=self.create_fields(report), prefetch=False)
        key = str(issue.key)
        self._link_tickets(key, ticket_links(report))
        return TrackerIssue(key=key, url=self.browse_url(key), created=True, status=None,
                            new_customers=len(report.customers))

    def _link_tickets(self, key: str, links: Sequence[TicketLink]) -> None:
        """Link helpdesk tickets on the issue (remote links; linking again changes nothing)."""
        for link in links:
            remote: dict[str, Any] = {
                # The same globalId again updates the link instead of adding a second one.
                "globalId": f"escalade-ticket={link.page}"[:255],
                "application": {"type": "com.escalade", "name": "Escalade"},
                "relationship": "reported in",
                "object": {"url": link.url, "title": link.title},
            }
            if link.summary:
                remote["object"]["summary"] = link.summary
            self._request("link a ticket", "POST", f"issue/{key}/remotelink", remote)

    # --- HTTP ------------------------------------------------------------------------------

    def _call(self, doing: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JIRAError as err:
            raise jira_error(err, doing) from err
        except requests.RequestException as err:
            raise RetriableError(f"jira: {doing} failed: {type(err).__name__}") from err

    def _request(self, doing: str, method: str, path: str,
                 body: Mapping[str, Any] | None = None) -> Any:
        client = self._client

        def send() -> Any:
            data = json.dumps(body) if body is not None else None
            response = client._session.request(method, client._get_url(path), data=data)
            return response.json() if response.content else {}

        return self._call(doing, send)


def _summary(title: str) -> str:
    # Jira rejects summaries over 255 characters.
    return " ".join(title.split())[:255]


def _issue_text(fields: Mapping[str, Any]) -> str:
    """Every text and link in the issue's description and loaded comments."""
    parts = [adf.plain_text(fields.get("description"))]
    comments = (fields.get("comment") or {}).get("comments") or ()
    parts += [adf.plain_text(c.get("body")) for c in comments if isinstance(c, Mapping)]
    return "\n".join(parts)
