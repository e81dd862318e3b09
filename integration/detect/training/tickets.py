"""The labeled development tickets as training examples for the category and complaint models.

``python -m integration.detect.training.train --tickets`` adds them to the project's written
examples: each ticket of the development sets in ``tests/fixtures/eval`` (never the held-out
set) becomes one example, its subject and first customer message as the category model reads
them, labeled with the ticket's expected category and complaint. ``--tickets-except _h`` leaves
a set out, to measure on it what the tickets taught.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from integration.detect.training.report import DATA, GROUPS
from integration.detect.training.textcat import Example_
from integration.errors import ConfigurationError
from integration.models import Category

__all__ = ["development_ticket_files", "ticket_examples"]


def development_ticket_files(*, leave_out: Iterable[str] = ()) -> list[Path]:
    """The development ticket sets (not the complaint posts), less those named in ``leave_out``
    (a suffix such as ``_h``)."""
    skip = tuple(f"{suffix}.jsonl" for suffix in leave_out)
    return [DATA / name for group in GROUPS if not group.posts for name in group.dev
            if not (skip and name.endswith(skip))]


def ticket_examples(paths: Iterable[Path]) -> list[Example_]:
    """One example per labeled ticket: subject and first customer message, its labels."""
    out: list[Example_] = []
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                expected = row["expected"]
                category = expected.get("category")
                if category is None:
                    continue
                first = next((m["body"] for m in row.get("messages", [])
                              if m.get("author") == "customer" and m.get("body", "").strip()), "")
                text = "\n\n".join(part for part in (row.get("subject", ""), first) if part)
                out.append(Example_(text=text, category=Category(category),
                                    complaint=bool(expected.get("complaint")), source="tickets",
                                    domain=path.stem, style=str(row.get("kind", ""))))
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                raise ConfigurationError(f"{path}:{n}: bad labeled ticket: {err}") from err
    return out
