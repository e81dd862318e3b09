"""How every request is read: strict JSON, and no control characters where none belong.

``request.get_json`` parses with ``integration.inbound.load_json`` (hostile JSON is a 400
naming what is wrong, never a 500), and ``refuse_control_characters`` runs before every view:
a path, query parameter or header with a control character, or a form field with NUL or a
lone surrogate, is a 400 naming where it was.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

from flask import Request, Response, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

from integration.inbound import load_json
from integration.web.errors import json_error

__all__ = ["StrictJSONProvider", "StrictRequest", "refuse_control_characters"]

_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\ud800-\udfff]")
_NUL_OR_SURROGATE = re.compile("[\x00\ud800-\udfff]")


class StrictJSONProvider(DefaultJSONProvider):
    """``request.get_json`` parses with :func:`load_json`: hostile JSON is a 400, not a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse ``s`` strictly (depth, number length, NaN, NUL, lone surrogates)."""
        return load_json(s)


class StrictRequest(Request):
    """A request whose unreadable JSON body is a 400 naming the problem."""

    def on_json_loading_failed(self, e: ValueError | None) -> NoReturn:
        """Say why the body is not acceptable JSON."""
        raise BadRequest(str(e) if e is not None else "body: expected JSON") from e


def refuse_control_characters() -> Response | None:
    """Before every view: a 400 for control characters in the path, query, headers or form."""
    # PostgreSQL text cannot hold NUL, and nothing legitimate puts control characters in a
    # path, query or header; refuse them before any view hands them to a query. Form fields
    # (a matrix, an override reason) may hold line breaks, never NUL or lone surrogates.
    lines = [("path", request.path)]
    lines += [(f"query parameter {k!r}", f"{k}{v}") for k, v in request.args.items(multi=True)]
    lines += [(f"header {k}", v) for k, v in request.headers.items()]
    for where, value in lines:
        if _CONTROL.search(value):
            return json_error(400, f"{where} contains a control character")
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        request.get_data(cache=True)  # keep the raw body readable for signature checks
        for k, v in request.form.items(multi=True):
            if _NUL_OR_SURROGATE.search(f"{k}{v}"):
                return json_error(400, f"form field {k!r} contains a NUL or a lone surrogate")
    return None
