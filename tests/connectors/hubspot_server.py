"""A mock HubSpot CRM v3/v4 API on 127.0.0.1, for tests that drive the real hubspot-api-client.

A real HTTP server in a thread (port 0), holding companies, contacts, owners, notes and tasks
in memory, answering in the shapes the client's response models require, recording every
request, and failing on demand (``fail``) or slowly (``delay``). Like HubSpot it checks the
bearer token and rejects create bodies without ``hs_timestamp`` or with an association type
that does not fit the object pair.

    with HubSpotMock() as hubspot:
        hubspot.add_company("101", name="Acme", domain="acme.com", annualrevenue="120000.00")
        config = ConnectorConfig(..., base_url=hubspot.base_url)
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["TOKEN", "Fault", "HubSpotMock", "Recorded", "parse_model"]

TOKEN = "pat-na1-test-token"
_STAMP = "2024-05-02T10:00:00.000Z"
# Association type ids HubSpot accepts when creating an engagement, per target object.
_ENGAGEMENT_ASSOCIATIONS = {
    "notes": {190: "companies", 202: "contacts"},
    "tasks": {192: "companies", 204: "contacts"},
}
_OPERATORS = {"EQ", "NEQ", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN"}


@dataclass(kw_only=True, slots=True)
class Recorded:
    """One request the mock received, and what it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0
    response: Any = None


@dataclass(kw_only=True, slots=True)
class Fault:
    """A canned failure for the next ``times`` requests matching ``method`` and ``path``."""

    method: str
    path: str
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    exact: bool = False

    def matches(self, method: str, path: str) -> bool:
        """True for a request this fault should answer."""
        same = path == self.path if self.exact else path.startswith(self.path)
        return self.times > 0 and method == self.method and same


def _error(status: int, message: str, category: str) -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
            "category": category}


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^0-9a-z]+", text.lower()) if t]


def _matches(record: dict[str, Any], flt: dict[str, Any]) -> bool:
    value = record.get(flt["propertyName"])
    op: str = flt["operator"]
    text = "" if value is None else str(value).lower()
    if op == "HAS_PROPERTY":
        return value not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return value in (None, "")
    if op in ("EQ", "NEQ"):
        return (text == str(flt.get("value", "")).lower()) == (op == "EQ")
    if op in ("IN", "NOT_IN"):
        return (text in {str(v).lower() for v in flt.get("values", [])}) == (op == "IN")
    pattern = str(flt.get("value", "")).lower()
    return any(fnmatch.fnmatchcase(token, pattern) for token in _tokens(text))


