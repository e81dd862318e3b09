"""What users read never cites our internal documents or capability ids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Internal planning documents and capability ids ("M2.3") mean nothing to an admin or agent.
INTERNAL = re.compile(r"\b(?:MISSION|DESIGN|STYLE)\.md\b|\bM[1-7]\.[0-9]\b|\(M[1-7]\)")
USER_FACING = [
    "README.md",
    "integration/matrix/default.yaml",
    "manifest.json",
    "docs/**/*.md",
    "sidebar_ui/**/*.html",
    "sidebar_ui/**/*.js",
    "sidebar_ui/**/translations/*.json",
    "sidebar_ui/freshdesk/**/*.json",
]


def _files() -> list[Path]:
    found: set[Path] = set()
    for pattern in USER_FACING:
        found.update(p for p in ROOT.glob(pattern) if "vendor" not in p.parts)
    return sorted(found)


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_user_facing_text_cites_no_internal_document(path: Path) -> None:
    """Pages, the matrix shown in the editor, the README and the guides speak the user's words."""
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if INTERNAL.search(line)
    ]
    assert not hits, "\n".join(hits)


def test_the_check_catches_a_capability_id() -> None:
    """The pattern itself finds what it is meant to find, and spares ordinary words."""
    assert INTERNAL.search("# Page-aware context (M3.4): the page")
    assert INTERNAL.search("policy from MISSION.md")
    assert INTERNAL.search("Bugs from tickets (M5): grouped")
    assert not INTERNAL.search("an M4 bolt, 12 MB, M-Files")
