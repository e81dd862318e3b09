"""How sure we are that a document answers the question: features and a small logistic model.

The features say how well the words and the meaning match (BM25, cosine, the margin to the
runner-up), how much of the question the document covers, whether it names the customer's
case (the plan, platform or provider asked about) and whether the best passage states the kind
of fact asked for (a number for "how many", steps for "how do I"). The weights are trained by
``python -m integration.answer.training`` on development data and shipped as ``weights.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from integration.errors import ConfigurationError

__all__ = ["FEATURES", "WEIGHTS_FILE", "ConfidenceModel", "default_model"]

WEIGHTS_FILE = Path(__file__).resolve().parent / "weights.json"
FEATURES = (
    "bm25",
    "bm25_margin",
    "cosine",
    "cosine_margin",
    "passage_cosine",
    "passage_overlap",
    "coverage",
    "title_coverage",
    "specific_coverage",
    "specific_missing",
    "kind_stated",
    "macro",
    "first",
    "question_terms",
    "focus_min",
    "focus_mean",
    "focus_missing",
    "focus_passage",
    "focus_sentence",
    "focus_elsewhere",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class ConfidenceModel:
    """A logistic model over standardized features, and the confidence needed to answer."""

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float
    # Platt scaling fitted on predictions for products the model was not trained on, so that
    # a confidence of 0.8 is right about 8 times in 10 on a new help centre.
    slope: float = 1.0
    offset: float = 0.0
    calibration: tuple[dict[str, float], ...] = ()

    def score(self, values: Sequence[float]) -> float:
        """The model's log-odds that the document answers, before calibration."""
        total = self.bias
        for value, weight, mean, scale in zip(values, self.weights, self.mean, self.scale,
                                              strict=True):
            total += weight * (value - mean) / scale
        return total

    def probability(self, values: Sequence[float]) -> float:
        """The calibrated probability that the document answers, from its features."""
        total = self.slope * self.score(values) + self.offset
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, total))))

    def to_dict(self) -> dict[str, Any]:
        """The form written to ``weights.json``."""
        return {"features": list(FEATURES), "weights": list(self.weights), "bias": self.bias,
                "mean": list(self.mean), "scale": list(self.scale),
                "threshold": self.threshold, "slope": self.slope, "offset": self.offset,
                "calibration": list(self.calibration)}

    @classmethod
    def from_dict(cls, data: Any) -> ConfidenceModel:
        """Read ``weights.json``; features in another order or number are refused."""
        if not isinstance(data, dict) or tuple(data.get("features", ())) != FEATURES:
            raise ConfigurationError("the answer weights do not match the answerer's features; "
                                     "retrain with python -m integration.answer.training")
        return cls(weights=tuple(float(v) for v in data["weights"]), bias=float(data["bias"]),
                   mean=tuple(float(v) for v in data["mean"]),
                   scale=tuple(float(v) for v in data["scale"]),
                   threshold=float(data["threshold"]),
                   slope=float(data.get("slope", 1.0)), offset=float(data.get("offset", 0.0)),
                   calibration=tuple(data.get("calibration", ())))


@lru_cache(maxsize=1)
def default_model() -> ConfidenceModel:
    """The trained weights shipped in the package, read once per process."""
    try:
        data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigurationError(f"cannot read the answer weights at {WEIGHTS_FILE}: {err}") \
            from err
    return ConfidenceModel.from_dict(data)
