"""Scoring the answer path on labeled tickets: precision first, then how much it answers.

A labeled ticket says whether one document answers it (``expected.answer``) and whether it must
reach a person whatever the knowledge says (``expected.must_go_to_person``). Sending the
expected document to an answerable ticket that may be answered is right; any other document
sent is wrong; silence is never wrong, only a missed answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from integration.errors import ValidationError

__all__ = ["Expected", "Outcome", "format_report", "read_expected", "score"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Expected:
    """What a labeled ticket should get."""

    answer: str | None
    answerable: bool
    must_go_to_person: bool
    kind: str

    @property
    def should_answer(self) -> bool:
        """Whether the right behaviour is to send ``answer``."""
        return self.answerable and not self.must_go_to_person and self.answer is not None


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """What the answerer did with one labeled ticket."""

    id: str
    expected: Expected
    sent: str | None
    confidence: float
    why: str = ""


def read_expected(data: Mapping[str, Any]) -> Expected:
    """The labels of one ticket line; a ``ValidationError`` names the field that is wrong."""
    expected = data.get("expected")
    if not isinstance(expected, Mapping):
        raise ValidationError("expected", "a labeled ticket needs an 'expected' object")
    answer = expected.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise ValidationError("expected.answer", "expected a document id or null")
    flags = {}
    for key in ("answerable", "must_go_to_person"):
        value = expected.get(key, False)
        if not isinstance(value, bool):
            raise ValidationError(f"expected.{key}", "expected true or false")
        flags[key] = value
    kind = data.get("kind", "unlabeled")
    return Expected(answer=answer, answerable=flags["answerable"],
                    must_go_to_person=flags["must_go_to_person"],
                    kind=kind if isinstance(kind, str) else "unlabeled")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _counts(outcomes: list[Outcome]) -> dict[str, Any]:
    sent = [o for o in outcomes if o.sent is not None]
    right = [o for o in sent if o.expected.should_answer and o.sent == o.expected.answer]
    answerable = [o for o in outcomes if o.expected.should_answer]
    to_person = [o for o in outcomes if o.expected.must_go_to_person]
    return {
        "tickets": len(outcomes),
        "answered": len(sent),
        "right": len(right),
        "wrong": len(sent) - len(right),
        "precision": _rate(len(right), len(sent)),
        "answerable": len(answerable),
        "answer_rate": _rate(sum(1 for o in right), len(answerable)),
        "must_go_to_person": len(to_person),
        "answered_must_go_to_person": sum(1 for o in to_person if o.sent is not None),
    }


def _reasons(whys: Iterable[str]) -> dict[str, int]:
    """How many answerable tickets each kind of reason left to a person, most first."""
    counts: dict[str, int] = {}
    for why in whys:
        # "it is a Tier 2 ticket: ...", "the account is at risk (health 0.30)": the kind only.
        kind = why.split(":")[0].split(" (")[0] if why else "unknown"
        if kind.startswith("\"") and "does not mention" in kind:
            kind = "the document does not mention what is asked about"
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def score(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    """Precision of answers given, answer rate on answerable tickets, answers to must-go."""
    found = list(outcomes)
    kinds = sorted({o.expected.kind for o in found})
    report = _counts(found)
    report["by_kind"] = {k: _counts([o for o in found if o.expected.kind == k]) for k in kinds}
    report["answerable_left_to_a_person"] = _reasons(
        o.why for o in found if o.expected.should_answer and o.sent is None)
    report["wrong_answers"] = [
        {"id": o.id, "sent": o.sent, "expected": o.expected.answer, "kind": o.expected.kind,
         "confidence": o.confidence}
        for o in found if o.sent is not None and not (
            o.expected.should_answer and o.sent == o.expected.answer)
    ]
    return report


def format_report(report: Mapping[str, Any]) -> str:
    """The report as a few lines for a terminal."""
    def line(name: str, c: Mapping[str, Any]) -> str:
        precision = "-" if c["precision"] is None else f"{c['precision']:.3f}"
        rate = "-" if c["answer_rate"] is None else f"{c['answer_rate']:.3f}"
        return (f"{name:<24} tickets {c['tickets']:>4}  answered {c['answered']:>4}  "
                f"right {c['right']:>4}  wrong {c['wrong']:>3}  precision {precision}  "
                f"answer rate {rate}  answered must-go {c['answered_must_go_to_person']}")

    out = [line("all", report)]
    out += [line(kind, counts) for kind, counts in report["by_kind"].items()]
    out += ["answerable but left to a person:"]
    out += [f"  {count:>4}  {why}" for why, count in report["answerable_left_to_a_person"].items()]
    return "\n".join(out)
