"""What operations see: Prometheus metrics at /metrics and log lines that name their ticket."""

from __future__ import annotations

import io
import json
import logging
import re
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from integration.errors import ConfigurationError
from integration.logs import JsonFormatter, TextFormatter, configure_logging, log_context
from integration.metrics import Family, exposition
from integration.web import create_app
from integration.worker import run_once
from scheduler import run_sla_sweep
from tests.conftest import make_ticket, post_sandbox, sandbox_body

SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"]*",?)*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$')


def scrape(client: Any, **headers: str) -> dict[str, float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    out = {}
    for line in response.get_data(as_text=True).splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ .+$", line), line
            continue
        assert SAMPLE.match(line), line
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


def test_metrics_count_webhooks_events_decisions_and_write_backs(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    before = scrape(client)
    assert before["escalade_database_up"] == 1
    assert before["escalade_decisions_total"] == 0
    body = sandbox_body(make_ticket(), delivery_id="d1")
    assert post_sandbox(client, body).status_code == 202
    assert post_sandbox(client, body).status_code == 200
    assert post_sandbox(client, body, secret="wrong").status_code == 401
    waiting = scrape(client)
    assert waiting['escalade_inbound_events{status="pending"}'] == 1
    run_once(runtime)
    after = scrape(client)
    assert after['escalade_webhooks_total{helpdesk="sandbox",outcome="accepted"}'] == 1
    assert after['escalade_webhooks_total{helpdesk="sandbox",outcome="duplicate"}'] == 1
    assert after['escalade_webhooks_total{helpdesk="sandbox",outcome="refused"}'] == 1
    assert after['escalade_inbound_events{status="done"}'] == 1
    assert after["escalade_decisions_total"] == 1
    assert after["escalade_event_queue_lag_seconds"] == 0
    assert f'escalade_info{{matrix_version="{runtime.matrix.version}"}}' in after


def test_a_strangers_helpdesk_name_makes_no_new_series(client: Any, sandbox_tenant: str) -> None:
    client.post("/webhooks/made-up/demo", data=b"{}", headers={"Content-Type": "application/json"})
    names = scrape(client)
    assert not any("made-up" in name for name in names)
    assert names['escalade_webhooks_total{helpdesk="other",outcome="refused"}'] == 1


def test_the_sla_sweep_is_timed(client: Any, runtime: Any) -> None:
    run_sla_sweep(runtime, runtime.now)
    figures = scrape(client)
    assert figures["escalade_sla_sweeps_total"] == 1
    assert figures["escalade_sla_sweep_last_seconds"] > 0


def test_a_metrics_token_is_required_when_set(app_config: dict[str, Any]) -> None:
    app = create_app({**app_config, "METRICS_TOKEN": "scrape-me"})
    client = app.test_client()
    try:
        refused = client.get("/metrics")
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
        assert client.get("/metrics",
                          headers={"Authorization": "Bearer nope"}).status_code == 401
        assert scrape(client, Authorization="Bearer scrape-me")["escalade_database_up"] == 1
    finally:
        app.extensions["escalade"].engine.dispose()


def test_the_process_metrics_stay_while_the_database_is_away(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def away(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr("integration.web.metrics.cluster_figures", away)
    figures = scrape(client)
    assert figures["escalade_database_up"] == 0
    assert "escalade_sla_sweeps_total" in figures and "escalade_decisions_total" not in figures


def test_exposition_escapes_label_values() -> None:
    text = exposition([Family(name="x", kind="gauge", help="h",
                              samples=(({"v": 'a"b\\c\nd'}, 1.5),))])
    assert text == '# HELP x h\n# TYPE x gauge\nx{v="a\\"b\\\\c\\nd"} 1.5\n'


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            import sys

            info = sys.exc_info()
    return logging.LogRecord("integration.pipeline", logging.WARNING, __file__, 1, message,
                             args, info)


def test_json_lines_carry_the_ticket_and_tenant() -> None:
    with log_context(tenant="acme", ticket="4711"), log_context(event=17):
        line = json.loads(JsonFormatter().format(record("decided %s", "4711", exc=True)))
    assert line["message"] == "decided 4711" and line["level"] == "warning"
    assert (line["tenant"], line["ticket"], line["event"]) == ("acme", "4711", "17")
    assert "RuntimeError: boom" in line["error"]
    assert line["ts"].endswith("Z")
    outside = json.loads(JsonFormatter().format(record("idle")))
    assert "tenant" not in outside


def test_text_lines_name_the_ids_at_the_end() -> None:
    with log_context(tenant="acme", ticket="4711"):
        text = TextFormatter().format(record("decided"))
    assert text.endswith("WARNING integration.pipeline: decided [tenant=acme ticket=4711]")


def test_configure_logging_picks_json_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    stream = io.StringIO()
    configure_logging("INFO", "auto", stream)
    with log_context(tenant="acme"):
        logging.getLogger("escalade.test").info("hello")
    assert json.loads(stream.getvalue())["tenant"] == "acme"
    with pytest.raises(ConfigurationError, match="LOG_FORMAT"):
        monkeypatch.setattr(root, "handlers", [])
        configure_logging("INFO", "yaml", stream)


def test_every_line_about_a_delivery_names_its_workspace_ticket_and_row(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    from integration.logs import _Context

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_Context())
    watched = [logging.getLogger(n) for n in ("integration.outbox", "integration.pipeline")]
    for logger in watched:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        body = sandbox_body(make_ticket(id="77"), delivery_id="d77")
        assert post_sandbox(client, body).status_code == 202
        run_once(runtime)
    finally:
        for logger in watched:
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    delivered = [line for line in lines if "delivered to helpdesk" in line["message"]]
    decided = [line for line in lines if line["message"].startswith("decided ")]
    assert delivered and decided
    assert (delivered[0]["tenant"], delivered[0]["ticket"]) == ("demo", "77")
    assert delivered[0]["outbox"].isdigit()
    assert (decided[0]["tenant"], decided[0]["ticket"]) == ("demo", "77")
    assert decided[0]["event"].isdigit()
