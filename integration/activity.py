"""Where product activity and billing context come from, per tenant: HTTP JSON or a CSV file.

What the core reads of it (the ``Activity`` record, the login trend) is in
``integration.engagement``; this module only fetches and parses.

Settings (one source per tenant)::

    {"kind": "http", "url": "https://app.example.com/escalade/activity",
     "token": "...", "timeout": 3}
    {"kind": "csv", "path": "activity.csv"}

HTTP: ``GET url?account_id=…&domain=…&email=…`` (only the known ones) with ``Authorization:
Bearer <token>``; the answer is one JSON object with the ``Activity`` fields (unknown keys are
ignored, a field of the wrong type is dropped with a warning). A 404 means "no such account".
Timeouts, connection errors, 5xx and bad JSON are logged and give ``None``: activity is
context, it never blocks triage.

CSV: a header row with ``account_id, domain, logins_30d, logins_prev_30d, features_used``
(semicolon-separated), ``last_page, plan, mrr, renewal_date`` (YYYY-MM-DD); empty cells are
unknown. Read once, re-read when the file changes. A malformed file raises
``ActivityFileError`` ("activity.csv:3: mrr: not a number: 'abc'") from ``load()``; ``lookup``
logs it and keeps answering from the last good read.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from integration.engagement import Activity
from integration.errors import ValidationError

__all__ = [
    "ActivityFileError",
    "ActivitySource",
    "CsvActivitySource",
    "HttpActivitySource",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 3.0
MAX_TIMEOUT = 30.0
# How long an answer of the HTTP source is reused, and how many are kept.
DEFAULT_CACHE_SECONDS = 300.0
_CACHE_ENTRIES = 10_000


class ActivityFileError(ValidationError):
    """A malformed activity CSV: names the file, the line and the column."""

    def __init__(self, path: Path, line: int, column: str, message: str) -> None:
        super().__init__(column, message, line=line)
        self.path = path
        self.args = (f"{path.name}:{line}: {column}: {message}",)


class ActivitySource(ABC):
    """Where a tenant's product activity comes from."""

    kind: str

    @abstractmethod
    def lookup(
        self, *, account_id: str | None, domain: str | None, email: str | None
    ) -> Activity | None:
        """The account's activity, or None when unknown or the source is unreachable."""

    @staticmethod
    def from_settings(
        settings: Any,
        *,
        session: requests.Session | None = None,
        base_dir: Path | None = None,
    ) -> ActivitySource:
        """Validate a tenant's activity settings and build the source they name."""
        if not isinstance(settings, Mapping):
            raise ValidationError("activity", "expected an object")
        kind = settings.get("kind")
        if kind == "http":
            _only(settings, {"kind", "url", "token", "timeout"})
            url = settings.get("url")
            if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
                raise ValidationError("activity.url", f"expected an http(s) URL, got {url!r}")
            if not urlsplit(url).netloc:
                raise ValidationError("activity.url", f"URL has no host: {url!r}")
            token = settings.get("token")
            if token is not None and (not isinstance(token, str) or not token.strip()):
                raise ValidationError("activity.token", "expected a non-empty string")
            timeout = settings.get("timeout", DEFAULT_TIMEOUT)
            if (
                isinstance(timeout, bool)
                or not isinstance(timeout, int | float)
                or not 0 < timeout <= MAX_TIMEOUT
            ):
                raise ValidationError(
                    "activity.timeout", f"expected seconds in (0, {MAX_TIMEOUT:g}], got {timeout!r}"
                )
            return HttpActivitySource(url=url, token=token, timeout=float(timeout), session=session)
        if kind == "csv":
            _only(settings, {"kind", "path"})
            path = settings.get("path")
            if not isinstance(path, str) or not path.strip():
                raise ValidationError("activity.path", "expected a file path")
            full = Path(path)
            if not full.is_absolute() and base_dir is not None:
                full = base_dir / full
            return CsvActivitySource(path=full)
        raise ValidationError("activity.kind", f"expected 'http' or 'csv', got {kind!r}")