class HubSpotMock:
    """The fake HubSpot: seed it, point the connector at ``base_url``, read ``requests``."""

    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self.objects: dict[str, dict[str, dict[str, Any]]] = {
            "companies": {}, "contacts": {}, "notes": {}, "tasks": {},
        }
        self.associations: dict[str, list[dict[str, Any]]] = {}
        self.owners: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.delay = 0.0
        self._ids = itertools.count(50001)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- seeding ------------------------------------------------------------------------

    def add_company(self, company_id: str, **properties: str | None) -> None:
        """A company with its properties (HubSpot stores every value as a string)."""
        self.objects["companies"][company_id] = {"hs_object_id": company_id, **properties}

    def add_contact(self, contact_id: str, email: str, *, companies: tuple[str, ...] = ()) -> None:
        """A contact associated with ``companies``, the first one as primary."""
        self.objects["contacts"][contact_id] = {"hs_object_id": contact_id, "email": email}
        self.associations[contact_id] = [
            {"toObjectId": int(cid), "associationTypes": (
                [{"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"}] if i == 0
                else []) + [{"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None}]}
            for i, cid in enumerate(companies)
        ]

    def add_owner(self, owner_id: str, email: str, first: str, last: str) -> None:
        """A HubSpot user who can own companies and tasks."""
        self.owners[owner_id] = {
            "id": owner_id, "email": email, "firstName": first, "lastName": last,
            "userId": int(owner_id) + 1, "type": "PERSON", "archived": False,
            "createdAt": _STAMP, "updatedAt": _STAMP, "teams": [],
        }

    def fail(self, method: str, path: str, status: int, *, body: Any = None,
             headers: dict[str, str] | None = None, times: int = 1,
             exact: bool = False) -> None:
        """Answer the next ``times`` requests to ``path`` (prefix unless exact) with ``status``."""
        if body is None:
            body = _error(status, f"mock failure {status}", "INTERNAL_ERROR")
        self.faults.append(Fault(method=method, path=path, status=status, body=body,
                                 headers=dict(headers or {}), times=times, exact=exact))

    def calls(self, method: str, path: str, *, exact: bool = False) -> list[Recorded]:
        """The recorded requests with this method to ``path`` (a prefix unless exact)."""
        return [r for r in self.requests if r.method == method
                and (r.path == path if exact else r.path.startswith(path))]

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, to use as the client's host."""
        assert self._server is not None, "start the mock first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HubSpotMock:
        """Listen on a free port in a daemon thread."""
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                mock._handle(self, "GET")

            def do_POST(self) -> None:
                mock._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> HubSpotMock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- request handling ---------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        recorded = Recorded(method=method, path=parts.path, query=parse_qs(parts.query),
                            headers=dict(handler.headers.items()), body=body)
        with self._lock:
            self.requests.append(recorded)
        if self.delay:
            self._stopping.wait(self.delay)
        status, payload, headers = self._route(method, parts.path, recorded.query, body,
                                               handler.headers.get("Authorization"))
        recorded.status, recorded.response = status, payload
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json;charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout tests)

    def _fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any,
               auth: str | None) -> tuple[int, Any, dict[str, str]]:
        if auth != f"Bearer {self.token}":
            return 401, _error(401, "Authentication credentials not found. This API supports "
                               "OAuth 2.0 authentication.", "INVALID_AUTHENTICATION"), {}
        fault = self._fault(method, path)
        if fault is not None:
            return fault.status, fault.body, fault.headers
        m = re.fullmatch(r"/crm/v3/objects/(\w+)/search", path)
        if method == "POST" and m and m.group(1) in self.objects:
            return self._search(m.group(1), body)
        if method == "GET" and (m := re.fullmatch(r"/crm/v3/objects/companies/(\d+)", path)):
            record = self.objects["companies"].get(m.group(1))
            if record is None:
                return 404, _error(404, "Object not found.", "OBJECT_NOT_FOUND"), {}
            # The client sends ``properties`` repeated; HubSpot also takes a comma list.
            props = [p for v in query.get("properties", []) for p in v.split(",") if p]
            return 200, self._object(record, props), {}
        if method == "GET" and (m := re.fullmatch(
                r"/crm/v4/objects/contacts/(\d+)/associations/companies", path)):
            return 200, {"results": self.associations.get(m.group(1), [])}, {}
        if method == "POST" and (m := re.fullmatch(r"/crm/v3/objects/(notes|tasks)", path)):
            return self._create(m.group(1), body)
        if method == "GET" and (m := re.fullmatch(r"/crm/v3/owners/(\d+)", path)):
            owner = self.owners.get(m.group(1))
            if owner is None:
                return 404, _error(404, "Owner not found.", "OBJECT_NOT_FOUND"), {}
            return 200, owner, {}
        if method == "GET" and path in ("/crm/v3/owners", "/crm/v3/owners/"):
            limit = int((query.get("limit") or ["100"])[0])
            owners = list(self.owners.values())
            page: dict[str, Any] = {"results": owners[:limit]}
            if len(owners) > limit:
                page["paging"] = {"next": {"after": str(limit), "link": "?after=" + str(limit)}}
            return 200, page, {}
        return 404, _error(404, f"No route for {method} {path}", "OBJECT_NOT_FOUND"), {}

    def _object(self, record: dict[str, Any], properties: list[str]) -> dict[str, Any]:
        props = {"hs_object_id": record["hs_object_id"], "createdate": _STAMP,
                 "hs_lastmodifieddate": _STAMP}
        props.update({p: record.get(p) for p in properties})
        return {"id": record["hs_object_id"], "properties": props, "createdAt": _STAMP,
                "updatedAt": _STAMP, "archived": False}

    def _search(self, kind: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        groups = body.get("filterGroups") if isinstance(body, dict) else None
        if not isinstance(groups, list) or not groups:
            return 400, _error(400, "filterGroups is required", "VALIDATION_ERROR"), {}
        for group in groups:
            for flt in group.get("filters", []):
                if flt.get("operator") not in _OPERATORS or "propertyName" not in flt:
                    return 400, _error(400, f"Invalid filter {flt}", "VALIDATION_ERROR"), {}
        with self._lock:
            records = list(self.objects[kind].values())
        hits = [r for r in records
                if any(all(_matches(r, f) for f in g["filters"]) for g in groups)]
        limit = int(body.get("limit") or 10)
        return 200, {"total": len(hits), "results": [
            self._object(r, list(body.get("properties") or [])) for r in hits[:limit]
        ]}, {}

    def _create(self, kind: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        props = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(props, dict) or not props.get("hs_timestamp"):
            return 400, _error(400, "Property values were not valid: hs_timestamp is required",
                               "VALIDATION_ERROR"), {}
        allowed = _ENGAGEMENT_ASSOCIATIONS[kind]
        for assoc in body.get("associations") or []:
            for spec in assoc.get("types", []):
                target = allowed.get(spec.get("associationTypeId"))
                if target is None or spec.get("associationCategory") != "HUBSPOT_DEFINED":
                    return 400, _error(400, f"invalid association type {spec} for {kind}",
                                       "VALIDATION_ERROR"), {}
                if str(assoc["to"]["id"]) not in self.objects[target]:
                    return 400, _error(400, f"{target} {assoc['to']['id']} does not exist",
                                       "VALIDATION_ERROR"), {}
        object_id = str(next(self._ids))
        record = {"hs_object_id": object_id, **props,
                  "associations": list(body.get("associations") or [])}
        with self._lock:
            self.objects[kind][object_id] = record
        return 201, self._object(record, list(props)), {}


@contextmanager
def _api_client(package: Any) -> Iterator[Any]:
    # The generated Configuration ships with client-side validation off; switched on, the
    # models reject missing required fields and values outside their enums.
    configuration = package.Configuration()
    configuration.client_side_validation = True
    client = package.ApiClient(configuration=configuration)
    try:
        yield client
    finally:
        client.rest_client.pool_manager.clear()


@dataclass(frozen=True, slots=True)
class _Raw:
    data: str


def parse_model(package: Any, model: str, body: Any, *, exact: bool = True) -> Any:
    """Read ``body`` as the client's ``package.<model>`` with validation on.

    Missing required fields and bad enum values raise ``ValueError``. With ``exact`` (request
    bodies) unknown keys fail too: the client ignores them when reading, so the model is
    serialized back and must give the very same JSON.
    """
    with _api_client(package) as client:
        parsed = client.deserialize(_Raw(json.dumps(body)), model)
        again = client.sanitize_for_serialization(parsed)
    if exact:
        assert again == body, f"{model} does not round-trip: {again!r} != {body!r}"
    return parsed
