"""The history audit and the matrix replay: pure engines over iterables of past tickets.

- ``exports.read_export`` / ``read_organizations``: a Zendesk or Freshdesk CSV export, streamed.
- ``outcomes.with_outcomes``: what happened to a stored ticket (escalated, times, SLA, label).
- ``report.run_audit``: segments, SLA, spikes, label checks, ranked triggers; ``audit_json``
  and ``page.render_html`` write the report.
- ``replay.replay``: two matrices over one history; ``replay_json`` writes it.
- ``run``: files in (``audit_csv``, ``replay_csv``), report files out (``write_report``).
"""
