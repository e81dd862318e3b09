"""The web side of Escalade: the Flask app and every endpoint that is not a page.

- ``app``: ``create_app(test_config=None)`` wires config, the runtime and the blueprints;
- ``strict``: how every request is read (strict JSON, control characters refused);
- ``errors``: one answer for every error (JSON, or a small page for browsers), the favicon;
- ``health``: ``/healthz``, ``/readyz`` and the 503 while the database is away;
- ``helpdesk_webhooks``: ``/webhooks/<helpdesk>/<tenant>`` (verify, store, acknowledge);
- ``tracker_webhooks``: ``/webhooks/jira|linear/<tenant>`` (a bug was resolved);
- ``slack_actions``: ``/slack/events`` (an alert's buttons, into the outbox).

The agent sidebar and the admin pages are their own package, ``sidebar_ui``.
"""

from __future__ import annotations

from integration.web.app import create_app

__all__ = ["create_app"]
