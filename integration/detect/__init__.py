"""Detection: read a ticket into ``Signals`` (triggers, sentiment, category, severity, repeats).

Built on ``spacy.blank("en")`` with our own components; nothing is downloaded at run time.
"""

from __future__ import annotations

from integration.detect.cues import DEFAULT_TRIGGERS
from integration.detect.detector import Detector, Reading, default_detector, detect

__all__ = ["DEFAULT_TRIGGERS", "Detector", "Reading", "default_detector", "detect"]
