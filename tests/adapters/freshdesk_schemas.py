"""Small JSON schemas of the Freshdesk calls we make, written from developers.freshdesk.com/api.

Freshdesk publishes no machine-readable API description (see ../shared/specs/freshdesk/README),
so these hold what the HTML reference says of the requests we send and the fields we read;
``validate_call`` checks one faked exchange against them.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import responses

from tests import recorded

__all__ = ["ROUTES", "validate_call"]

_ID = {"type": "integer", "minimum": 1}
_OPT_ID = {"type": ["integer", "null"]}
_TIME = {"type": "string", "format": "date-time", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"}
_EMAILS = {"type": "array", "items": {"type": "string", "format": "email"}}

# https://developers.freshdesk.com/api/#update_ticket (only fields an API update may carry)
UPDATE_TICKET_REQUEST: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {
        "tags": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^,]+$"},
        },
        "priority": {"type": "integer", "enum": [1, 2, 3, 4]},
        "status": {"type": "integer", "minimum": 2},
        "group_id": _ID,
        "responder_id": _ID,
        "custom_fields": {"type": "object", "propertyNames": {"pattern": "^cf_"}},
        "type": {"type": "string"},
        "due_by": _TIME,
        "fr_due_by": _TIME,
    },
}
# https://developers.freshdesk.com/api/#add_note_to_a_ticket
CREATE_NOTE_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["body"],
    "additionalProperties": False,
    "properties": {
        "body": {"type": "string", "minLength": 1},
        "private": {"type": "boolean"},
        "incoming": {"type": "boolean"},
        "notify_emails": _EMAILS,
        "user_id": _ID,
    },
}
# https://developers.freshdesk.com/api/#reply_ticket
REPLY_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["body"],
    "additionalProperties": False,
    "properties": {
        "body": {"type": "string", "minLength": 1},
        "from_email": {"type": "string", "format": "email"},
        "user_id": _ID,
        "cc_emails": _EMAILS,
        "bcc_emails": _EMAILS,
    },
}
TICKET: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "subject",
        "status",
        "priority",
        "source",
        "requester_id",
        "tags",
        "custom_fields",
        "created_at",
        "updated_at",
    ],
    "properties": {
        "id": _ID,
        "subject": {"type": "string"},
        "status": {"type": "integer", "minimum": 2},
        "priority": {"type": "integer", "enum": [1, 2, 3, 4]},
        "source": {"type": "integer"},
        "requester_id": _ID,
        "responder_id": _OPT_ID,
        "group_id": _OPT_ID,
        "company_id": _OPT_ID,
        "tags": {"type": "array", "items": {"type": "string"}},
        "custom_fields": {"type": "object"},
        "description": {"type": "string"},
        "description_text": {"type": "string"},
        "created_at": _TIME,
        "updated_at": _TIME,
        "requester": {
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": _ID,
                "email": {"type": ["string", "null"]},
                "name": {"type": ["string", "null"]},
            },
        },
        "company": {"type": "object", "required": ["id", "name"]},
        "stats": {"type": "object"},
    },
}
CONVERSATION: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "body",
        "body_text",
        "incoming",
        "private",
        "user_id",
        "ticket_id",
        "created_at",
        "updated_at",
    ],
    "properties": {
        "id": _ID,
        "body": {"type": "string"},
        "body_text": {"type": "string"},
        "incoming": {"type": "boolean"},
        "private": {"type": "boolean"},
        "user_id": _ID,
        "ticket_id": _ID,
        "created_at": _TIME,
        "updated_at": _TIME,
    },
}
# https://developers.freshdesk.com/api/#reply_ticket (the reply has no incoming/private)
REPLY_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "body", "body_text", "user_id", "ticket_id", "created_at", "updated_at"],
    "properties": {
        "id": _ID,
        "body": {"type": "string"},
        "body_text": {"type": "string"},
        "user_id": _ID,
        "from_email": {"type": ["string", "null"]},
        "ticket_id": _ID,
        "created_at": _TIME,
        "updated_at": _TIME,
    },
}
COMPANY: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "domains", "custom_fields"],
    "properties": {
        "id": _ID,
        "name": {"type": "string"},
        "domains": {"type": "array", "items": {"type": "string"}},
        "custom_fields": {"type": "object"},
        "health_score": {"type": ["string", "null"]},
        "account_tier": {"type": ["string", "null"]},
    },
}
ERROR: dict[str, Any] = {
    "type": "object",
    "properties": {
        "description": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message", "code"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
}
_LIST = {"type": "array", "items": TICKET}
_CONVERSATIONS = {"type": "array", "items": CONVERSATION}

# (method, path) -> (request schema, success response schema)
# https://developers.freshdesk.com/api/#list_all_groups (a JSON array, 100 a page at most)
GROUP: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {
        "id": _ID,
        "name": {"type": "string", "minLength": 1},
        "description": {"type": ["string", "null"]},
        "escalate_to": _OPT_ID,
        "unassigned_for": {"type": ["string", "null"]},
        "business_hour_id": _OPT_ID,
        "agent_ids": {"type": "array", "items": _ID},
        "auto_ticket_assign": {"type": ["integer", "boolean"]},
        "created_at": _TIME,
        "updated_at": _TIME,
    },
}
_GROUPS: dict[str, Any] = {"type": "array", "items": GROUP}
# https://developers.freshdesk.com/api/#me : the agent, its contact details nested.
AGENT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "contact"],
    "properties": {
        "id": _ID,
        "contact": {
            "type": "object",
            "required": ["name", "email"],
            "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
        },
    },
}

# https://developers.freshdesk.com/api/#solutions : categories, folders, articles (arrays).
_NAMED = {"type": "object", "required": ["id", "name"],
          "properties": {"id": _ID, "name": {"type": "string", "minLength": 1}}}
SOLUTION_FOLDER: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "visibility"],
    "properties": {"id": _ID, "name": {"type": "string", "minLength": 1},
                   "visibility": {"type": "integer", "enum": [1, 2, 3, 4, 5, 6, 7]}},
}
SOLUTION_ARTICLE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title", "description", "status", "folder_id", "updated_at"],
    "properties": {"id": _ID, "title": {"type": "string"},
                   "description": {"type": "string"},
                   "description_text": {"type": ["string", "null"]},
                   "status": {"type": "integer", "enum": [1, 2]}, "folder_id": _ID,
                   "updated_at": _TIME},
}
# https://developers.freshdesk.com/api/#canned-responses
CANNED_FOLDER: dict[str, Any] = {
    "type": "object", "required": ["id", "name", "personal"],
    "properties": {"id": _ID, "name": {"type": "string"}, "personal": {"type": "boolean"},
                   "responses_count": {"type": "integer"}},
}
CANNED_RESPONSE: dict[str, Any] = {
    "type": "object", "required": ["id", "title", "folder_id", "content_html"],
    "properties": {"id": _ID, "title": {"type": "string"}, "folder_id": _ID,
                   "content": {"type": ["string", "null"]},
                   "content_html": {"type": ["string", "null"]}},
}


def _array(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


ROUTES: tuple[tuple[str, re.Pattern[str], dict[str, Any] | None, dict[str, Any]], ...] = (
    ("GET", re.compile(r"^/api/v2/tickets$"), None, _LIST),
    ("GET", re.compile(r"^/api/v2/tickets/\d+$"), None, TICKET),
    ("PUT", re.compile(r"^/api/v2/tickets/\d+$"), UPDATE_TICKET_REQUEST, TICKET),
    ("GET", re.compile(r"^/api/v2/tickets/\d+/conversations$"), None, _CONVERSATIONS),
    ("POST", re.compile(r"^/api/v2/tickets/\d+/notes$"), CREATE_NOTE_REQUEST, CONVERSATION),
    ("POST", re.compile(r"^/api/v2/tickets/\d+/reply$"), REPLY_REQUEST, REPLY_RESPONSE),
    ("GET", re.compile(r"^/api/v2/companies/\d+$"), None, COMPANY),
    ("GET", re.compile(r"^/api/v2/groups$"), None, _GROUPS),
    ("GET", re.compile(r"^/api/v2/agents/me$"), None, AGENT),
    ("GET", re.compile(r"^/api/v2/solutions/categories$"), None, _array(_NAMED)),
    ("GET", re.compile(r"^/api/v2/solutions/categories/\d+/folders$"), None,
     _array(SOLUTION_FOLDER)),
    ("GET", re.compile(r"^/api/v2/solutions/folders/\d+/articles$"), None,
     _array(SOLUTION_ARTICLE)),
    ("GET", re.compile(r"^/api/v2/canned_response_folders$"), None, _array(CANNED_FOLDER)),
    ("GET", re.compile(r"^/api/v2/canned_response_folders/\d+/responses$"), None,
     _array(CANNED_RESPONSE)),
)


def validate_call(call: responses.Call) -> None:
    """Raise unless the request matches a known route and both bodies match its schemas."""
    request = call.request
    path = urlsplit(str(request.url)).path
    route = next((r for r in ROUTES if r[0] == request.method and r[1].match(path)), None)
    if route is None:
        raise AssertionError(f"no Freshdesk route for {request.method} {path}")
    method, _, request_schema, response_schema = route
    checker = jsonschema.FormatChecker()
    if request_schema is not None:
        assert request.body, f"{method} {path} sent no body"
        jsonschema.validate(recorded.sent_json(request), request_schema, format_checker=checker)
    elif request.body:
        raise AssertionError(f"{method} {path} must not carry a body")
    if call.response is None:
        return
    response = recorded.answer(call)
    schema = response_schema if 200 <= response.status_code < 300 else ERROR
    jsonschema.validate(response.json(), schema, format_checker=checker)
