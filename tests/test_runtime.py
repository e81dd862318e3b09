"""The runtime's adapters: one per tenant, never sharing credentials, rebuilt on change."""

from __future__ import annotations

import base64
from typing import Any

import responses

from integration import store
from tests import recorded
from tests.adapters.test_zendesk import load


def _tenant(runtime: Any, slug: str, email: str, token: str) -> store.TenantRow:
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug=slug, name=slug, helpdesk="zendesk",
                         base_url=f"https://{slug}.zendesk.com",
                         secrets={"email": email, "api_token": token, "webhook_secret": "w" * 20},
                         settings={}, cipher=runtime.cipher)
    with store.session_scope(runtime.sessions) as s:
        row = store.get_tenant(s, slug)
        assert row is not None
        s.expunge(row)
        return row


def test_each_tenant_calls_with_its_own_credentials(runtime: Any) -> None:
    acme = _tenant(runtime, "acme", "a@acme.example", "token-a")
    globex = _tenant(runtime, "globex", "g@globex.example", "token-g")
    with responses.RequestsMock() as rsps:
        for slug in ("acme", "globex"):
            rsps.get(f"https://{slug}.zendesk.com/api/v2/tickets/4711.json",
                     json=load("ticket_show.json"))
            rsps.get(f"https://{slug}.zendesk.com/api/v2/tickets/4711/comments.json",
                     json={"comments": [], "users": [], "meta": {"has_more": False}})
        runtime.adapter_for(acme).fetch_ticket("4711")
        runtime.adapter_for(globex).fetch_ticket("4711")
        runtime.adapter_for(acme).fetch_ticket("4711")
        seen: dict[str, set[str]] = {}
        for call in rsps.calls:
            host = recorded.url(call.request).split("/")[2].split(".")[0]
            user = base64.b64decode(call.request.headers["Authorization"].split()[1]).decode()
            seen.setdefault(host, set()).add(user)
    assert seen == {"acme": {"a@acme.example/token:token-a"},
                    "globex": {"g@globex.example/token:token-g"}}


def test_adapter_is_rebuilt_when_settings_change(runtime: Any) -> None:
    acme = _tenant(runtime, "acme", "a@acme.example", "token-a")
    first = runtime.adapter_for(acme)
    assert runtime.adapter_for(acme) is first
    with store.session_scope(runtime.sessions) as s:
        row = store.get_tenant(s, "acme")
        assert row is not None
        store.update_tenant(s, row, cipher=runtime.cipher, settings={"tier_field_id": 99})
    with store.session_scope(runtime.sessions) as s:
        changed = store.get_tenant(s, "acme")
        s.expunge(changed)
    rebuilt = runtime.adapter_for(changed)
    assert rebuilt is not first
    assert rebuilt.config.options["tier_field_id"] == 99


def test_the_matrix_in_force_names_its_file_and_text(runtime: Any, tmp_path: Any) -> None:
    from integration.matrix.loader import DEFAULT_PATH

    runtime.config.pop("MATRIX_PATH", None)
    assert runtime.matrix_path == DEFAULT_PATH
    assert runtime.matrix_text() == DEFAULT_PATH.read_text(encoding="utf-8")
    mine = tmp_path / "mine.yaml"
    mine.write_text("version: 7\n", encoding="utf-8")
    runtime.config["MATRIX_PATH"] = str(mine)
    assert (runtime.matrix_path, runtime.matrix_text()) == (mine, "version: 7\n")
    runtime.config["MATRIX_PATH"] = str(tmp_path / "gone.yaml")
    assert runtime.matrix_text() is None
