"""Measure: how many tickets the second reading would send, and how right the rest already are.

Prints one JSON object, per development evaluation file (the ones the detection report counts
as development; the held-out files are never opened): tickets, how many the local reader is
unsure about at the default ``unsure_below`` (so a tenant with ``second_reading`` would send
them), the local category's accuracy on the sure and the unsure ones (the measure is worth its
cost only if the unsure ones are wrong more often), and the average length of the question sent.
No model is called.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from integration.decide import build_detector  # noqa: E402
from integration.detect.training.report import GROUPS  # noqa: E402
from integration.llm import LlmSettings, redact  # noqa: E402
from integration.matrix import default_matrix  # noqa: E402
from integration.models import Ticket  # noqa: E402
from integration.second_reading import doubts  # noqa: E402

EVAL = ROOT / "tests" / "fixtures" / "eval"


def development_files() -> list[Path]:
    """The evaluation files development may read (never the held-out ones)."""
    return sorted(EVAL / name for group in GROUPS for name in group.dev)


def measure(path: Path, unsure_below: float) -> dict[str, Any]:
    """Counts and accuracies for one file."""
    detector = build_detector(default_matrix())
    # per band: tickets, tickets with a labelled category, right among those
    counts = {"sure": [0, 0, 0], "unsure": [0, 0, 0]}
    sent_chars = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        ticket = Ticket.from_dict(data)
        signals = detector.detect(ticket)
        band = "unsure" if doubts(signals, unsure_below=unsure_below) else "sure"
        expected = (data.get("expected") or {}).get("category")
        counts[band][0] += 1
        counts[band][1] += int(expected is not None)
        counts[band][2] += int(signals.category.value == expected)
        if band == "unsure":
            sent_chars += len(redact(ticket.subject + "".join(
                m.body for m in ticket.customer_messages)))
    unsure = counts["unsure"][0]
    return {
        "tickets": unsure + counts["sure"][0],
        "sent": unsure,
        "sure_category_right": _share(counts["sure"]),
        "unsure_category_right": _share(counts["unsure"]),
        "avg_ticket_chars_sent": round(sent_chars / max(1, unsure)),
    }


def _share(band: list[int]) -> float | None:
    return round(band[2] / band[1], 3) if band[1] else None


def main() -> None:
    """Print the measurement as one JSON object."""
    unsure_below = LlmSettings(model="-").unsure_below
    print(json.dumps({"unsure_below": unsure_below,
                      "files": {p.name: measure(p, unsure_below) for p in development_files()}}))


if __name__ == "__main__":
    main()
