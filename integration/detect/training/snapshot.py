"""Digest every ``Signals`` detection gives on fixed corpora, to prove a change alters nothing.

    python -m integration.detect.training.snapshot OUT.json          # write a digest
    python -m integration.detect.training.snapshot OUT.json --compare BASE.json  # and diff

Corpora: the demo workspace, the tricky fixtures, 2,000 Bitext rows (skipped when the shared
data folder is absent), the benchmark's generated tickets, and shouted copies of the demo and
tricky messages (upper case with "!!", which reach the capitals and exclamation rules). Each
corpus is read oldest first with the earlier tickets of the same requester or account as
history, as ``escalade triage`` does, by the default detector and by one built from the
packaged matrix's triggers. Floats are rounded to 6 places.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import enum
import importlib.util
import json
import sys
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from integration.detect.detector import Detector
from integration.detect.training.measure import _ticket, default_path
from integration.models import Signals, Ticket

__all__ = ["corpora", "digest", "main", "run"]

_REPO = Path(__file__).resolve().parents[3]
_BITEXT_ROWS = 2_000
_BENCH_TICKETS = 10_000
_HISTORY_PER_KEY = 20


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def digest(signals: Signals) -> dict[str, Any]:
    """Every field of ``signals`` as plain JSON values (floats rounded to 6 places)."""
    plain: dict[str, Any] = _plain(signals)
    return plain


def _jsonl(path: Path) -> list[Ticket]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Ticket.from_dict(json.loads(line)) for line in lines if line.strip()]


def _bench_tickets() -> list[Ticket]:
    # bench/ is not a package: load its generator by path.
    spec = importlib.util.spec_from_file_location("_bench_triage", _REPO / "bench" / "triage.py")
    if spec is None or spec.loader is None:
        return []
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [Ticket.from_dict(d) for d in module.make_tickets(_BENCH_TICKETS)]


def _shouted(tickets: Sequence[Ticket]) -> list[Ticket]:
    out = []
    for t in tickets:
        messages = tuple(dataclasses.replace(m, body=m.body.upper() + " !!") for m in t.messages)
        out.append(
            dataclasses.replace(t, id=f"{t.id}-loud", subject=t.subject.upper(), messages=messages)
        )
    return out


def corpora() -> Iterator[tuple[str, list[Ticket]]]:
    """(name, tickets) for every corpus that is available here."""
    demo = _jsonl(_REPO / "integration" / "demo" / "tickets.jsonl")
    tricky = _jsonl(_REPO / "tests" / "fixtures" / "tickets" / "tricky.jsonl")
    yield "demo", demo
    yield "tricky", tricky
    yield "shouted", _shouted([*demo, *tricky])
    path = default_path()
    if path.exists():
        with path.open(encoding="utf-8", newline="") as fh:
            rows = [row for _, row in zip(range(_BITEXT_ROWS), csv.DictReader(fh), strict=False)]
        yield "bitext", [_ticket(i, row["instruction"]) for i, row in enumerate(rows)]
    yield "bench", _bench_tickets()


def _keys(ticket: Ticket) -> list[str]:
    keys = [f"{ticket.tenant}:r:{ticket.requester.email or ticket.requester.id}".lower()]
    if ticket.account is not None:
        keys.append(f"{ticket.tenant}:a:{ticket.account.id}")
    return keys


def _run_one(detector: Detector, tickets: Sequence[Ticket]) -> tuple[list[Any], float]:
    by_key: dict[str, deque[Ticket]] = defaultdict(lambda: deque(maxlen=_HISTORY_PER_KEY))
    out: list[Any] = []
    elapsed = 0.0
    for ticket in sorted(tickets, key=lambda t: t.created_at):
        seen: dict[str, Ticket] = {}
        for key in _keys(ticket):
            for other in by_key.get(key, ()):
                if other.key != ticket.key:
                    seen[other.key] = other
        started = time.perf_counter()
        signals = detector.detect(ticket, list(seen.values()))
        elapsed += time.perf_counter() - started
        out.append({"id": ticket.id, "signals": digest(signals)})
        for key in _keys(ticket):
            by_key[key].append(ticket)
    return out, elapsed


def run() -> tuple[dict[str, Any], dict[str, float]]:
    """The digest of every corpus under both trigger sets, and detect seconds per corpus."""
    from integration.detect.cues import DEFAULT_TRIGGERS
    from integration.matrix import default_matrix

    detectors = {
        "default": Detector(triggers=DEFAULT_TRIGGERS),
        "matrix": Detector(triggers=default_matrix().triggers),
    }
    result: dict[str, Any] = {}
    timings: dict[str, float] = {}
    for name, tickets in corpora():
        for label, detector in detectors.items():
            rows, seconds = _run_one(detector, tickets)
            result[f"{name}/{label}"] = rows
            timings[f"{name}/{label}"] = round(seconds, 3)
    return result, timings


def _diff(base: dict[str, Any], new: dict[str, Any], limit: int = 20) -> list[str]:
    out: list[str] = []
    for corpus in sorted(set(base) | set(new)):
        a, b = base.get(corpus), new.get(corpus)
        if a is None or b is None:
            out.append(f"{corpus}: only in {'new' if a is None else 'baseline'}")
            continue
        if len(a) != len(b):
            out.append(f"{corpus}: {len(a)} tickets in baseline, {len(b)} now")
        for x, y in zip(a, b, strict=False):
            if x != y:
                fields = [k for k in x["signals"] if x["signals"][k] != y["signals"].get(k)]
                for field in fields:
                    out.append(
                        f"{corpus} #{x['id']} {field}: {x['signals'][field]!r} -> "
                        f"{y['signals'][field]!r}"
                    )
                if len(out) >= limit:
                    return out
    return out


def main(argv: list[str] | None = None) -> int:
    """Write the digest; with ``--compare`` print differences and exit 1 when there are any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--compare", type=Path, help="a baseline digest to compare against")
    args = parser.parse_args(argv)
    result, timings = run()
    args.out.write_text(json.dumps(result, sort_keys=True, ensure_ascii=False))
    tickets = sum(len(v) for v in result.values())
    print(json.dumps({"tickets": tickets, "detect_seconds": timings}), file=sys.stderr)
    if args.compare is None:
        return 0
    differences = _diff(json.loads(args.compare.read_text(encoding="utf-8")), result)
    for line in differences:
        print(line)
    print("identical" if not differences else f"{len(differences)}+ differences", file=sys.stderr)
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
