"""``escalade kb sync | import | list``: what an admin types and reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integration import store
from integration.cli.root import main
from integration.store.knowledge import knowledge_docs, knowledge_version


@pytest.fixture
def cli_env(runtime: Any, app_config: dict[str, Any],
            monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The CLI on the test database, with a sandbox workspace ``demo`` in it."""
    monkeypatch.setenv("ESCALADE_DATABASE_URL", app_config["DATABASE_URL"])
    monkeypatch.setenv("ESCALADE_VAR_DIR", str(app_config["VAR_DIR"]))
    monkeypatch.setenv("ESCALADE_SECRET_KEY", app_config["SECRET_KEY"])
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="demo", name="Demo", helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": "s" * 32}, settings={},
                         cipher=runtime.cipher)
    return app_config


def _write(path: Path, rows: list[Any]) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
                    encoding="utf-8")
    return str(path)


def _stored(runtime: Any) -> tuple[list[str], int]:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        return sorted(d.id for d in knowledge_docs(s, tenant.id)), knowledge_version(s, tenant.id)


GOOD = [{"id": "faq-1", "kind": "article", "title": "Office hours", "body": "9 to 6",
         "url": "https://help.example.com/faq-1", "section": "General", "locale": "en"},
        {"id": 7, "kind": "macro", "title": "Thanks", "body": "Thanks, {{name}}!"}]


def test_sync_prints_what_changed(cli_env: dict[str, Any]) -> None:
    runner = CliRunner()

    first = runner.invoke(main, ["kb", "sync", "--tenant", "demo"])
    second = runner.invoke(main, ["kb", "sync", "--tenant", "demo"])

    assert first.exit_code == 0, first.output
    assert first.stdout == ("demo: knowledge synced from sandbox: 26 added, 0 changed, "
                            "0 removed, 0 unchanged\n")
    assert second.stdout == ("demo: knowledge synced from sandbox: 0 added, 0 changed, "
                             "0 removed, 26 unchanged\n")


def test_import_stores_a_good_file_and_a_second_import_replaces_it(
    cli_env: dict[str, Any], runtime: Any, tmp_path: Path,
) -> None:
    runner = CliRunner()
    path = _write(tmp_path / "kb.jsonl", [GOOD[0], "", GOOD[1]])

    result = runner.invoke(main, ["kb", "import", path, "--tenant", "demo"])

    assert result.exit_code == 0, result.output
    assert result.stdout == (f"demo: imported 2 documents from {path}: 2 added, 0 changed, "
                             "0 removed, 0 unchanged\n")
    assert _stored(runtime)[0] == ["7", "faq-1"]
    smaller = _write(tmp_path / "smaller.jsonl", [GOOD[0]])
    # One workspace only: --tenant may be left out.
    again = runner.invoke(main, ["kb", "import", smaller])
    assert again.stdout.endswith("0 added, 0 changed, 1 removed, 1 unchanged\n")
    assert _stored(runtime)[0] == ["faq-1"]


@pytest.mark.parametrize(("bad", "said"), [
    ({"id": "x", "kind": "faq", "title": "T", "body": "B"},
     "line 2: kind: 'faq' is not one of: article, macro"),
    ({"id": "x", "kind": "article", "title": "  ", "body": "B"},
     "line 2: title: is required and must be a non-empty string"),
    ({"id": "x", "kind": "article", "title": "T", "body": "B", "url": 5},
     "line 2: url: expected a string"),
    ("{not json", "line 2: line: not valid JSON"),
    (GOOD[0], "line 2: id: 'faq-1' is already the id of the article on line 1"),
])
def test_a_bad_line_imports_nothing_and_names_file_line_and_field(
    cli_env: dict[str, Any], runtime: Any, tmp_path: Path, bad: Any, said: str,
) -> None:
    before = _stored(runtime)
    path = _write(tmp_path / "bad.jsonl", [GOOD[0], bad, GOOD[1]])

    result = CliRunner().invoke(main, ["kb", "import", path, "--tenant", "demo"])

    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}: {said}")
    assert result.stderr.count("\n") == 1
    assert _stored(runtime) == before


def test_a_wrong_tenant_is_one_clear_line(cli_env: dict[str, Any], tmp_path: Path) -> None:
    runner = CliRunner()
    path = _write(tmp_path / "kb.jsonl", [GOOD[0]])
    for args in (["kb", "sync", "--tenant", "nope"], ["kb", "list", "--tenant", "nope"],
                 ["kb", "import", path, "--tenant", "nope"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, args
        assert result.stderr == ("Error: --tenant: no tenant 'nope' (see `escalade tenant "
                                 "list`)\n")


def test_list_shows_counts_the_last_sync_and_a_row_per_document(cli_env: dict[str, Any],
                                                                 tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(main, ["kb", "list", "--tenant", "demo"])
    runner.invoke(main, ["kb", "sync", "--tenant", "demo"])
    runner.invoke(main, ["kb", "import", _write(tmp_path / "kb.jsonl", GOOD)])

    listed = runner.invoke(main, ["kb", "list", "--tenant", "demo"])

    assert empty.stdout == "demo: 0 articles, 0 macros; last synced never\n"
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("demo: 22 articles, 6 macros; last synced ")
    assert lines[1].split() == ["source", "kind", "id", "title"]
    assert len(lines) == 2 + 28
    assert any(line.split()[:3] == ["import", "article", "faq-1"] and "[General]" in line
               for line in lines)
    assert any(line.split()[:3] == ["sandbox", "macro", "mac-1"] for line in lines)
