"""Convert the GitBugs Hadoop reports into normalized tickets and a pairs file for bugs eval.

``python -m integration.bugs.gitbugs OUT.jsonl [--split train|test|all] [--data DIR]``

The data is read in place from ``../shared/data/gitbugs-hadoop`` (CC BY 4.0; Patil, "GitBugs:
Bug Reports for Duplicate Detection, ...", arXiv:2504.09651) and never copied into the
project. Every report becomes one ticket whose single customer message is the summary and
the description; the split only chooses which duplicate links go into the pairs file
(``OUT-pairs.csv`` unless ``--pairs-out`` says otherwise).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from integration.errors import ValidationError
from integration.models import format_time

__all__ = ["DATA_DIR", "SPLITS", "convert", "main", "read_pairs", "to_ticket"]

DATA_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "gitbugs-hadoop"
SPLITS = {"train": "hadoop_bugs-train.csv", "test": "hadoop_bugs-test.csv",
          "all": "hadoop_bugs-combined.csv"}
_STATUS = {"resolved": "solved", "closed": "closed", "open": "open", "reopened": "open",
           "in progress": "open", "patch available": "pending"}
_PRIORITY = {"blocker": "urgent", "critical": "high", "major": "normal", "minor": "low",
             "trivial": "low"}


def _time(value: str, field: str, line: int) -> str:
    try:
        return format_time(datetime.strptime(value.strip(), "%d/%b/%y %H:%M").replace(tzinfo=UTC))
    except ValueError as err:
        raise ValidationError(field, f"not a dd/Mon/yy HH:MM time: {value!r}", line=line) from err


def to_ticket(row: Mapping[str, str], line: int) -> dict[str, Any]:
    """One CSV row as a normalized ticket (wire format)."""
    rid = (row.get("Issue id") or "").strip()
    if not rid:
        raise ValidationError("Issue id", "is required", line=line)
    created = _time(row.get("Created") or "", "Created", line)
    resolved = (row.get("Resolved") or "").strip()
    summary = (row.get("Summary") or "").strip()
    description = (row.get("Description") or "").strip()
    body = f"{summary}\n\n{description}" if description else summary
    custom = {
        k: v
        for k, v in (
            ("resolution", (row.get("Resolution") or "").strip()),
            ("affects_versions", (row.get("Affects Version/s") or "").strip()),
            ("jira_status", (row.get("Status") or "").strip()),
        )
        if v
    }
    return {
        "tenant": "gitbugs",
        "helpdesk": "jira-import",
        "id": rid,
        "subject": summary,
        "status": _STATUS.get((row.get("Status") or "").strip().lower(), "open"),
        "priority": _PRIORITY.get((row.get("Priority") or "").strip().lower(), "normal"),
        "channel": "web",
        "created_at": created,
        "updated_at": _time(resolved, "Resolved", line) if resolved else created,
        "requester": {"id": f"jira-reporter-{rid}", "email": None, "name": None},
        "messages": [{"id": f"{rid}-1", "author": "customer", "public": True, "body": body,
                      "created_at": created}],
        "tags": ["gitbugs"],
        "custom": custom,
    }


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """Unique duplicate pairs of a split file (``Issue id,Duplicate id``), in file order."""
    seen: dict[tuple[str, str], None] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            a = (row.get("Issue id") or "").strip()
            # One report can name several duplicates: "13547000, 13396667".
            for b in (row.get("Duplicate id") or "").split(","):
                b = b.strip()
                if a and b and a != b:
                    seen.setdefault((min(a, b), max(a, b)), None)
    return list(seen)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            # The line the record ends on: descriptions span many lines.
            yield reader.line_num, row


def convert(data: Path, split: str) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """All reports as tickets, and the split's duplicate pairs."""
    if split not in SPLITS:
        raise ValidationError("split", f"{split!r} is not one of: {', '.join(SPLITS)}")
    tickets = [to_ticket(row, line) for line, row in _rows(data / "hadoop_bugs.csv")]
    return tickets, read_pairs(data / SPLITS[split])


def _write(path: Path, lines: Iterable[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + "\n")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: write OUT.jsonl and its pairs file."""
    parser = argparse.ArgumentParser(prog="python -m integration.bugs.gitbugs",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("out", type=Path, help="normalized tickets to write (JSONL)")
    parser.add_argument("--split", choices=sorted(SPLITS), default="all")
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="gitbugs-hadoop folder")
    parser.add_argument("--pairs-out", type=Path, help="pairs CSV (default: OUT-pairs.csv)")
    args = parser.parse_args(argv)
    if not (args.data / "hadoop_bugs.csv").is_file():
        print(f"{args.data}: no hadoop_bugs.csv here (the shared data folder)", file=sys.stderr)
        return 2
    try:
        tickets, pairs = convert(args.data, args.split)
    except ValidationError as err:
        print(f"{args.data / 'hadoop_bugs.csv'}: {err}", file=sys.stderr)
        return 1
    out: Path = args.out
    pairs_out: Path = args.pairs_out or out.with_name(out.stem + "-pairs.csv")
    _write(out, (json.dumps(t, ensure_ascii=False) for t in tickets))
    _write(pairs_out, ["id_a,id_b", *(f"{a},{b}" for a, b in pairs)])
    print(f"{len(tickets)} reports -> {out}; {len(pairs)} {args.split} pairs -> {pairs_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
