"""Escalade: escalation management for B2B support teams."""

from integration import native as _native
from integration import spacy_cli as _spacy_cli

# The compiled build of the hot modules, when one is current (see integration.native).
_native.install()
# spaCy's own command line stays unimported until something uses it.
_spacy_cli.install()
