"""Views render, repositories query: no page, endpoint or command builds SQL itself.

Every module of the pages (``sidebar_ui``), the web endpoints (``integration/web``) and the
``escalade`` command (``integration/cli``) is read with ``ast``: none may import SQLAlchemy's
statement builders (``select``, ``update``, ``delete``, ``insert``, ...) or run a statement
on a session (``.execute``, ``.query``, ``.scalars``, ``.scalar``, ``s.get(SomeRow, ...)``).
What they need to know comes from a function in ``integration/store``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VIEW_PACKAGES = ("sidebar_ui", "integration/web", "integration/cli")

# SQLAlchemy's statement builders: a module that imports one is writing a query.
BUILDERS = frozenset({
    "select", "update", "delete", "insert", "text", "func", "and_", "or_", "not_", "case",
    "exists", "literal", "literal_column", "column", "table", "union", "union_all",
})
# Session (and Connection) methods that run a statement.
RUNNERS = frozenset({"execute", "query", "scalars", "scalar"})
# Session methods that write rows; ``s`` / ``session`` is what a view calls its session.
WRITERS = frozenset({"add", "add_all", "delete", "merge"})
SESSION_NAMES = frozenset({"s", "session", "db_session"})


def problems(source: str, where: str) -> list[str]:
    """Every place in ``source`` where a view builds or runs a query itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{line}: imports {a.name}" for a in node.names
                      if a.name == "sqlalchemy" or a.name.startswith("sqlalchemy.sql")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [f"{line}: imports {a.name} from {node.module}" for a in node.names
                      if a.name in BUILDERS]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, receiver = node.func.attr, node.func.value
            if name in RUNNERS:
                found.append(f"{line}: runs .{name}(...)")
            elif (name in WRITERS and isinstance(receiver, ast.Name)
                  and receiver.id in SESSION_NAMES):
                found.append(f"{line}: {receiver.id}.{name}(...) writes a row")
            elif name == "get" and node.args and _row_class(node.args[0]):
                found.append(f"{line}: reads a row by key (.get of a Row class)")
    return found


def _row_class(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return isinstance(name, str) and name.endswith("Row")


def _view_modules() -> list[Path]:
    return sorted(p for package in VIEW_PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_there_are_view_modules_to_check() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _view_modules()}
    assert {"sidebar_ui/pages.py", "sidebar_ui/admin/outbox_view.py",
            "integration/web/helpdesk_webhooks.py", "integration/cli/admin.py"} <= names


@pytest.mark.parametrize("path", _view_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_views_ask_the_store_and_build_no_query(path: Path) -> None:
    where = path.relative_to(ROOT).as_posix()
    assert problems(path.read_text(encoding="utf-8"), where) == [], (
        "queries belong in integration/store: add a repository function there and call it")


@pytest.mark.parametrize("source", [
    "from sqlalchemy import select\n",
    "from sqlalchemy import func, update\n",
    "import sqlalchemy\n",
    "rows = s.scalars(query).all()\n",
    "s.execute(statement)\n",
    "count = session.query(TenantRow).count()\n",
    "row = s.get(TenantRow, 3)\n",
    "row = s.get(store.OutboxRow, 3)\n",
    "s.add(row)\n",
    "session.delete(row)\n",
])
def test_the_check_catches_a_query_written_in_a_view(source: str) -> None:
    assert problems(source, "view.py")


@pytest.mark.parametrize("source", [
    "from sqlalchemy.orm import Session\n",
    "from sqlalchemy.exc import OperationalError\n",
    "value = request.args.get('tier')\n",
    "name = settings.get('name', 'x')\n",
    "tenant = store.get_tenant(s, slug)\n",
    "s.expunge(tenant)\n",
    "errors.add('tier')\n",
])
def test_the_check_lets_views_call_the_store(source: str) -> None:
    assert problems(source, "view.py") == []
