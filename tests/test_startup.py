"""What every Escalade process sets up when the package is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env={**environ, **env}, check=True)
    return done.stdout.strip()


def test_blas_runs_single_threaded_unless_the_environment_says_otherwise() -> None:
    probe = "import os, integration; print(os.environ['OPENBLAS_NUM_THREADS'])"
    assert _run(probe) == "1"
    assert _run(probe, OPENBLAS_NUM_THREADS="4") == "4"


def test_spacy_loads_without_its_command_line() -> None:
    probe = (
        "import sys, integration, spacy\n"
        "nlp = spacy.blank('en')\n"
        "print(sorted(m for m in ('typer', 'weasel', 'spacy.cli.download') if m in sys.modules))"
    )
    assert _run(probe) == "[]"


def test_spacys_command_line_still_works_when_asked_for() -> None:
    probe = (
        "import sys, integration, spacy\n"
        "from spacy.cli import download\n"
        "import spacy.cli.train\n"
        "first = spacy.info()\n"
        "loaded = sys.modules['spacy.cli.info']\n"
        "spacy.info()\n"
        "print(callable(download), callable(spacy.cli.train.train),"
        " first['spacy_version'] == spacy.__version__, sys.modules['spacy.cli.info'] is loaded)"
    )
    assert _run(probe) == "True True True True"
