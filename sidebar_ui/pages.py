"""The start page: tickets with their tier, their story, and exactly what was written back.

Filters (tier, status, helpdesk, category), a search (ticket id, subject, account,
requester) and pages of ``PAGE_SIZE`` go to the store as queries (``store.ticket_page`` and
``store.ticket_stories``: four queries a page, whatever the number of tickets). Each row
shows the ticket's timeline (``timeline_view.build_timeline``), its SLA due time in the
tenant's business time zone, its account's ARR in the tenant's currency, and a link to the
ticket in its helpdesk (the sandbox has none: its link opens the agent sidebar). Only the demo
workspace is public; real helpdesks' tickets need a signed-in admin. A visitor's sidebar links
carry a token only for the demo's tickets; a signed-in admin's open the other sandbox
workspaces too. The page gets the site-wide security headers (``sidebar_ui.headers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from integration import store
from integration.calendars import format_local
from integration.demo import DEMO_TENANT
from integration.demo.timing import SCENES
from integration.errors import ConfigurationError
from integration.models import Category, Status
from integration.runtime import Runtime
from sidebar_ui.admin.core import current_admin
from sidebar_ui.auth import (
    ADMIN_PROOF,
    DEMO_PROOF,
    SidebarIdentity,
    is_demo,
    issue_sidebar_token,
    opens_for_admins,
)
from sidebar_ui.dashboard_links import describe, narrowing_filter, read_narrowing
from sidebar_ui.sidebar_view import currency_of, format_money
from sidebar_ui.timeline_view import TimelineView, build_timeline

__all__ = ["PAGE_SIZE", "ListQuery", "RowView", "bp", "parse_list_query"]

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/ui-static")

PAGE_SIZE = 50
MAX_SEARCH = 200
TIER_CHOICES = (("3", "Tier 3"), ("2", "Tier 2"), ("1", "Tier 1"),
                ("none", "Not decided (imported history)"))
STATUS_CHOICES = tuple(st.value for st in Status)
HELPDESK_CHOICES = tuple(h.value for h in store.HelpdeskKind)
CATEGORY_CHOICES = tuple(c.value for c in Category)
# Stored states that are final for the due time they were set for; others are read live.
_FINAL_STATES = frozenset({"breached", "promoted", "paused", "done"})


@dataclass(frozen=True, kw_only=True, slots=True)
class ListQuery:
    """What the visitor asked the list for; empty strings mean "any"."""

    tier: str = ""
    status: str = ""
    helpdesk: str = ""
    category: str = ""
    q: str = ""
    page: int = 1
    # From a dashboard number: the tickets behind it (``sidebar_ui.dashboard_links``).
    narrow: tuple[tuple[str, str], ...] = ()

    def args(self, **changes: Any) -> dict[str, Any]:
        """The query string of this list (with ``changes``), without empty values."""
        values = {"tier": self.tier, "status": self.status, "helpdesk": self.helpdesk,
                  "category": self.category, "q": self.q, "page": self.page, **dict(self.narrow),
                  **changes}
        return {k: v for k, v in values.items()
                if v not in ("", None) and not (k == "page" and v == 1)}

    @property
    def filtered(self) -> bool:
        """True when any filter or search narrows the list."""
        return any((self.tier, self.status, self.helpdesk, self.category, self.q, self.narrow))


@dataclass(frozen=True, kw_only=True, slots=True)
class RowView:
    """One ticket of the list, ready to print."""

    tenant: str
    helpdesk: str
    id: str
    subject: str
    requester: str | None
    account: str | None
    plan: str | None
    arr: str | None
    status: str
    tier: int | None
    priority: str | None
    category: str | None
    sla_state: str | None
    due: str | None
    link: str | None
    link_label: str | None
    external: bool  # the link leaves Escalade (the helpdesk), so it opens a new tab
    staged: str | None
    timeline: TimelineView


def parse_list_query(
    args: MultiDict[str, str] | Mapping[str, str],
) -> tuple[ListQuery, dict[str, str]]:
    """The list query from the URL, or what is wrong with it, field by field."""
    errors: dict[str, str] = {}

    def choice(name: str, allowed: tuple[str, ...]) -> str:
        value = (args.get(name) or "").strip()
        if value and value not in allowed:
            errors[name] = f"{value!r} is not one of {', '.join(allowed)}"
            return ""
        return value

    tier = choice("tier", tuple(v for v, _ in TIER_CHOICES))
    status = choice("status", STATUS_CHOICES)
    helpdesk = choice("helpdesk", HELPDESK_CHOICES)
    category = choice("category", CATEGORY_CHOICES)
    q = " ".join((args.get("q") or "").split())
    if len(q) > MAX_SEARCH:
        errors["q"] = f"search for at most {MAX_SEARCH} characters"
        q = ""
    raw_page = (args.get("page") or "1").strip()
    page = int(raw_page) if raw_page.isdigit() else 0
    if page < 1:
        errors["page"] = f"expected a page number from 1, got {raw_page!r}"
        page = 1
    narrow, wrong = read_narrowing(args)
    errors.update(wrong)
    return ListQuery(tier=tier, status=status, helpdesk=helpdesk, category=category, q=q,
                     page=page, narrow=narrow), errors


@bp.get("/")
def index() -> tuple[str, int]:
    """The ticket list: filtered, searched, a page at a time."""
    runtime = current_app.extensions["escalade"]
    assert isinstance(runtime, Runtime)
    admin = current_admin()
    query, errors = parse_list_query(request.args)
    with store.session_scope(runtime.sessions) as s:
        tenants = {t.id: t for t in store.list_tenants(s)}
        for tenant in tenants.values():
            s.expunge(tenant)
        # Real customers' tickets only for a signed-in admin; the demo workspace for anyone.
        visible = None if admin else tuple(i for i, t in tenants.items()
                                           if is_demo(t.slug, t.helpdesk))
        listing = _listing(s, runtime, tenants, visible, query, errors, admin=admin)
    return render_template(
        "index.html", matrix_version=runtime.matrix.version, admin=admin, query=query,
        errors=errors, tier_choices=TIER_CHOICES, status_choices=STATUS_CHOICES,
        helpdesk_choices=HELPDESK_CHOICES, category_choices=CATEGORY_CHOICES,
        page_size=PAGE_SIZE, narrowed=describe(query.narrow), **listing,
    ), 400 if errors else 200


def _listing(
    s: Any,
    runtime: Runtime,
    tenants: Mapping[int, store.TenantRow],
    visible: tuple[int, ...] | None,
    query: ListQuery,
    errors: Mapping[str, str],
    *,
    admin: str | None,
) -> dict[str, Any]:
    if errors:
        return {"rows": [], "total": 0, "first": 0, "last": 0, "pages": 0, "counts": {}}
    tier = (None if not query.tier else store.UNDECIDED if query.tier == "none"
            else int(query.tier))
    facts = narrowing_filter(query.narrow, tenants={t.slug: i for i, t in tenants.items()},
                             visible=visible)
    filters = store.TicketFilter(
        tenant_ids=visible, tier=tier, status=query.status or None,
        helpdesk=query.helpdesk or None, category=query.category or None, search=query.q or None,
        facts=facts,
    )
    page = store.ticket_page(s, filters, offset=(query.page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-page.total // PAGE_SIZE))
    if query.page > pages and page.total:
        # Past the end (the list shrank since the link was made): show the last page.
        page = store.ticket_page(s, filters, offset=(pages - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    stories = store.ticket_stories(s, [r.id for r in page.rows])
    now = runtime.now()
    rows = [_row(runtime, tenants[r.tenant_id], r, stories.get(r.id, store.Story()), now=now,
                 admin=admin) for r in page.rows]
    first = page.offset + 1 if rows else 0
    return {"rows": rows, "total": page.total, "first": first,
            "last": page.offset + len(rows), "pages": pages,
            "current": page.offset // PAGE_SIZE + 1, "counts": page.tier_counts}


def _row(
    runtime: Runtime, tenant: store.TenantRow, row: store.TicketRow, story: store.Story, *,
    now: datetime, admin: str | None,
) -> RowView:
    data: Mapping[str, Any] = row.data or {}
    account = data.get("account") or {}
    requester = data.get("requester") or {}
    zone = runtime.matrix_for(tenant).display_zone
    state, due = _sla(row, now=now)
    link, label = _link(runtime, tenant, row, now=now, admin=admin)
    staged = SCENES.get(row.external_id) if tenant.slug == DEMO_TENANT else None
    return RowView(
        tenant=tenant.slug, helpdesk=row.helpdesk, id=row.external_id,
        subject=str(data.get("subject") or ""),
        requester=requester.get("name") or requester.get("email"),
        account=account.get("name"), plan=account.get("plan"),
        arr=format_money(account.get("arr"), currency_of(tenant.settings)),
        status=row.status, tier=row.tier, priority=row.priority, category=row.category,
        sla_state=state, due=format_local(due, zone) if due is not None else None,
        link=link, link_label=label, external=link is not None and "://" in link,
        staged=staged.shows if staged is not None else None,
        timeline=build_timeline(row.tier, story.decisions, story.writes, zone=zone,
                                earlier=story.earlier),
    )


def _sla(row: store.TicketRow, *, now: datetime) -> tuple[str | None, datetime | None]:
    """The SLA state as of ``now`` and the due time while a clock runs."""
    state, due, warn = row.sla_state, row.sla_due_at, row.sla_warn_at
    if state is None:
        return None, None
    # The sweep acts every few seconds; the page reads the clock rather than lag behind it.
    if state not in _FINAL_STATES and due is not None:
        if now >= due:
            state = "breached"
        elif warn is not None and now >= warn:
            state = "warning"
    return state, due if state not in ("paused", "done") else None


def _link(
    runtime: Runtime, tenant: store.TenantRow, row: store.TicketRow, *, now: datetime,
    admin: str | None,
) -> tuple[str | None, str | None]:
    """The ticket in its helpdesk; a sandbox ticket's agent sidebar, as a helpdesk shows it.

    The sidebar link's token is the visitor's only proof: anyone gets one for the demo's
    tickets, only a signed-in admin for another sandbox workspace's.
    """
    try:
        url = runtime.adapter_for(tenant).ticket_url(row.external_id)
    except ConfigurationError:
        url = None
    if url:
        return url, f"open in {row.helpdesk}"
    if not opens_for_admins(row.helpdesk):
        return None, None
    if is_demo(tenant.slug, tenant.helpdesk):
        identity = SidebarIdentity(tenant=tenant.slug, helpdesk=row.helpdesk,
                                   user="demo-agent", ticket_id=row.external_id, via=DEMO_PROOF)
    elif admin is not None:
        identity = SidebarIdentity(tenant=tenant.slug, helpdesk=row.helpdesk, user=admin,
                                   ticket_id=row.external_id, via=ADMIN_PROOF)
    else:
        return None, None
    token = issue_sidebar_token(identity, key=runtime.cipher.sign_key("sidebar"), now=now)
    return url_for("sidebar.ticket_page", helpdesk=row.helpdesk, tenant=tenant.slug,
                   ticket_id=row.external_id, t=token), "open the agent sidebar"
