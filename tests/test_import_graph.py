"""The shape of the code, read from its imports (ast, nothing imported).

- no import circles between modules (a package importing its own submodules is not one);
- the decision core (models, the detector that runs, matrix, SLA, calendars, routing) and the
  pure modules around it import nothing that does I/O: not the store, pipeline, runtime,
  delivery, web, CLI, scheduler, adapters or UI, nor an I/O library; the detector that runs
  imports none of the training and measurement tools;
- ``sidebar_ui/`` and ``scheduler/`` import no vendor module (a helpdesk or connector adapter,
  a vendor SDK);
- ``adapters/`` import nothing of the app around them (store, runtime, delivery, pipeline,
  web, CLI, scheduler, UI) nor SQLAlchemy: a connector gets stored state through the small
  ports defined beside it, and returns what it created;
- decisions, their SLA state and overrides are written by ``integration.decisions`` alone.

Imports under ``if TYPE_CHECKING:`` count: they are design dependencies too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("integration", "adapters", "sidebar_ui", "scheduler")

CORE = (
    "integration.models",
    "integration.detect",
    "integration.matrix",
    "integration.sla",
    "integration.calendars",
    "integration.routing",
    "integration.account_risk",
    "integration.answer",
)
# Pure helpers around the core: they decide, summarize and enrich, and never reach the edge.
PURE = (
    "integration.decide",
    "integration.clocks",
    "integration.enrich",
    "integration.engagement",
    "integration.summary",
    "integration.llm",
    "integration.second_reading",
    "integration.analytics",
)
TRAINING = "integration.detect.training"
IO_LAYERS = (
    "integration.store",
    "integration.pipeline",
    "integration.runtime",
    "integration.context",
    "integration.decisions",
    "integration.delivery",
    "integration.outbox",
    "integration.worker",
    "integration.scaleout",
    "integration.web",
    "integration.cli",
    "integration.workspaces",
    "adapters",
    "sidebar_ui",
    "scheduler",
)
IO_LIBRARIES = (
    "requests", "urllib.request", "http.client", "socket", "flask", "werkzeug", "sqlalchemy",
    "alembic", "psycopg", "apscheduler", "celery", "redis", "zenpy", "slack_sdk", "slack_bolt",
    "hubspot", "jira",
)
# What the adapters may not reach: they move bytes to and from vendors, and no more.
APP_AROUND_ADAPTERS = (
    "integration.store",
    "integration.runtime",
    "integration.delivery",
    "integration.pipeline",
    "integration.decisions",
    "integration.outbox",
    "integration.worker",
    "integration.web",
    "integration.cli",
    "scheduler",
    "sidebar_ui",
)
VENDORS = ("zendesk", "freshdesk", "intercom", "sandbox", "slack", "hubspot", "jira", "linear")
VENDOR_SDKS = ("zenpy", "slack_sdk", "slack_bolt", "hubspot", "jira")
# What only the decision writer (and the store that defines it) may call.
DECISION_WRITES = frozenset({
    "add_decision", "add_decisions", "decision_values", "save_sla", "transition_sla",
    "add_override",
})
WRITER = "integration.decisions"


@dataclass(frozen=True, slots=True)
class Module:
    """One project module: its dotted name, its file and what it imports."""

    name: str
    path: Path
    imports: frozenset[str]  # every dotted name imported, project or not
    project: frozenset[str]  # the project modules among them


def within(name: str, prefixes: Iterable[str]) -> bool:
    """Whether ``name`` is one of ``prefixes`` or inside one of them."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _files() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts), path


def _imported(name: str, path: Path) -> set[str]:
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name if is_package else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


@cache
def graph() -> dict[str, Module]:
    """Every project module and its imports."""
    files = dict(_files())

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    modules = {}
    for name, path in files.items():
        imports = _imported(name, path)
        project = {r for r in map(resolve, imports) if r is not None and r != name}
        modules[name] = Module(name, path, frozenset(imports), frozenset(project))
    return modules


