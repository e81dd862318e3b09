"""Escalade: escalation management for B2B support teams."""

from integration import native as _native

# The compiled build of the hot modules, when one is current (see integration.native).
_native.install()
