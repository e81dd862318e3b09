"""Intercom Canvas Kit inbox app (being built: issue 7)."""

from __future__ import annotations

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("canvas", __name__)
