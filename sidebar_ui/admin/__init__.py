"""The admin UI: session login, workspaces and their connections, the matrix editor, the outbox.

``bp`` (name "admin", under ``/admin``) is defined in ``core``; the page modules add their
routes to it when imported here, so registering ``bp`` brings every admin page.
"""

from __future__ import annotations

from sidebar_ui.admin import accounts_view as accounts_view  # noqa: F401 (routes)
from sidebar_ui.admin import audit_view as audit_view  # noqa: F401 (routes)
from sidebar_ui.admin import connections as connections  # noqa: F401 (routes)
from sidebar_ui.admin import dashboard_view as dashboard_view  # noqa: F401 (routes)
from sidebar_ui.admin import matrix_editor as matrix_editor  # noqa: F401 (routes)
from sidebar_ui.admin import outbox_view as outbox_view  # noqa: F401 (routes)
from sidebar_ui.admin import review_view as review_view  # noqa: F401 (routes)
from sidebar_ui.admin import secrets_panel as secrets_panel  # noqa: F401 (routes)
from sidebar_ui.admin import workspace as workspace  # noqa: F401 (routes)
from sidebar_ui.admin.core import bp

__all__ = ["bp"]
