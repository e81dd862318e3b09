"""Escalade: escalation management for B2B support teams."""

import os as _os

from integration import native as _native
from integration import spacy_cli as _spacy_cli

# The vectors Escalade multiplies are small: OpenBLAS's helper threads only spin and take
# CPU from the processes that do the work (forked triage workers, web and worker processes).
# Set before numpy is first imported; a value already in the environment wins.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The compiled build of the hot modules, when one is current (see integration.native).
_native.install()
# spaCy's own command line stays unimported until something uses it.
_spacy_cli.install()
