"""The helpdesk app packages: valid manifests whose URLs all land on routes of the app."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from adapters.helpdesk.common import INSTALL_SECRET_HEADER, TICKET_HEADER

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / ".." / "shared" / "specs"
ZENDESK_SPECS = SPECS / "zendesk" / "apps-framework"
FRESHDESK_SPECS = SPECS / "freshdesk" / "fdk-platform3"
ZENDESK_APP = ROOT / "sidebar_ui" / "zendesk"
FRESHDESK_APP = ROOT / "sidebar_ui" / "freshdesk"

# zendesk_apps_support: Manifest::Parameter::TYPES and SecureSettings::SECURABLE_KEYWORDS.
ZAF_PARAMETER_TYPES = {"text", "password", "checkbox", "url", "number", "multiline", "hidden"}
SECRET_NAME = re.compile(r"token|key|pwd|password|secret", re.IGNORECASE)
EXAMPLE_SETTINGS = {"escalade_url": "https://escalade.example.com", "tenant": "acme",
                    "escalade_host": "escalade.example.com"}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} absent (no ../shared next to the repo): vendor comparison skipped")
    return path


def _assert_same_shape(ours: Any, theirs: Any, where: str) -> None:
    """Every key of the vendor's example is in ours, with a value of the same JSON type."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{where} must be an object"
        for key, value in theirs.items():
            assert key in ours, f"{where}.{key} is missing"
            _assert_same_shape(ours[key], value, f"{where}.{key}")
    else:
        assert type(ours) is type(theirs), f"{where}: {type(ours).__name__} vs {type(theirs)}"


def _route(app: Any, url: str, method: str) -> tuple[str, dict[str, Any]]:
    adapter = app.url_map.bind("escalade.example.com", url_scheme="https")
    try:
        endpoint, args = adapter.match(urlparse(url).path, method=method)
    except (NotFound, MethodNotAllowed) as err:
        raise AssertionError(f"{method} {url} is not a route of the app ({err.name})") from err
    return endpoint, args


# --- Zendesk (Apps Framework v2) ----------------------------------------------------------

ZENDESK = _load(ROOT / "manifest.json")


def test_zendesk_manifest_has_the_required_keys() -> None:
    for key in ("name", "author", "defaultLocale", "location", "version", "frameworkVersion"):
        assert ZENDESK.get(key), f"manifest.json: {key} is required"
    assert ZENDESK["frameworkVersion"] == "2.0"
    assert ZENDESK["signedUrls"] is True
    assert isinstance(ZENDESK["private"], bool)
    assert set(ZENDESK["author"]) >= {"name", "email", "url"}
    assert urlparse(ZENDESK["author"]["url"]).scheme == "https"
    assert "ticket_sidebar" in ZENDESK["location"]["support"]


@pytest.mark.parametrize("example", ["manifest.app_scaffolds.basic.json",
                                     "manifest.app_scaffolds.react.json"])
def test_zendesk_manifest_matches_the_vendor_examples(example: str) -> None:
    _assert_same_shape(ZENDESK, _load(_need(ZENDESK_SPECS / example)), "manifest")


def test_zendesk_parameters_are_valid_and_secrets_marked_secure() -> None:
    parameters = ZENDESK["parameters"]
    names = [p["name"] for p in parameters]
    assert len(names) == len(set(names)) and "name" not in names
    for parameter in parameters:
        assert parameter.get("type", "text") in ZAF_PARAMETER_TYPES, parameter
        assert isinstance(parameter.get("required", False), bool)
        assert isinstance(parameter.get("secure", False), bool)
        if SECRET_NAME.search(parameter["name"]):
            assert parameter.get("secure") is True, f"{parameter['name']} must be secure"
        if parameter.get("secure") or parameter.get("type") == "hidden":
            assert "default" not in parameter, f"{parameter['name']}: no default for secrets"


