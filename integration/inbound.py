"""Reading what strangers send: strict JSON, secrets compared safely, text safe to log.

Every request body, header and form field is hostile until proven otherwise. ``load_json``
refuses what ``json.loads`` lets through but the rest of the code cannot take (nesting deep
enough to exhaust the stack, integers past Python's digit limit, NaN and infinities that no
database JSON column stores, lone surrogates and NUL that PostgreSQL text refuses), each as a
``ValidationError`` naming the field. ``same_secret`` compares a presented secret or signature
in constant time whatever characters it holds (``hmac.compare_digest`` raises ``TypeError``
on non-ASCII text). ``loggable`` makes a value safe for a one-line log entry.
"""

from __future__ import annotations

import hmac
import json
import math
from typing import Any

from integration.errors import ValidationError

__all__ = ["MAX_DEPTH", "MAX_NUMBER_CHARS", "load_json", "loggable", "same_secret"]

# Vendor payloads nest a dozen levels at most; the limit leaves room and keeps every later
# recursive walk (serializers, SQLAlchemy's JSON type) far from Python's recursion limit.
MAX_DEPTH = 64
# Ids and amounts fit in 40 characters; the int conversion is quadratic past that anyway.
MAX_NUMBER_CHARS = 40


def _number(text: str) -> float | int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})")
    value = float(text) if any(c in text for c in ".eE") else int(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")


def load_json(data: bytes | str, *, field: str = "body") -> Any:
    """Parse untrusted JSON, or raise ``ValidationError(field, ...)`` saying what is wrong."""
    if isinstance(data, bytes):
        try:
            # Strict UTF-8: encoded surrogates, which json.loads would let through, fail here.
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValidationError(field, f"not UTF-8: {err.reason} at byte {err.start}") from err
    else:
        text = data
    try:
        value = json.loads(text, parse_int=_number, parse_float=_number,
                           parse_constant=_constant)
    except json.JSONDecodeError as err:
        raise ValidationError(field, f"not valid JSON: {err}") from err
    except RecursionError as err:
        raise ValidationError(field, f"nested deeper than {MAX_DEPTH} levels") from err
    except ValueError as err:  # from _number / _constant
        raise ValidationError(field, str(err)) from err
    _check_tree(value, field)
    return value


def _check_tree(value: Any, field: str) -> None:
    # Iterative, so a deep document cannot exhaust the stack while being checked.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, field)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ValidationError(field, f"nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key, field)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _check_text(text: str, field: str) -> None:
    if "\x00" in text:
        raise ValidationError(field, "text contains the NUL character (\\u0000)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        code = ord(text[err.start])
        raise ValidationError(field, f"text contains a lone surrogate (\\u{code:04x})") from err


def same_secret(given: str | bytes | None, expected: str | bytes | None) -> bool:
    """Constant-time equality of a presented secret and the real one; any characters."""
    if not given or not expected:
        return False
    return hmac.compare_digest(_raw(given), _raw(expected))


def _raw(value: str | bytes) -> bytes:
    # surrogatepass: a header can carry anything; it must compare unequal, never raise.
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def loggable(value: object, limit: int = 300) -> str:
    """``value`` as one printable line: control characters escaped, cut at ``limit``."""
    text = str(value)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text)} chars)"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)