class HttpActivitySource(ActivitySource):
    """Asks the tenant's endpoint; answers (and "unknown account") are kept ``cache_seconds``.

    Failures are not cached: the next ticket asks again.
    """

    kind = "http"

    def __init__(
        self,
        *,
        url: str,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[tuple[str, ...], tuple[float, Activity | None]] = {}
        self._lock = threading.Lock()
        self._token = token
        self._session = session or requests.Session()
        # Logs name the endpoint without its query string (it may carry a key).
        parts = urlsplit(url)
        self._where = f"{parts.scheme}://{parts.netloc}{parts.path}"

    def lookup(
        self, *, account_id: str | None, domain: str | None, email: str | None
    ) -> Activity | None:
        """GET the endpoint (or the cache); None (and a warning) on any failure."""
        params = {
            k: v for k, v in (("account_id", account_id), ("domain", domain), ("email", email)) if v
        }
        if not params:
            return None
        key = (account_id or "", domain or "", email or "")
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1]
        found, cacheable = self._fetch(params)
        if cacheable:
            with self._lock:
                if len(self._cache) > _CACHE_ENTRIES:
                    self._cache.clear()
                self._cache[key] = (now, found)
        return found

    def _fetch(self, params: Mapping[str, str]) -> tuple[Activity | None, bool]:
        # (activity, whether the answer may be cached): failures are retried next time.
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = self._session.get(
                self.url, params=params, headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            log.warning("activity endpoint %s timed out after %gs", self._where, self.timeout)
            return None, False
        except requests.RequestException as err:
            log.warning("activity endpoint %s unreachable: %s", self._where, type(err).__name__)
            return None, False
        if response.status_code == 404:
            return None, True
        if not response.ok:
            log.warning("activity endpoint %s answered %s", self._where, response.status_code)
            return None, False
        try:
            data = response.json()
        except ValueError:
            log.warning("activity endpoint %s answered something that is not JSON", self._where)
            return None, False
        if not isinstance(data, Mapping):
            log.warning("activity endpoint %s answered JSON that is not an object", self._where)
            return None, False
        return _lenient(data, self._where), True


class CsvActivitySource(ActivitySource):
    """Reads a CSV export, re-reading it when the file changes."""

    kind = "csv"

    def __init__(self, *, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._by_id: dict[str, Activity] = {}
        self._by_domain: dict[str, Activity] = {}

    def load(self) -> int:
        """Read the file now; returns the number of rows, raises ``ActivityFileError``."""
        with self._lock:
            return self._load(self._stamp())

    def lookup(
        self, *, account_id: str | None, domain: str | None, email: str | None
    ) -> Activity | None:
        """Match on account id, then domain, then the e-mail's domain."""
        with self._lock:
            try:
                stamp = self._stamp()
                if stamp != self._seen:
                    self._load(stamp)
            except OSError as err:
                log.warning("activity file %s unreadable: %s", self.path, err.strerror or err)
                return None
            except ActivityFileError as err:
                log.warning("activity file is malformed, using the last good read: %s", err)
            if account_id and account_id.strip() in self._by_id:
                return self._by_id[account_id.strip()]
            for candidate in (domain, email.rsplit("@", 1)[1] if email and "@" in email else None):
                key = _domain(candidate)
                if key and key in self._by_domain:
                    return self._by_domain[key]
            return None

    def _stamp(self) -> tuple[int, int]:
        stat = os.stat(self.path)
        return stat.st_mtime_ns, stat.st_size

    def _load(self, stamp: tuple[int, int]) -> int:
        # Marked as seen before parsing: a broken file is reported once, not on every lookup.
        self._seen = stamp
        with self.path.open(newline="", encoding="utf-8-sig") as handle:
            rows = csv.DictReader(handle)
            try:
                by_id, by_domain, count = self._read(rows)
            except (UnicodeDecodeError, csv.Error) as err:
                problem = "not UTF-8 text" if isinstance(err, UnicodeDecodeError) else str(err)
                raise ActivityFileError(self.path, rows.line_num or 1, "file", problem) from err
        self._by_id, self._by_domain = by_id, by_domain
        return count

    def _read(
        self, rows: csv.DictReader[str]
    ) -> tuple[dict[str, Activity], dict[str, Activity], int]:
        header = [h.strip() for h in rows.fieldnames or ()]
        if "account_id" not in header and "domain" not in header:
            raise ActivityFileError(
                self.path, 1, "header", "needs an account_id or a domain column"
            )
        rows.fieldnames = header
        by_id: dict[str, Activity] = {}
        by_domain: dict[str, Activity] = {}
        count = 0
        for row in rows:
            line = rows.line_num
            if None in row:
                raise ActivityFileError(self.path, line, "row", "more cells than columns")
            cells = {k: (v or "").strip() for k, v in row.items()}
            if not any(cells.values()):
                continue
            activity = _strict(cells, self.path, line)
            account, domain = cells.get("account_id", ""), _domain(cells.get("domain"))
            if not account and not domain:
                raise ActivityFileError(self.path, line, "account_id", "no account_id or domain")
            if account in by_id:
                raise ActivityFileError(
                    self.path, line, "account_id", f"duplicate account: {account!r}"
                )
            if account:
                by_id[account] = activity
            if domain:
                by_domain.setdefault(domain, activity)
            count += 1
        return by_id, by_domain, count


# --- field parsing -------------------------------------------------------------------------

_FIELDS = (
    "logins_30d",
    "logins_prev_30d",
    "features_used",
    "last_page",
    "plan",
    "mrr",
    "renewal_date",
)


def _only(settings: Mapping[str, Any], allowed: set[str]) -> None:
    for key in settings:
        if key not in allowed:
            raise ValidationError(f"activity.{key}", "unknown setting")


def _domain(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    text = value.strip().lower().rstrip(".")
    return text.removeprefix("www.")


def _count(raw: Any) -> int:
    value: Any = raw
    if isinstance(raw, str):
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"not a whole number: {raw!r}") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a whole number: {raw!r}")
    if value < 0:
        raise ValueError(f"must not be negative: {raw!r}")
    return value


def _money(raw: Any) -> float:
    value: Any = raw
    if isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"not a number: {raw!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"not a number: {raw!r}")
    if value < 0:
        raise ValueError(f"must not be negative: {raw!r}")
    return float(value)


def _day(raw: Any) -> date:
    if isinstance(raw, str):
        text = raw.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            pass
    raise ValueError(f"not a date (YYYY-MM-DD): {raw!r}")


def _features(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        items: list[Any] = raw.split(";")
    elif isinstance(raw, list):
        items = raw
    else:
        raise ValueError(f"not a list of features: {raw!r}")
    if not all(isinstance(i, str) for i in items):
        raise ValueError(f"not a list of features: {raw!r}")
    return tuple(dict.fromkeys(i.strip() for i in items if i.strip()))


def _label(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"not text: {raw!r}")
    return raw.strip()


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "logins_30d": _count,
    "logins_prev_30d": _count,
    "features_used": _features,
    "last_page": _label,
    "plan": lambda raw: _label(raw).lower(),
    "mrr": _money,
    "renewal_date": _day,
}


def _build(values: dict[str, Any]) -> Activity:
    return Activity(**{k: v for k, v in values.items() if v not in (None, "")})


def _strict(cells: Mapping[str, str], path: Path, line: int) -> Activity:
    values: dict[str, Any] = {}
    for name in _FIELDS:
        raw = cells.get(name, "")
        if raw == "":
            continue
        try:
            values[name] = _PARSERS[name](raw)
        except ValueError as err:
            raise ActivityFileError(path, line, name, str(err)) from err
    return _build(values)


def _lenient(data: Mapping[str, Any], where: str) -> Activity | None:
    values: dict[str, Any] = {}
    dropped: list[str] = []
    for name in _FIELDS:
        raw = data.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[name] = _PARSERS[name](raw)
        except ValueError:
            dropped.append(name)
    if dropped:
        log.warning("activity endpoint %s sent unusable fields: %s", where, ", ".join(dropped))
    activity = _build(values)
    return None if activity == Activity() else activity
