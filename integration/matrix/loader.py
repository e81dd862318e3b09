"""Load and validate a matrix file; every problem is reported with file, line and field.

Validation runs in three passes over one composed YAML node tree: YAML syntax and duplicate
keys, the structure (pydantic), then what pydantic cannot see (``compiler``: conditions,
trigger, calendar and template references, duplicate rule ids). All problems of a pass are
reported together, each located by walking the node tree along the error's path.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError as PydanticValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from integration.errors import EscaladeError
from integration.matrix.compiler import Loc, compile_matrix, suggest
from integration.matrix.schema import FILE_MODELS, Matrix, MatrixModel

__all__ = [
    "MatrixError",
    "MatrixIssue",
    "check_file",
    "default_matrix",
    "load_matrix",
    "load_matrix_text",
]

DEFAULT_PATH = Path(__file__).with_name("default.yaml")
_KNOWN_KEYS = sorted({name for m in FILE_MODELS for name in m.model_fields} | {"from"})
# libyaml's parser (same safe constructor and resolver) reads a valid file about ten times
# faster; a file it refuses is read again by the pure-Python parser, whose messages we show.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, kw_only=True, slots=True)
class MatrixIssue:
    """One problem in a matrix file: where (file, line, field) and what."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class MatrixError(EscaladeError):
    """A matrix file that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, issues: list[MatrixIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def load_matrix(path: str | Path) -> Matrix:
    """Read and validate a matrix file; raises ``MatrixError``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise _single(str(path), None, f"cannot read: {reason}") from err
    return load_matrix_text(text, source=str(path))


def check_file(path: str | Path) -> list[MatrixIssue]:
    """Every problem in the file at ``path``; ``[]`` when it is valid."""
    try:
        load_matrix(path)
    except MatrixError as err:
        return list(err.issues)
    return []


@functools.cache
def default_matrix() -> Matrix:
    """The packaged default matrix (the default escalation policy), loaded once."""
    return load_matrix(DEFAULT_PATH)


def load_matrix_text(text: str, *, source: str = "<matrix>") -> Matrix:
    """Validate matrix YAML given as text; ``source`` names it in error messages."""
    root = _compose(text, source)
    issues = [
        MatrixIssue(file=source, line=line, field=".".join(str(p) for p in loc), message=msg)
        for loc, line, msg in _duplicate_keys(root, ())
    ]
    if issues:
        raise MatrixError(issues)
    try:
        data = _fast(yaml.load, text)
    except yaml.MarkedYAMLError as err:  # e.g. a !!python tag the safe loader refuses
        line = err.problem_mark.line + 1 if err.problem_mark is not None else None
        raise _single(source, line, f"invalid YAML: {err.problem}") from err
    if not isinstance(data, dict):
        raise _single(source, 1, "expected a mapping")
    try:
        model = MatrixModel.model_validate(data)
    except PydanticValidationError as err:
        raise MatrixError(
            [_issue(source, root, tuple(e["loc"]), _message(e)) for e in err.errors()]
        ) from err
    # Files the matrix names (an iCal of holidays) sit beside it; text has no place: cwd.
    base_dir = Path(source).parent if Path(source).is_file() else Path.cwd()
    matrix, problems = compile_matrix(model, text=text, source=source, base_dir=base_dir)
    if matrix is None:
        raise MatrixError([_issue(source, root, loc, msg) for loc, msg in problems])
    return matrix


# --- YAML nodes and line numbers ----------------------------------------------------------


def _compose(text: str, source: str) -> Node:
    try:
        root = _fast(yaml.compose, text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        raise _single(source, line, f"invalid YAML: {err.problem or err.context or err}") from err
    except yaml.YAMLError as err:
        raise _single(source, None, f"invalid YAML: {err}") from err
    if root is None:
        raise _single(source, 1, "the file is empty")
    return root


def _fast(read: Any, text: str) -> Any:
    """``read(text)`` with libyaml; on any YAML error, with the pure-Python parser."""
    try:
        return read(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return read(text, Loader=yaml.SafeLoader)


def _single(source: str, line: int | None, message: str) -> MatrixError:
    return MatrixError([MatrixIssue(file=source, line=line, field="", message=message)])


def _duplicate_keys(node: Node, loc: Loc) -> Iterator[tuple[Loc, int, str]]:
    # PyYAML silently keeps the last of two equal keys; in a policy file that hides typos.
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else str(key)
            line = key.start_mark.line + 1
            if name in seen:
                yield (*loc, name), line, f"duplicate key {name!r} (first at line {seen[name]})"
            else:
                seen[name] = line
            yield from _duplicate_keys(value, (*loc, name))
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, index))


def _locate(root: Node, loc: Loc) -> tuple[int, str]:
    """The line of the deepest node along ``loc`` and the dotted field path."""
    node: Node | None = root
    line = root.start_mark.line + 1
    parts: list[str] = []
    for step in loc:
        if step == "[key]":
            continue
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.value == str(step):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                node = None
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            node = None
        parts.append(str(step))
    return line, ".".join(parts)


def _issue(source: str, root: Node, loc: Loc, message: str) -> MatrixIssue:
    line, path = _locate(root, loc)
    return MatrixIssue(file=source, line=line, field=path, message=message)


def _message(error: Any) -> str:
    kind, msg, value = error["type"], str(error["msg"]), error.get("input")
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        return f"unknown key {key!r}{suggest(key, _KNOWN_KEYS)}"
    if kind == "missing":
        return "is required"
    if kind == "string_pattern_mismatch":
        return f"invalid id {value!r} (use lower-case letters, digits and _)"
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    if isinstance(value, str | int | float | bool) or value is None:
        return f"{msg}, got {value!r}"
    return msg