def test_zendesk_package_has_translations_and_logos() -> None:
    assert (ZENDESK_APP / "manifest.json").resolve() == (ROOT / "manifest.json").resolve()
    strings = _load(ZENDESK_APP / "translations" / f"{ZENDESK['defaultLocale']}.json")["app"]
    assert strings["name"] and strings["short_description"] and strings["long_description"]
    for parameter in ZENDESK["parameters"]:
        assert strings["parameters"][parameter["name"]]["label"]
    for logo, size in (("logo.png", 320), ("logo-small.png", 128)):
        head = (ZENDESK_APP / "assets" / logo).read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        assert (int.from_bytes(head[16:20]), int.from_bytes(head[20:24])) == (size, size)


def _zendesk_locations() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{product}.{name}", options)
            for product, locations in ZENDESK["location"].items()
            for name, options in locations.items()]


@pytest.mark.parametrize(("where", "options"), _zendesk_locations())
def test_every_zendesk_location_url_is_a_route(app: Any, where: str,
                                               options: dict[str, Any]) -> None:
    url = options["url"]
    declared = {p["name"] for p in ZENDESK["parameters"]}
    used = set(re.findall(r"\{\{setting\.(\w+)\}\}", url))
    assert used <= declared, f"{where} uses undeclared settings {used - declared}"
    resolved = re.sub(r"\{\{setting\.(\w+)\}\}", lambda m: EXAMPLE_SETTINGS[m[1]], url)
    assert urlparse(resolved).scheme == "https", f"{where}: ZAF wants https location URLs"
    signed = options.get("signed", ZENDESK.get("signedUrls", False))
    endpoint, args = _route(app, resolved, "POST" if signed else "GET")
    assert args.get("tenant") == "acme", f"{where}: the tenant slug must be in the path"


# --- Freshdesk (platform 3.0) -------------------------------------------------------------

FRESHDESK = _load(FRESHDESK_APP / "manifest.json")
REQUESTS = _load(FRESHDESK_APP / "config" / "requests.json")
IPARAMS = _load(FRESHDESK_APP / "config" / "iparams.json")
PLACEHOLDER = re.compile(r"<%=\s*(iparam|context)\.(\w+)\s*%>")


def test_freshdesk_manifest_places_the_app_in_the_ticket_sidebar() -> None:
    assert FRESHDESK["platform-version"] == "3.0"
    sidebar = FRESHDESK["modules"]["support_ticket"]["location"]["ticket_sidebar"]
    assert (FRESHDESK_APP / "app" / sidebar["url"]).is_file()
    assert (FRESHDESK_APP / "app" / sidebar["icon"]).is_file()
    declared = set(FRESHDESK["modules"]["common"]["requests"])
    assert declared == set(REQUESTS), "manifest and config/requests.json must list the same"


def test_freshdesk_manifest_matches_the_vendor_skeleton() -> None:
    skeleton = _load(_need(FRESHDESK_SPECS / "hybrid-skeleton" / "manifest.json"))
    assert set(FRESHDESK) == set(skeleton)
    _assert_same_shape(FRESHDESK["modules"]["support_ticket"],
                       skeleton["modules"]["support_ticket"], "modules.support_ticket")
    _assert_same_shape(FRESHDESK["engines"], skeleton["engines"], "engines")
    for name, spec in _load(FRESHDESK_SPECS / "hybrid-skeleton" / "config" / "iparams.json"
                            ).items():
        assert set(spec) >= {"display_name", "type", "required"}, name
    for ours in IPARAMS.values():
        assert set(ours) >= {"display_name", "description", "type", "required"}


