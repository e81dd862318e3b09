"""Where detection's trained files live.

A plain module on purpose: a compiled module's own file is in the build folder, not here.
"""

from __future__ import annotations

from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent / "model"
