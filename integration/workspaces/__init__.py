"""Setting a workspace up: what the CLI and the admin pages share.

- ``validation``: what an admin types for a workspace, checked (fields, credentials,
  options, the group mapping); no store, no vendor calls;
- ``connector_fields``: what an admin types to connect Slack, HubSpot, Jira or Linear;
- ``install_secrets``: the secrets a helpdesk or tracker proves itself with, and their
  rotation;
- ``connection_tests``: calling a vendor once with a workspace's settings, recording the
  result, and what each connection's badge says;
- ``service``: adding a workspace, connecting a service, the group mapping, setting
  per-install secrets, and the webhook URLs to register.

``escalade tenant ...`` (``integration.cli.tenant``) and the admin's workspace pages
(``sidebar_ui.admin``) call the same functions, so the same input gets the same answer.
"""