def test_freshdesk_secrets_are_secure_iparams_sent_only_in_headers() -> None:
    secure = {name for name, spec in IPARAMS.items() if spec.get("secure")}
    for name in IPARAMS:
        if SECRET_NAME.search(name):
            assert name in secure, f"iparam {name} must be secure"
    assert "sidebar_secret" in secure
    for template in REQUESTS.values():
        schema = template["schema"]
        for part in ("host", "path"):
            assert not {n for _, n in PLACEHOLDER.findall(schema[part])} & secure
    headers = REQUESTS["escaladeSidebar"]["schema"]["headers"]
    assert headers[INSTALL_SECRET_HEADER] == "<%= iparam.sidebar_secret %>"
    assert headers[TICKET_HEADER] == "<%= context.ticket_id %>"


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_every_freshdesk_request_template_is_a_route(app: Any, name: str) -> None:
    schema = REQUESTS[name]["schema"]
    text = json.dumps(schema)
    for kind, key in PLACEHOLDER.findall(text):
        if kind == "iparam":
            assert key in IPARAMS, f"{name} uses undeclared iparam {key}"

    def fill(value: str) -> str:
        return PLACEHOLDER.sub(lambda m: EXAMPLE_SETTINGS.get(m[2], "x"), value)

    url = f"{schema.get('protocol', 'https')}://{fill(schema['host'])}{fill(schema['path'])}"
    assert urlparse(url).hostname == "escalade.example.com"
    endpoint, args = _route(app, url, schema["method"])
    assert args.get("tenant") == "acme"


def test_freshdesk_frontend_uses_only_declared_templates() -> None:
    script = (FRESHDESK_APP / "app" / "scripts" / "app.js").read_text()
    used = set(re.findall(r"invokeTemplate\(\s*\"(\w+)\"", script))
    assert used and used <= set(REQUESTS)
    page = (FRESHDESK_APP / "app" / "index.html").read_text()
    assert "{{{appclient}}}" in page
    for ref in re.findall(r'(?:src|href)="((?:scripts|styles)/[^"]+)"', page):
        assert (FRESHDESK_APP / "app" / ref).is_file(), ref
    # No external CDN: everything but the FDK client is served from the app package.
    assert not re.search(r'(?:src|href)="https?://', page)


# --- the packages against the running app -------------------------------------------------


def test_zendesk_signed_url_post_opens_the_sidebar(client: Any, runtime: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from integration import store
    from tests.sidebar.test_auth import NOW, ZENDESK_PUBLIC, zendesk_token

    monkeypatch.setattr(runtime, "now", lambda: NOW)
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="acme", name="Acme", helpdesk="zendesk",
                         base_url="https://acme.zendesk.com",
                         secrets={"email": "a@b.example", "api_token": "t"},
                         settings={"zendesk_app_public_key": ZENDESK_PUBLIC},
                         cipher=runtime.cipher)
    [(_, options)] = _zendesk_locations()
    url = re.sub(r"\{\{setting\.(\w+)\}\}", lambda m: EXAMPLE_SETTINGS[m[1]], options["url"])
    # What Zendesk does with signedUrls: POST the location URL with the JWT as form field.
    path = urlparse(url).path + "?origin=https%3A%2F%2Facme.zendesk.com&app_guid=g1"
    assert client.post(path, data={"token": zendesk_token()}).status_code == 200
    assert client.post(path, data={"token": zendesk_token("globex.zendesk.com")}
                       ).status_code == 403
    assert client.post(path).status_code == 401


def test_freshdesk_request_template_opens_the_sidebar(client: Any, runtime: Any) -> None:
    from integration import store

    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="acme", name="Acme", helpdesk="freshdesk",
                         base_url="https://acme.freshdesk.com",
                         secrets={"api_key": "k", "sidebar_secret": "s3cret-install"},
                         settings={}, cipher=runtime.cipher)
    schema = REQUESTS["escaladeSidebar"]["schema"]
    values = {"iparam": {**EXAMPLE_SETTINGS, "sidebar_secret": "s3cret-install"},
              "context": {"ticket_id": "88", "agent": "sam@acme.example"}}

    def fill(value: str) -> str:
        return PLACEHOLDER.sub(lambda m: values[m[1]][m[2]], value)

    # What the Freshworks proxy sends for client.request.invokeTemplate("escaladeSidebar").
    headers = {k: fill(v) for k, v in schema["headers"].items()}
    response = client.open(fill(schema["path"]), method=schema["method"], headers=headers)
    assert response.status_code == 303
    assert "/sidebar/freshdesk/acme/tickets/88" in response.headers["Location"]
    headers[INSTALL_SECRET_HEADER] = "guessed"
    assert client.open(fill(schema["path"]), method=schema["method"],
                       headers=headers).status_code == 401
