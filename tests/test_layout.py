"""Functions read top to bottom: none in the application's packages runs past 60 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("integration", "adapters", "sidebar_ui", "scheduler")
MAX_LINES = 60
# Alembic migrations are a record of the schema's history, written once and never re-read.
EXEMPT = ("integration/store/migrations/",)
# "path::qualified name" -> why splitting it would read worse. Keep this short.
ALLOWED: dict[str, str] = {}


def long_functions(source: str, *, limit: int = MAX_LINES) -> list[tuple[str, int]]:
    """Qualified names and lengths of the functions in ``source`` longer than ``limit``."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                assert child.end_lineno is not None
                length = child.end_lineno - child.lineno + 1
                if length > limit:
                    found.append((name, length))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def _modules() -> list[Path]:
    paths = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    return [p for p in paths if not p.relative_to(ROOT).as_posix().startswith(EXEMPT)]


def test_no_function_runs_past_sixty_lines() -> None:
    too_long = [
        f"{path.relative_to(ROOT).as_posix()}::{name} ({length} lines)"
        for path in _modules()
        for name, length in long_functions(path.read_text(encoding="utf-8"))
        if f"{path.relative_to(ROOT).as_posix()}::{name}" not in ALLOWED
    ]
    assert not too_long, "split these into steps named for what they do:\n" + "\n".join(too_long)


def test_every_allowed_long_function_still_exists_and_says_why() -> None:
    for key, reason in ALLOWED.items():
        path, name = key.split("::")
        assert reason.strip(), f"{key}: say why it stays long"
        names = [n for n, _ in long_functions((ROOT / path).read_text(encoding="utf-8"))]
        assert name in names, f"{key} is no longer long: drop it from ALLOWED"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [(MAX_LINES, []), (MAX_LINES + 1, [("Outer.method", MAX_LINES + 1)])],
)
def test_the_check_counts_a_method_from_def_to_its_last_line(
    lines: int, expected: list[tuple[str, int]]
) -> None:
    body = "".join(f"        x{i} = {i}\n" for i in range(lines - 1))
    assert long_functions(f"class Outer:\n    def method(self):\n{body}") == expected


def test_the_check_sees_the_migrations_exempt_and_everything_else_walked() -> None:
    walked = {p.relative_to(ROOT).as_posix() for p in _modules()}
    assert "integration/backfill.py" in walked
    assert "scheduler/jobs.py" in walked
    assert not any(p.startswith("integration/store/migrations/") for p in walked)
