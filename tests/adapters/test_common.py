"""The pieces every helpdesk adapter shares."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from adapters.helpdesk.common import (
    BOT_MARKER,
    comment_bodies,
    has_marker,
    header,
    helpdesk_actions,
    mappings,
    marker_refs,
    number,
    opt_text,
    raw_header,
    tag_names,
    to_html,
    with_marker,
    written_kinds,
)
from adapters.helpdesk.transport import retry_after, status_error, transport_error, transport_errors
from integration.errors import FatalError, RetriableError, Unreachable, ValidationError
from integration.models import Action, ActionKind


def _response(**headers: str) -> requests.Response:
    response = requests.Response()
    response.headers.update(headers)
    return response


@pytest.mark.parametrize(("status", "kind"), [(429, RetriableError), (503, RetriableError),
                                              (408, RetriableError), (409, RetriableError),
                                              (400, FatalError), (404, FatalError),
                                              (422, FatalError)])
def test_status_error(status: int, kind: type) -> None:
    assert isinstance(status_error(status, "x"), kind)


def test_a_vendor_may_narrow_what_is_retriable() -> None:
    assert isinstance(status_error(409, "x", retriable=frozenset({429})), FatalError)
    limited = status_error(429, "x", wait=3.0, retriable=frozenset({429}))
    assert isinstance(limited, RetriableError) and limited.retry_after == 3.0


def test_retry_after_seconds_and_http_date() -> None:
    assert retry_after(_response(**{"Retry-After": "17"})) == 17.0
    now = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
    date = _response(**{"Retry-After": "Fri, 27 Nov 2026 10:00:30 GMT"})
    assert retry_after(date, now=now) == 30.0
    assert retry_after(_response(**{"Retry-After": "soon"})) is None
    assert retry_after(_response()) is None


def test_marker_is_added_once_and_recognised() -> None:
    marked = with_marker("Tier 3 because ...  ")
    assert marked.endswith(BOT_MARKER) and with_marker(marked) == marked
    assert has_marker(marked + "\n") and not has_marker("Customer text")


def test_the_footer_carries_the_ref_and_is_found_in_any_rendering() -> None:
    marked = with_marker("Handoff: refund demand.\n\n— Escalade\n", "3f9a2c1d7e")
    assert marked == "Handoff: refund demand.\n\n— Escalade · ref 3f9a2c1d7e"
    assert with_marker(marked, "3f9a2c1d7e") == marked and has_marker(marked)
    rendered = [
        marked,  # Zendesk body
        "<p>Handoff: refund demand.</p><p>— Escalade · ref 3f9a2c1d7e</p>",  # Intercom part
        "<p>Handoff.</p><p>&mdash; Escalade &middot; ref 0a1b2c3d4e</p>",  # entity-encoded
        "Hi Dana\n\n— Escalade",  # before refs: no ref
        "Our ref 1234567890 is on the invoice",  # a customer's own "ref": not ours
        None,
    ]
    assert marker_refs(rendered) == {"3f9a2c1d7e", "0a1b2c3d4e"}


@pytest.mark.parametrize(
    ("err", "write", "kind", "uncertain"),
    [
        (requests.ConnectTimeout("no route"), True, RetriableError, False),  # never sent
        (requests.ReadTimeout("no answer"), True, RetriableError, True),
        (requests.ConnectionError("reset by peer"), True, RetriableError, True),
        (requests.ReadTimeout("no answer"), False, RetriableError, False),  # a read
        (requests.TooManyRedirects("loop"), True, FatalError, False),
    ],
)
def test_a_write_that_may_have_landed_is_retried_unsure(
    err: requests.RequestException, write: bool, kind: type, uncertain: bool
) -> None:
    error = transport_error("zendesk", err, write=write)
    assert isinstance(error, kind)
    assert getattr(error, "uncertain", False) is uncertain


@pytest.mark.parametrize(("status", "uncertain"), [(500, True), (502, True), (504, True),
                                                   (503, False), (429, False)])
def test_a_server_error_on_a_write_is_unsure(status: int, uncertain: bool) -> None:
    error = status_error(status, "x", write=True)
    assert isinstance(error, RetriableError) and error.uncertain is uncertain
    read = status_error(status, "x")
    assert isinstance(read, RetriableError) and read.uncertain is False


def test_readers_name_the_bad_path() -> None:
    with pytest.raises(ValidationError, match=r"items\[1\]: expected an object"):
        mappings([{}, 3], "items")
    assert number("180,000", "arr") == 180000.0
    with pytest.raises(ValidationError, match="arr"):
        number("lots", "arr")


def test_install_options_are_checked_with_the_vendor_named() -> None:
    from adapters.helpdesk.common import option_id, option_id_map, site_root
    from integration.errors import ConfigurationError

    assert site_root("zendesk", "https://acme.zendesk.com/", "x") == "https://acme.zendesk.com"
    with pytest.raises(ConfigurationError, match="freshdesk: base_url is required"):
        site_root("freshdesk", None, "https://<domain>.freshdesk.com")
    with pytest.raises(ConfigurationError, match="base_url is not a URL"):
        site_root("intercom", "acme.example", "x")
    assert option_id("zendesk", 42, "bot_user_id") == "42" and option_id("x", "", "y") is None
    with pytest.raises(ConfigurationError, match="zendesk: options.bot_user_id must be a numeric"):
        option_id("zendesk", "bot", "bot_user_id")
    assert option_id_map("intercom", {"escalations": 7}, "team_ids") == {"escalations": "7"}
    with pytest.raises(ConfigurationError, match="options.group_ids.vip has no id"):
        option_id_map("freshdesk", {"vip": None}, "group_ids")
    with pytest.raises(ConfigurationError, match="must map names to ids"):
        option_id_map("freshdesk", [1, 2], "group_ids")


# --- actions as every helpdesk receives them ------------------------------------------------


def _act(kind: ActionKind, target: str = "helpdesk", **payload: object) -> Action:
    return Action(kind=kind, target=target, payload=payload)


ACTIONS = [
    _act(ActionKind.ADD_TAGS, tags=[" escalade_tier_3 ", ""]),
    _act(ActionKind.ALERT, target="helpdesk", tier=3),
    _act(ActionKind.ALERT, target="slack", tier=3),
    _act(ActionKind.SET_FIELD, field="tier", value=3),
    _act(ActionKind.INTERNAL_NOTE, body="  Handoff  "),
    _act(ActionKind.INTERNAL_NOTE, body="More"),
    _act(ActionKind.ADD_TAGS, tags=["escalade_refund"]),
]


def test_helpdesk_actions_leave_out_alerts_and_other_targets() -> None:
    kept = helpdesk_actions(ACTIONS)
    assert [a.kind for a in kept] == [ActionKind.ADD_TAGS, ActionKind.SET_FIELD,
                                      ActionKind.INTERNAL_NOTE, ActionKind.INTERNAL_NOTE,
                                      ActionKind.ADD_TAGS]


def test_tag_names_and_comment_bodies_are_stripped_and_checked() -> None:
    assert tag_names(ACTIONS[0]) == ["escalade_tier_3"]
    with pytest.raises(ValidationError, match="add_tags.tags"):
        tag_names(_act(ActionKind.ADD_TAGS, tags="escalade_tier_3"))
    assert comment_bodies(ACTIONS, ActionKind.INTERNAL_NOTE) == ["Handoff", "More"]
    with pytest.raises(ValidationError, match="public_reply.body"):
        comment_bodies([_act(ActionKind.PUBLIC_REPLY, body="  ")], ActionKind.PUBLIC_REPLY)


def test_written_kinds_skip_an_unconfigured_tier_field() -> None:
    assert written_kinds(ACTIONS, tier_target=None) == (ActionKind.ADD_TAGS,
                                                        ActionKind.INTERNAL_NOTE)
    assert written_kinds(ACTIONS, tier_target="cf_tier") == (
        ActionKind.ADD_TAGS, ActionKind.SET_FIELD, ActionKind.INTERNAL_NOTE)
    assert written_kinds(ACTIONS, tier_target=7, only={ActionKind.SET_FIELD}) == (
        ActionKind.SET_FIELD,)


def test_to_html_keeps_paragraphs_and_line_breaks_and_escapes() -> None:
    assert to_html("  Hi <Dana>,\nline two\n\n\n  Bye  ") == (
        "<p>Hi &lt;Dana&gt;,<br>line two</p><p>Bye</p>")


def test_headers_are_found_whatever_their_case() -> None:
    headers = {"x-escalade-install-secret": " s3cret "}
    assert raw_header(headers, "X-Escalade-Install-Secret") == " s3cret "
    assert header(headers, "X-Escalade-Install-Secret") == "s3cret"
    assert raw_header(headers, "X-Other") is None and header(headers, "X-Other") is None


def test_opt_text() -> None:
    assert [opt_text(v) for v in (None, "", "  ", 0, "x ")] == [None, None, None, "0", "x "]


def test_transport_errors_name_what_failed_below_http() -> None:
    with pytest.raises(Unreachable) as info, transport_errors("intercom", write=True):
        raise requests.ReadTimeout("read timed out")
    assert info.value.uncertain and info.value.reason == "timed out"
    with pytest.raises(FatalError, match="intercom: TooManyRedirects"), \
            transport_errors("intercom"):
        raise requests.TooManyRedirects("loop")
