"""The real app served on 127.0.0.1 for a browser, and Debian's chromium under Playwright.

``demo_server()`` serves the app with waitress in a thread on a free port, on a fresh SQLite
database with the demo workspace seeded and an admin created. ``chromium_context()`` starts
the system chromium (``ESCALADE_CHROMIUM``, default ``/usr/bin/chromium``) with a fresh
profile; Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "CHROMIUM_ARGS",
    "MISSING_REASON",
    "DemoServer",
    "browser_missing",
    "chromium_context",
    "chromium_path",
    "demo_server",
    "sidebar_url",
    "sign_in",
    "tier3_tickets",
]

ADMIN_EMAIL = "admin@demo.example"
ADMIN_PASSWORD = "demo-admin-password"
MISSING_REASON = ("install Debian's chromium (apt-get install chromium) and pip install "
                  "playwright; .ci/run does both")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    """The chromium binary to drive."""
    return os.environ.get("ESCALADE_CHROMIUM") or "/usr/bin/chromium"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return MISSING_REASON
    path = chromium_path()
    if not (Path(path).is_file() or shutil.which(path)):
        return MISSING_REASON
    return None


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoServer:
    """A served app: its URL and its runtime (database, cipher) for setting up and checking."""

    url: str
    runtime: Any


@contextmanager
def demo_server(
    *,
    now: Callable[[], datetime] | None = None,
    public_url: str | None = None,
    before_seed: Callable[[Any], None] | None = None,
    var_dir: Path | None = None,
) -> Iterator[DemoServer]:
    """Serve the app with the demo workspace and an admin; stop and clean up afterwards.

    ``now`` fixes the app's clock, ``public_url`` the address it prints and links to,
    ``before_seed(runtime)`` runs on the migrated database before the demo is seeded, and
    ``var_dir`` (a folder that does not exist yet) replaces the temporary one for its files.
    """
    from cryptography.fernet import Fernet
    from waitress.server import create_server

    from integration import store
    from integration.config import load_config
    from integration.demo.seed import seed_demo
    from integration.runtime import Runtime
    from integration.store.people import set_admin
    from integration.web import create_app

    holder: dict[str, Any] = {}

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    # The port is known before the app exists, so PUBLIC_URL can name it.
    server = create_server(wsgi, host="127.0.0.1", port=0, threads=4)
    url = f"http://127.0.0.1:{server.effective_port}"
    with tempfile.TemporaryDirectory(prefix="escalade-browser-") as tmp:
        var = var_dir or Path(tmp) / "var"
        config = load_config(environ={}, overrides={
            "VAR_DIR": var, "DATABASE_URL": f"sqlite:///{var / 'escalade.db'}",
            "SECRET_KEY": Fernet.generate_key().decode(), "WORKERS": 0,
            "LOG_LEVEL": "WARNING", "PUBLIC_URL": public_url or url,
        })
        var.mkdir(parents=True)
        store.upgrade(config["DATABASE_URL"])
        runtime = Runtime(config=config)
        if now is not None:
            # The runtime takes no clock: the shots and flows pin its method to a fixed time.
            runtime.now = now  # type: ignore[method-assign]
        if before_seed is not None:
            before_seed(runtime)
        seed_demo(runtime, corrections=True)
        with store.session_scope(runtime.sessions) as s:
            set_admin(s, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, now=runtime.now())
        holder["app"] = create_app(runtime=runtime)
        thread = threading.Thread(target=server.run, name="waitress-browser", daemon=True)
        thread.start()
        try:
            yield DemoServer(url=url, runtime=runtime)
        finally:
            server.close()
            thread.join(timeout=10)
            runtime.engine.dispose()


@contextmanager
def chromium_context(*, width: int, height: int) -> Iterator[Any]:
    """A Playwright browser context on the system chromium with a fresh profile."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="escalade-chromium-") as profile, \
            sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": width, "height": height}, device_scale_factor=1,
        )
        try:
            yield context
        finally:
            context.close()


def tier3_tickets(runtime: Any) -> list[str]:
    """External ids of the demo workspace's Tier 3 tickets, in id order."""
    from sqlalchemy import select

    from integration import store

    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None, "the demo workspace was not seeded"
        query = (select(store.TicketRow.external_id)
                 .where(store.TicketRow.tenant_id == tenant.id, store.TicketRow.tier == 3)
                 .order_by(store.TicketRow.id))
        return list(s.scalars(query))


def sidebar_url(server: DemoServer, ticket_id: str, *, user: str = "agent-1") -> str:
    """The sidebar page of a demo ticket with a freshly minted sidebar token."""
    from sidebar_ui.auth import SidebarIdentity, issue_sidebar_token

    identity = SidebarIdentity(tenant="demo", helpdesk="sandbox", user=user,
                               ticket_id=ticket_id, via="sidebar_token")
    token = issue_sidebar_token(identity, key=server.runtime.cipher.sign_key("sidebar"),
                                now=server.runtime.now())
    return f"{server.url}/sidebar/sandbox/demo/tickets/{ticket_id}?t={token}"


def sign_in(page: Any, server: DemoServer) -> None:
    """Sign the page's browser in as the demo admin."""
    page.goto(f"{server.url}/admin/login")
    page.fill("#email", ADMIN_EMAIL)
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/admin/")
