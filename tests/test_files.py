"""Files written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.files import write_whole


def test_writes_the_text_and_replaces_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.json"
    write_whole(target, "one")
    write_whole(target, "two ✓")
    assert target.read_text(encoding="utf-8") == "two ✓"
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # a directory where the file should go: the rename fails
    with pytest.raises(OSError):
        write_whole(target, "text")
    assert target.is_dir() and list(tmp_path.iterdir()) == [target]
