"""The README's figures table, regenerated from labeled sets in one command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integration.detect.training.report import (
    END,
    GROUPS,
    NOT_MEASURED,
    START,
    main,
    replace_between_markers,
)
from tests.conftest import make_ticket


def _row(ticket_id: str, tier: int | None, kind: str) -> dict[str, Any]:
    requester = {"id": f"r{ticket_id}", "name": "Dana", "email": f"r{ticket_id}@bigco.example"}
    expected: dict[str, Any] = {"complaint": False}
    if tier is not None:
        expected.update(category="how_to", tier=tier)
    return {**make_ticket(id=ticket_id, requester=requester), "expected": expected, "kind": kind}


def _sets(folder: Path) -> None:
    """Every file the report reads: a how-to (decided Tier 1) labeled 1 or, once, 2."""
    for number, group in enumerate(GROUPS):
        for name in (*group.dev, *group.held_out):
            tier = None if group.posts else (2 if name in group.held_out else 1)
            rows = [_row(f"{number}{name}", tier, "negated" if tier else "question")]
            (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))


def _table(text: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split("|") for line in text.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows}


def test_the_readme_table_is_replaced_between_its_markers(tmp_path: Path) -> None:
    _sets(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nBefore.\n{START}\nold figures\n{END}\nAfter.\n")
    assert main(["--data", str(tmp_path), "--write", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(f"# Title\n\nBefore.\n{START}\n| set |")
    assert text.endswith(f"{END}\nAfter.\n") and "old figures" not in text
    rows = _table(text)
    b2b, others, posts = (len(group.dev) for group in GROUPS)
    assert rows[f"B2B SaaS, development ({b2b} tickets)"] == ["1.00", "0.00", "0.00", "1.00",
                                                             "0.00"]
    assert rows["B2B SaaS, **held out**"][0] == NOT_MEASURED
    assert rows[f"complaint posts, development ({posts} posts)"][:4] == ["—"] * 4
    # Per kind, development only until the final run.
    assert rows["negated"] == ["over", str(b2b + others), "1.00", "0 / 0"]
    assert rows["question"] == [str(posts), "1.00"]


def test_the_final_run_fills_the_held_out_rows(tmp_path: Path) -> None:
    _sets(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"{START}\n{END}\n")
    assert main(["--data", str(tmp_path), "--held-out", "--write", str(readme)]) == 0
    rows = _table(readme.read_text())
    assert rows["other industries, **held out** (1 tickets)"][0] == "0.00"
    dev = len(GROUPS[0].dev) + len(GROUPS[1].dev)
    assert rows["negated"] == ["over", str(dev), "1.00", "0 / 0", "2", "0.00", "0 / 2"]
    assert NOT_MEASURED not in readme.read_text()


def test_a_kind_with_no_held_out_set_has_no_held_out_row(tmp_path: Path) -> None:
    _sets(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"{START}\n{END}\n")
    assert main(["--data", str(tmp_path), "--held-out", "--write", str(readme)]) == 0
    text = readme.read_text()
    for group in GROUPS:
        assert (f"{group.name}, **held out**" in text) is bool(group.held_out), group.name
    assert "come with the final run" not in text


def test_a_readme_without_markers_is_left_alone() -> None:
    with pytest.raises(SystemExit, match="README.md: no <!-- eval-figures:start -->"):
        replace_between_markers("# no markers here\n", "| table |\n", source="README.md")


def test_set_o_is_development_and_set_p_is_held_out() -> None:
    for group in GROUPS:
        assert all("_p." not in name for name in group.dev), group.name
        assert any("_o." in name for name in group.dev), group.name
        assert all("_p." in name for name in group.held_out), group.name
    # Set p has no posts: their row stays unmeasured.
    assert [bool(group.held_out) for group in GROUPS] == [True, True, False]


def test_a_missing_set_is_named(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="b2b_saas.jsonl: cannot read"):
        main(["--data", str(tmp_path)])


def test_a_bad_line_is_named_by_file_line_and_field(tmp_path: Path) -> None:
    _sets(tmp_path)
    path = tmp_path / GROUPS[0].dev[0]
    path.write_text(path.read_text() + json.dumps({**_row("x", 1, "plain"), "kind": 7}) + "\n")
    with pytest.raises(SystemExit, match=r"b2b_saas.jsonl:2: kind: must be a lowercase word"):
        main(["--data", str(tmp_path)])

