"""Linear: file a bug report once per problem, comment on it as more customers hit it.

GraphQL over ``requests`` to ``https://api.linear.app/graphql`` (``ConnectorConfig.base_url``
replaces it in tests). Every document sent is a module constant, checked in the tests against
Linear's published schema.

Credentials: ``api_key`` (a personal API key, sent as ``Authorization: <key>``) or
``access_token`` (OAuth, sent as ``Bearer``). Secret ``webhook_secret`` is used by
``integration.web.tracker_webhooks``, not here.

Settings:
  ``team_id``            the team issues are filed in, required
  ``label_ids``          label ids to set on new issues (optional)
  ``priorities``         severity -> Linear priority (1 urgent .. 4 low), default critical=1,
                         major=2, minor=3
  ``title_threshold``    word-overlap needed to reuse an open issue by title, default 0.6
  ``timeout_seconds``    per HTTP call, default 10
  ``currency``           ARR prefix in descriptions, default ``$``

Finding an existing issue: ``issues(filter: ...)`` for an open issue (state type not
completed/canceled) in the team whose description contains the fingerprint, then among open
Escalade-filed issues one whose title shares most words. Found -> ``commentCreate`` with the
customers it does not mention yet, each with their own steps quoted, and ``issueUpdate`` of
the title to the new count unless someone edited it; none new -> nothing is written. Every
helpdesk ticket is attached to the issue (``attachmentCreate``: the same URL again updates
the same attachment).

Errors: HTTP 429 or a ``RATELIMITED`` GraphQL error -> ``RetriableError`` (``Retry-After`` or
``X-RateLimit-Requests-Reset``); 5xx and network errors -> ``RetriableError``; any other
GraphQL error, 4xx or ``success: false`` -> ``FatalError`` with Linear's message.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import requests

from adapters.connectors.base import Connector, ConnectorConfig
from adapters.connectors.tracker import (
    BugReport,
    TicketLink,
    TrackerIssue,
    customer_line,
    deliver_reports,
    new_customers,
    retitle,
    setting_number,
    ticket_links,
    title_similarity,
)
from adapters.helpdesk.base import ApplyResult, ConnectionCheck
from integration.errors import ConfigurationError, FatalError, RetriableError
from integration.models import Action

__all__ = [
    "ATTACHMENT_CREATE",
    "COMMENT_CREATE",
    "DEFAULT_PRIORITIES",
    "FIND_ISSUES",
    "ISSUE_CREATE",
    "ISSUE_UPDATE",
    "LinearTracker",
    "VIEWER",
    "description_markdown",
]

API_URL = "https://api.linear.app/graphql"
DEFAULT_PRIORITIES = {"critical": 1, "major": 2, "minor": 3}
OPEN_STATES = {"type": {"nin": ["completed", "canceled"]}}
FILED_BY = "Filed by Escalade"

_ISSUE_FIELDS = "id identifier url title description state { name type }"
FIND_ISSUES = f"""
query EscaladeFindIssues($filter: IssueFilter!, $first: Int!) {{
  issues(filter: $filter, first: $first) {{
    nodes {{
      {_ISSUE_FIELDS}
      comments(first: 100) {{ nodes {{ body }} }}
      attachments(first: 100) {{ nodes {{ url }} }}
    }}
  }}
}}
"""
ISSUE_UPDATE = """
mutation EscaladeRetitle($id: String!, $input: IssueUpdateInput!) {
  issueUpdate(id: $id, input: $input) { success }
}
"""
ATTACHMENT_CREATE = """
mutation EscaladeAttachTicket($input: AttachmentCreateInput!) {
  attachmentCreate(input: $input) { success attachment { id url } }
}
"""
ISSUE_CREATE = f"""
mutation EscaladeCreateIssue($input: IssueCreateInput!) {{
  issueCreate(input: $input) {{ success issue {{ {_ISSUE_FIELDS} }} }}
}}
"""
COMMENT_CREATE = """
mutation EscaladeComment($input: CommentCreateInput!) {
  commentCreate(input: $input) { success comment { id url } }
}
"""
VIEWER = "query EscaladeViewer { viewer { id name } }"

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(value: str) -> str:
    """Customer text as literal markdown: no accidental bold, links or headings."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(value.split()))


