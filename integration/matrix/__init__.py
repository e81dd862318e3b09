"""The escalation matrix: a versioned, validated YAML policy evaluated into decisions.

``load_matrix`` / ``load_matrix_text`` validate a file (``MatrixError`` lists every problem
with file, line and field); ``evaluate`` turns a ticket and its signals into a ``Decision``
citing every rule that fired. ``default.yaml`` encodes the default escalation policy.
"""

from __future__ import annotations

from integration.matrix.actions import tier_tag
from integration.matrix.evaluate import evaluate
from integration.matrix.loader import (
    MatrixError,
    MatrixIssue,
    check_file,
    default_matrix,
    load_matrix,
    load_matrix_text,
)
from integration.matrix.schema import (
    Bump,
    Condition,
    Matrix,
    OnBreach,
    OnWarning,
    Rule,
    TierActions,
    TierSettings,
)

__all__ = [
    "Bump",
    "Condition",
    "Matrix",
    "MatrixError",
    "MatrixIssue",
    "OnBreach",
    "OnWarning",
    "Rule",
    "TierActions",
    "TierSettings",
    "check_file",
    "default_matrix",
    "evaluate",
    "load_matrix",
    "load_matrix_text",
    "tier_tag",
]
