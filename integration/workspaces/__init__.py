"""Setting a workspace up: what the CLI and the admin pages share.

- ``validation``: what an admin types, checked (fields, options, connector settings,
  per-install secrets and their rotation); no store, no vendor calls;
- ``service``: adding a workspace, connecting a service, testing a connection and recording
  the result, the group mapping, per-install secrets, and the webhook URLs to register.

``escalade tenant ...`` (``integration.cli.tenant``) and the admin's workspace pages
(``sidebar_ui.admin``) call the same functions, so the same input gets the same answer.
"""