def _fence(value: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{value.rstrip()}\n{fence}"


def _customer_md(customer: Mapping[str, Any], currency: str) -> str:
    label = _md(customer_line(customer, currency))
    url = customer.get("ticket_url")
    return f"- [{label}]({url})" if url else f"- {label}"


def _bullets(items: Iterable[str]) -> list[str]:
    return [f"- {_md(item)}" for item in items]


def description_markdown(report: BugReport, *, currency: str = "$") -> str:
    """The issue description in markdown; ends with the fingerprint marker line."""
    n, t = report.customer_count, report.ticket_count
    lines = [f"**Severity: {report.severity}** · {n} customer{'s' if n != 1 else ''} affected"
             f" · {t} ticket{'s' if t != 1 else ''}", ""]
    if report.summary.strip():
        lines += [_md(report.summary), ""]

    def section(title: str, body: list[str]) -> None:
        if body:
            lines.extend([f"### {title}", *body, ""])

    more = n - len(report.customers)
    section("Affected customers", [_customer_md(c, currency) for c in report.customers]
            + ([f"- … and {more} more"] if more > 0 else []))
    section("Steps to reproduce (customers' words)",
            [f"{i}. {_md(s)}" for i, s in enumerate(report.steps, 1)])
    section("Environment", _bullets(report.environment))
    section("Error", [_fence(report.error_text)] if report.error_text else [])
    section("Pages", [f"- <{p}>" if p.startswith("http") else f"- {_md(p)}" for p in report.pages])
    section("Frequency", [f"- {day}: {count}" for day, count in sorted(report.frequency.items())])
    section("Tickets", [f"- <{u}>" if u.startswith("http") else f"- {_md(u)}"
                        for u in report.ticket_links])
    lines.append(f"{FILED_BY} · fingerprint `{report.fingerprint}`")
    return "\n".join(lines)


def comment_markdown(
    report: BugReport, fresh: Sequence[Mapping[str, Any]], *, currency: str = "$"
) -> str:
    """The comment for an existing issue: the customers it does not mention yet, and totals."""
    n = len(fresh)
    head = (f"**Escalade: {n} more customer{'s' if n != 1 else ''} affected** "
            f"({report.customer_count} customers, {report.ticket_count} tickets in total; "
            f"severity {report.severity}).")
    lines = [head, "", *(_customer_md(c, currency) for c in fresh), ""]
    for customer in fresh:
        steps = [str(s) for s in customer.get("steps") or () if s]
        if steps:
            ref = customer.get("ticket_key")
            where = f" (ticket {_md(str(ref))})" if ref else ""
            name = _md(str(customer.get("name") or "The customer"))
            lines += [f"{name}, in their own words{where}:", *(f"> {_md(s)}" for s in steps), ""]
    return "\n".join([*lines, f"fingerprint `{report.fingerprint}`"])


def _retry_after(response: requests.Response, now: float) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is not None:
        try:
            return max(float(raw), 0.0)
        except ValueError:
            return None
    reset = response.headers.get("X-RateLimit-Requests-Reset")  # epoch milliseconds
    try:
        return max(float(reset) / 1000.0 - now, 0.0) if reset is not None else None
    except ValueError:
        return None


class LinearTracker(Connector):
    """Linear as Escalade's bug tracker."""

    identifier = "linear"

    def __init__(
        self,
        *,
        config: ConnectorConfig,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(config=config)
        creds, settings = config.credentials, config.settings
        if creds.get("api_key"):
            self._auth = str(creds["api_key"])
        elif creds.get("access_token"):
            self._auth = f"Bearer {creds['access_token']}"
        else:
            raise ConfigurationError("Linear needs credentials.api_key (or access_token)")
        self.team_id = str(settings.get("team_id") or "").strip()
        if not self.team_id:
            raise ConfigurationError("Linear needs settings.team_id, the team to file bugs in")
        label_ids = settings.get("label_ids") or ()
        if isinstance(label_ids, str) or not all(isinstance(x, str) for x in label_ids):
            raise ConfigurationError("Linear setting 'label_ids' must be a list of label ids")
        self.label_ids = tuple(label_ids)
        priorities = settings.get("priorities", DEFAULT_PRIORITIES)
        if not isinstance(priorities, Mapping) or not all(
            isinstance(v, int) and 0 <= v <= 4 for v in priorities.values()
        ):
            raise ConfigurationError("Linear setting 'priorities' must map severity to 0-4")
        self.priorities = dict(priorities)
        self.title_threshold = setting_number(settings, "title_threshold", 0.6, who="Linear")
        self.timeout = setting_number(settings, "timeout_seconds", 10, who="Linear") or 10.0
        self.currency = str(settings.get("currency") or "$")
        self.url = (config.base_url or API_URL).rstrip("/")
        self._http = session or requests.Session()
        self._clock = clock

    # --- the Tracker protocol ----------------------------------------------------------

    def test_connection(self) -> ConnectionCheck:
        """``{ viewer { id name } }``: who the key belongs to."""
        viewer = self.graphql(VIEWER, {}, doing="check the credentials")["viewer"]
        return ConnectionCheck(
            message=f"Linear: connected as {viewer.get('name') or viewer.get('id')}")

    def file_or_update(self, report: BugReport) -> TrackerIssue:
        """Comment on the open issue tracking ``report``, or create one."""
        found = self.find_open_issue(report)
        if found is None:
            return self._create(report)
        comments = ((found.get("comments") or {}).get("nodes")) or ()
        existing = "\n".join([str(found.get("description") or ""),
                              *(str(c.get("body") or "") for c in comments)])
        if retitle(found.get("title"), report.title):
            data = self.graphql(ISSUE_UPDATE, {"id": found["id"], "input": {
                "title": " ".join(report.title.split())}}, doing="rename the issue")
            _require_success(data["issueUpdate"], "rename the issue")
        fresh = new_customers(report, existing)
        if fresh:
            body = comment_markdown(report, fresh, currency=self.currency)
            data = self.graphql(COMMENT_CREATE, {"input": {"issueId": found["id"], "body": body}},
                                doing="comment")
            _require_success(data["commentCreate"], "comment")
        attached = {str(a.get("url")).split("?", 1)[0]
                    for a in (found.get("attachments") or {}).get("nodes") or ()
                    if isinstance(a, Mapping)}
        self._attach(str(found["id"]), [t for t in ticket_links(report) if t.page not in attached])
        return TrackerIssue(key=str(found["identifier"]), url=str(found["url"]), created=False,
                            status=(found.get("state") or {}).get("name"),
                            new_customers=len(fresh))

    def deliver(
        self, ticket_key: str, actions: Sequence[Action], *, uncertain: bool = False
    ) -> ApplyResult:
        """File each ``bug_report`` ALERT action's report; the last issue is the reference.

        ``uncertain`` needs nothing more: filing always looks for the open issue carrying the
        fingerprint first, so a retry finds the issue an interrupted attempt created.
        """
        return deliver_reports(self, actions)

    # --- searching and filing ----------------------------------------------------------

    def find_open_issue(self, report: BugReport) -> Mapping[str, Any] | None:
        """The open issue whose description carries the fingerprint, else the best title match."""
        base = {"team": {"id": {"eq": self.team_id}}, "state": OPEN_STATES}
        by_marker = self._issues({**base, "description": {"contains": report.fingerprint}}, 1)
        if by_marker:
            return by_marker[0]
        candidates = self._issues({**base, "description": {"contains": FILED_BY}}, 50)
        scored = [(title_similarity(report.title, str(c.get("title") or "")), c)
                  for c in candidates]
        scored = [pair for pair in scored if pair[0] >= self.title_threshold]
        return max(scored, key=lambda pair: pair[0])[1] if scored else None

    def create_input(self, report: BugReport) -> dict[str, Any]:
        """The ``IssueCreateInput`` for ``report``."""
        data: dict[str, Any] = {
            "teamId": self.team_id,
            "title": " ".join(report.title.split()),
            "description": description_markdown(report, currency=self.currency),
        }
        if self.label_ids:
            data["labelIds"] = list(self.label_ids)
        if report.severity in self.priorities:
            data["priority"] = self.priorities[report.severity]
        return data

    def _issues(self, issue_filter: Mapping[str, Any], first: int) -> list[Mapping[str, Any]]:
        data = self.graphql(FIND_ISSUES, {"filter": issue_filter, "first": first}, doing="search")
        nodes = (data.get("issues") or {}).get("nodes") or ()
        return [n for n in nodes if isinstance(n, Mapping) and n.get("id")]

    def _create(self, report: BugReport) -> TrackerIssue:
        data = self.graphql(ISSUE_CREATE, {"input": self.create_input(report)},
                            doing="create the issue")
        payload = data["issueCreate"]
        _require_success(payload, "create the issue")
        issue = payload.get("issue") or {}
        self._attach(str(issue["id"]), ticket_links(report))
        return TrackerIssue(key=str(issue["identifier"]), url=str(issue["url"]), created=True,
                            status=(issue.get("state") or {}).get("name"),
                            new_customers=len(report.customers))

    def _attach(self, issue_id: str, links: Sequence[TicketLink]) -> None:
        """Attach helpdesk tickets to the issue (by URL: attaching again changes nothing)."""
        for link in links:
            data: dict[str, Any] = {"issueId": issue_id, "url": link.url, "title": link.title}
            if link.summary:
                data["subtitle"] = link.summary
            result = self.graphql(ATTACHMENT_CREATE, {"input": data}, doing="attach a ticket")
            _require_success(result["attachmentCreate"], "attach a ticket")

    # --- HTTP ------------------------------------------------------------------------------

    def graphql(self, query: str, variables: Mapping[str, Any], *, doing: str) -> dict[str, Any]:
        """POST one document; the ``data`` object, or a typed error."""
        try:
            response = self._http.post(
                self.url,
                json={"query": query, "variables": dict(variables)},
                headers={"Authorization": self._auth, "Content-Type": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as err:
            raise RetriableError(f"linear: {doing} failed: {type(err).__name__}") from err
        try:
            body = response.json()
        except ValueError:
            body = None
        errors = body.get("errors") if isinstance(body, Mapping) else None
        codes = {str((e.get("extensions") or {}).get("code") or "")
                 for e in errors or () if isinstance(e, Mapping)}
        messages = "; ".join(str(e.get("message")) for e in errors or ()
                             if isinstance(e, Mapping)) or response.text[:300]
        message = f"linear: {doing} failed (HTTP {response.status_code}): {messages}"
        if response.status_code == 429 or "RATELIMITED" in codes:
            raise RetriableError(message, retry_after=_retry_after(response, self._clock()))
        if response.status_code >= 500:
            raise RetriableError(message)
        if response.status_code in (401, 403) or "AUTHENTICATION_ERROR" in codes:
            raise FatalError(message + " (check the API key)")
        if errors or response.status_code >= 400 or not isinstance(body, Mapping):
            raise FatalError(message)
        data = body.get("data")
        if not isinstance(data, dict):
            raise FatalError(f"linear: {doing}: response has no data")
        return data


def _require_success(payload: Mapping[str, Any] | None, doing: str) -> None:
    if not payload or not payload.get("success"):
        raise FatalError(f"linear: {doing}: Linear answered success=false")
