"""The agent sidebar inside each helpdesk (being built: issue 7)."""

from __future__ import annotations

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("sidebar", __name__, template_folder="templates", static_folder="static",
               static_url_path="/sidebar-static")
