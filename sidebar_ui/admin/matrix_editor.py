"""``/admin/matrix``: edit the escalation matrix YAML, validated and replayed before saving.

The editor opens the file the admin saved last (``VAR_DIR/matrix.yaml``) if there is one,
else the matrix in force (``MATRIX_PATH`` or the packaged default). "Validate" and "Save"
both run the loader; any problem is listed with its line and field, the lines are marked in
the gutter, and the answer is 422 with nothing written. A valid matrix is replayed over the
stored history (the newest tickets of the last weeks, every workspace) against the matrix in
force: tickets per tier, Tier-3 alerts per day, agreement with the escalations the history
records, and every ticket that would change tier with the rules behind it. "Save" writes
only a text whose replay the admin has seen (the form carries its digest); otherwise it
shows the replay first. It writes ``VAR_DIR/matrix.yaml`` (never the package) atomically and
refuses if the file changed since the editor opened it. The running app keeps the matrix it
started with: the page says what makes the saved one live.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import request

from integration import store
from integration.files import write_whole
from integration.matrix import Matrix, MatrixError, MatrixIssue, load_matrix_text
from integration.matrix.loader import DEFAULT_PATH
from integration.store.history import history_floor, stored_history
from sidebar_ui.admin.core import bp, page, runtime

__all__ = ["current_matrix", "matrix_page", "matrix_submit", "saved_path"]

SOURCE = "matrix.yaml"
# The replay reads at most this many of the newest stored tickets of this many days, so the
# page answers in seconds; it lists this many tickets that change tier.
REPLAY_DAYS = 30
REPLAY_TICKETS = 3000
REPLAY_LISTED = 50


def saved_path() -> Path:
    """Where the admin UI saves the matrix."""
    return Path(runtime().config["VAR_DIR"]) / "matrix.yaml"


def _in_force_path() -> Path:
    return Path(runtime().matrix_path)


def _is_live(path: Path) -> bool:
    return _in_force_path().resolve() == path.resolve()


def _current() -> tuple[Path, str]:
    # A MATRIX_PATH that names a file not written yet opens the packaged default.
    for path in (saved_path(), _in_force_path()):
        if path.is_file():
            return path, path.read_text(encoding="utf-8")
    return DEFAULT_PATH, DEFAULT_PATH.read_text(encoding="utf-8")


def current_matrix() -> tuple[Path, str]:
    """The file the editor opens and its text (the monthly review edits the same text)."""
    return _current()


def _in_force_version() -> str:
    try:
        return str(runtime().matrix.version)
    except MatrixError as err:
        # The editor is how an admin fixes a matrix the app cannot load.
        return f"none (cannot load: {err})"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _replay(matrix: Matrix) -> dict[str, Any] | None:
    """The new matrix against the one in force over the newest stored tickets; None if none."""
    from integration.audit.replay import replay, replay_json

    rt = runtime()
    try:
        current = rt.matrix
    except MatrixError:
        return None
    since = rt.now() - timedelta(days=REPLAY_DAYS)
    with store.session_scope(rt.sessions) as s:
        floor = history_floor(s, since=since, newest=REPLAY_TICKETS)
    tickets = stored_history(rt.sessions, tenant_id=None, since=since, after_id=floor)
    data = replay_json(replay(tickets, new=matrix, current=current, max_changes=REPLAY_LISTED))
    return data if data["tickets"] else None


def _render(text: str, *, base: str, code: int = 200, issues: list[MatrixIssue] | None = None,
            notice: str | None = None, valid_version: str | None = None,
            replayed: dict[str, Any] | None = None) -> Any:
    path, _ = _current()
    issues = issues or []
    bad_lines = {i.line for i in issues if i.line is not None}
    rows = max(20, min(40, text.count("\n") + 2))
    return page(
        "admin/matrix.html", code,
        text=text, base=base, issues=issues, bad_lines=bad_lines,
        line_count=text.count("\n") + 1, rows=rows,
        opened=path, opened_is_saved=path == saved_path(), live=_is_live(saved_path()),
        in_force=_in_force_path(), packaged=_in_force_path() == DEFAULT_PATH,
        in_force_version=_in_force_version(),
        saved=saved_path(), notice=notice, valid_version=valid_version,
        replay=replayed, replayed_digest=_digest(text) if replayed is not None else "",
        replay_days=REPLAY_DAYS, replay_tickets=REPLAY_TICKETS,
    )


@bp.get("/matrix")
def matrix_page() -> Any:
    """The editor with the current matrix."""
    _, text = _current()
    return _render(text, base=_digest(text))


@bp.post("/matrix")
def matrix_submit() -> Any:
    """Validate (``op=validate``) or validate and save (``op=save``)."""
    # Browsers send CRLF from a textarea; the file and its line numbers use LF.
    text = request.form.get("matrix", "").replace("\r\n", "\n")
    base = request.form.get("base", "")
    try:
        matrix = load_matrix_text(text, source=SOURCE)
    except MatrixError as err:
        return _render(text, base=base, code=422, issues=list(err.issues))
    replayed = _replay(matrix)
    if request.form.get("op") != "save":
        return _render(text, base=base, notice="valid", valid_version=matrix.version,
                       replayed=replayed)
    if replayed is not None and request.form.get("replayed") != _digest(text):
        # Nothing is saved before the admin has seen what this text would change.
        return _render(text, base=base, notice="review", valid_version=matrix.version,
                       replayed=replayed)
    _, on_disk = _current()
    if base != _digest(on_disk):
        return _render(text, base=base, code=409, notice="conflict")
    write_whole(saved_path(), text)
    return _render(text, base=_digest(text), notice="saved", valid_version=matrix.version,
                   replayed=replayed)