def circles(modules: dict[str, Module]) -> list[frozenset[str]]:
    """Strongly connected groups of more than one module (Tarjan), but a package and its own
    submodules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in modules[v].project:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            top = min(group, key=len)
            if len(group) > 1 and not all(within(m, (top,)) for m in group):
                found.append(frozenset(group))

    for name in sorted(modules):
        if name not in index:
            visit(name)
    return found


def arrows(sources: Iterable[str], targets: Iterable[str], *, libraries: Iterable[str] = (),
           skip: Iterable[str] = ()) -> list[str]:
    """``a -> b`` for each module in ``sources`` (not in ``skip``) importing one of ``targets``
    or of ``libraries``."""
    modules = graph()
    targets, libraries, skip = tuple(targets), tuple(libraries), tuple(skip)
    bad = []
    for name, module in sorted(modules.items()):
        if not within(name, sources) or within(name, skip):
            continue
        bad += [f"{name} -> {d}" for d in sorted(module.project) if within(d, targets)]
        bad += [f"{name} -> {d}" for d in sorted(module.imports)
                if within(d, libraries) and not within(d, PACKAGES)]
    return sorted(set(bad))


def is_vendor_module(name: str) -> bool:
    """A helpdesk or connector adapter of one vendor, or a vendor's SDK."""
    if within(name, VENDOR_SDKS):
        return True
    parts = name.split(".")
    if parts[:2] not in (["adapters", "helpdesk"], ["adapters", "connectors"]) or len(parts) < 3:
        return False
    return any(parts[2] == v or parts[2].startswith(v + "_") for v in VENDORS)


def test_the_graph_is_read() -> None:
    modules = graph()
    assert {"integration.pipeline", "integration.decisions", "scheduler.jobs",
            "sidebar_ui.override"} <= set(modules)
    assert "integration.store" in modules["integration.decisions"].project


def test_no_import_circles() -> None:
    found = [sorted(c) for c in circles(graph())]
    assert found == []


def test_the_circle_check_finds_a_circle() -> None:
    modules = {
        "a": Module("a", Path("a.py"), frozenset({"b"}), frozenset({"b"})),
        "b": Module("b", Path("b.py"), frozenset({"a"}), frozenset({"a"})),
        "p": Module("p", Path("p/__init__.py"), frozenset({"p.q"}), frozenset({"p.q"})),
        "p.q": Module("p.q", Path("p/q.py"), frozenset({"p"}), frozenset({"p"})),
    }
    assert circles(modules) == [frozenset({"a", "b"})]


def test_the_decision_core_imports_no_io() -> None:
    assert arrows(CORE, IO_LAYERS, libraries=IO_LIBRARIES, skip=(TRAINING,)) == []


def test_the_pure_helpers_import_no_io_layer() -> None:
    assert arrows(PURE, IO_LAYERS) == []


def test_the_detector_that_runs_imports_no_training_tool() -> None:
    assert arrows(CORE, (TRAINING,), skip=(TRAINING,)) == []


@pytest.mark.parametrize("package", ["sidebar_ui", "scheduler"])
def test_ui_and_scheduler_import_no_vendor_module(package: str) -> None:
    bad = sorted(f"{m.name} -> {d}" for m in graph().values() if within(m.name, (package,))
                 for d in m.imports if is_vendor_module(d))
    assert bad == []


def test_adapters_import_nothing_of_the_app_around_them() -> None:
    assert arrows(("adapters",), APP_AROUND_ADAPTERS, libraries=("sqlalchemy",)) == []


def test_vendor_modules_are_recognised() -> None:
    assert is_vendor_module("adapters.helpdesk.zendesk.client")
    assert is_vendor_module("adapters.connectors.slack.blocks")
    assert is_vendor_module("adapters.connectors.jira")
    assert is_vendor_module("zenpy.lib.api")
    assert not is_vendor_module("adapters.helpdesk.base")
    assert not is_vendor_module("adapters.connectors.registry")
    assert not is_vendor_module("integration.web.slack_actions")


def test_only_the_decision_writer_writes_decisions() -> None:
    bad = []
    for module in graph().values():
        if module.name == WRITER or within(module.name, ("integration.store",)):
            continue
        tree = ast.parse(module.path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                used = node.attr
            elif isinstance(node, ast.Name):
                used = node.id
            elif isinstance(node, ast.alias):
                used = node.name.rpartition(".")[2]
            else:
                continue
            if used in DECISION_WRITES:
                bad.append(f"{module.name}:{getattr(node, 'lineno', '?')}: {used}")
    assert bad == []
