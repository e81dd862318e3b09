"""The optional language-model reader: its settings, the port a client implements, and its bounds.

Off by default: with no ``llm`` setting nothing here is used and no client is built. When a
tenant sets one up, every question goes through ``LlmReader.ask``, which

- redacts e-mail addresses and numbers (cards, phones, long digit runs) before anything
  leaves, when the settings say ``redact`` (the default);
- answers from its cache when the same redacted prompt was asked of the same model before
  (in memory, per process, at most ``cache_size`` answers; a restart asks again);
- refuses to call past ``requests_per_minute`` or the month's ``monthly_token_budget``
  (tokens as the server's ``usage`` counts them; per process, from its start);
- and returns None on any failure (over a bound, timeout, HTTP error, refusal, an answer that
  does not parse), so the caller keeps its own local reading.

The client itself lives at the edge (``adapters.llm``) behind ``ChatClient``; nothing here
does I/O.

Errors: ``LlmError`` (what a ``ChatClient`` raises for anything that went wrong on the way),
``ValidationError`` naming the setting (``llm.base_url``) for settings that do not hold.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from integration.errors import EscaladeError, ValidationError

__all__ = [
    "DEFAULT_BASE_URL",
    "ChatClient",
    "ChatRequest",
    "Completion",
    "LlmError",
    "LlmReader",
    "LlmSettings",
    "Meter",
    "redact",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
SECRET_NAME = "llm.api_key"
_MAX_TIMEOUT = 60.0
_WINDOW = 60.0  # seconds a request counts against requests_per_minute

# An environment variable a key may come from: never one of Escalade's own settings (its
# secret key or database URL would otherwise be sent to whatever base_url says).
_ENV_NAME = re.compile(r"^(?!ESCALADE_(?!LLM_))[A-Z_][A-Z0-9_]*$")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 13-19 digits in groups of spaces or dashes: a payment card or an account number.
_CARD = re.compile(r"(?<![\w])(?:\d[ -]?){12,18}\d(?![\w])")
# A phone: an optional +, then at least 7 digits among spaces, dots, dashes, brackets.
_PHONE = re.compile(r"(?<![\w])\+?\(?\d(?:[\d ().-]{5,}\d)(?![\w])")
_DIGITS = re.compile(r"\d{5,}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}")


def redact(text: str) -> str:
    """``text`` with e-mail addresses, card and phone numbers and long digit runs masked."""
    text = _EMAIL.sub("[email]", text)
    text = _CARD.sub("[card number]", text)
    text = _PHONE.sub(_phone, text)
    return _DIGITS.sub("[number]", text)


def _phone(match: re.Match[str]) -> str:
    text = match.group()
    if sum(c.isdigit() for c in text) < 7 or _DATE.fullmatch(text.strip()) or text.isdigit():
        return text  # a plain digit run is masked as a number below
    return "[phone]"


class LlmError(EscaladeError):
    """The model gave no usable answer: unreachable, timed out, refused, or an HTTP error."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatRequest:
    """One question to a chat model: instructions, the text, and how long to wait."""

    model: str
    system: str
    user: str
    max_tokens: int
    timeout: float
    json: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Completion:
    """The model's answer and the tokens the server counted for it."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    refusal: str | None = None

    @property
    def tokens(self) -> int:
        """Tokens this answer cost, prompt and completion."""
        return self.prompt_tokens + self.completion_tokens


class ChatClient(ABC):
    """The port to a chat model; an adapter implements it for one kind of server."""

    identifier: ClassVar[str] = ""

    @abstractmethod
    def complete(self, request: ChatRequest) -> Completion:
        """Ask once; raise ``LlmError`` for anything that went wrong."""

    def close(self) -> None:  # noqa: B027 - most clients hold nothing to release
        """Release the connection pool, if any."""


# --- settings ----------------------------------------------------------------------------


_KEYS = frozenset({
    "provider", "base_url", "model", "api_key_env", "api_key_secret", "timeout_seconds",
    "requests_per_minute", "monthly_token_budget", "max_tokens", "redact", "second_reading",
    "unsure_below", "cache_size",
})


@dataclass(frozen=True, kw_only=True, slots=True)
class LlmSettings:
    """A tenant's language-model settings, checked."""

    model: str
    provider: str = "openai"
    base_url: str = DEFAULT_BASE_URL
    api_key_env: str | None = None
    api_key_secret: bool = False
    timeout_seconds: float = 10.0
    requests_per_minute: int = 30
    monthly_token_budget: int = 1_000_000
    max_tokens: int = 400
    redact: bool = True
    second_reading: bool = False
    unsure_below: float = 0.5
    cache_size: int = 1000

    @classmethod
    def parse(cls, value: Any, *, field: str = "llm") -> LlmSettings:
        """Check a tenant's ``llm`` object; ``ValidationError`` names the key (``llm.model``)."""
        if not isinstance(value, Mapping):
            raise ValidationError(field, 'expected a JSON object such as {"model": '
                                         '"gpt-4o-mini", "api_key_env": "OPENAI_API_KEY"}')
        unknown = sorted(set(value) - _KEYS)
        if unknown:
            raise ValidationError(f"{field}.{unknown[0]}",
                                  f"unknown key (known: {', '.join(sorted(_KEYS))})")
        read = _Reader(value, field)
        settings = cls(
            model=read.text("model", required=True) or "",
            provider=read.text("provider") or "openai",
            base_url=read.url("base_url") or DEFAULT_BASE_URL,
            api_key_env=read.text("api_key_env"),
            api_key_secret=read.flag("api_key_secret", False),
            timeout_seconds=read.number("timeout_seconds", 10.0, low=0.1, high=_MAX_TIMEOUT),
            requests_per_minute=int(read.number("requests_per_minute", 30, low=1, whole=True)),
            monthly_token_budget=int(read.number("monthly_token_budget", 1_000_000, low=0,
                                                 whole=True)),
            max_tokens=int(read.number("max_tokens", 400, low=16, high=4000, whole=True)),
            redact=read.flag("redact", True),
            second_reading=read.flag("second_reading", False),
            unsure_below=read.number("unsure_below", 0.5, low=0.0, high=1.0),
            cache_size=int(read.number("cache_size", 1000, low=0, high=100_000, whole=True)),
        )
        if settings.api_key_env and not _ENV_NAME.match(settings.api_key_env):
            raise ValidationError(f"{field}.api_key_env", "the name of an environment variable "
                                  "(A-Z, digits, _), not Escalade's own ESCALADE_ settings "
                                  "(ESCALADE_LLM_... is fine)")
        if settings.api_key_env and settings.api_key_secret:
            raise ValidationError(f"{field}.api_key_secret",
                                  "give the key one way: api_key_env or the stored secret")
        return settings


@dataclass(frozen=True, slots=True)
class _Reader:
    value: Mapping[str, Any]
    field: str

    def text(self, key: str, *, required: bool = False) -> str | None:
        raw = self.value.get(key)
        if raw is None and not required:
            return None
        if not isinstance(raw, str) or not raw.strip():
            raise ValidationError(f"{self.field}.{key}", f"expected a non-empty text, got {raw!r}")
        return raw.strip()

    def url(self, key: str) -> str | None:
        text = self.text(key)
        if text is None:
            return None
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(f"{self.field}.{key}", f"not an http(s) URL: {text!r} "
                                                         "(e.g. http://127.0.0.1:8080/v1)")
        return text.rstrip("/")

    def flag(self, key: str, default: bool) -> bool:
        raw = self.value.get(key, default)
        if not isinstance(raw, bool):
            raise ValidationError(f"{self.field}.{key}", f"expected true or false, got {raw!r}")
        return raw

    def number(self, key: str, default: float, *, low: float, high: float | None = None,
               whole: bool = False) -> float:
        raw = self.value.get(key, default)
        name = f"{self.field}.{key}"
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValidationError(name, f"expected a number, got {raw!r}")
        if whole and raw != int(raw):
            raise ValidationError(name, f"expected a whole number, got {raw!r}")
        if raw < low or (high is not None and raw > high):
            bound = f"from {low:g} to {high:g}" if high is not None else f"at least {low:g}"
            raise ValidationError(name, f"must be {bound}, got {raw!r}")
        return float(raw)


# --- bounds ------------------------------------------------------------------------------


class Meter:
    """A tenant's requests this minute, tokens this month and cached answers (thread-safe)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()
        self._month = ""
        self._tokens = 0
        self._cache: OrderedDict[str, str] = OrderedDict()

    def tokens_this_month(self) -> int:
        """Tokens spent in the current calendar month (UTC)."""
        with self._lock:
            return self._tokens if self._month == self._month_now() else 0

    def cached(self, key: str) -> str | None:
        """The answer given to ``key`` before, if kept."""
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
            return found

    def keep(self, key: str, answer: str, *, size: int) -> None:
        """Remember an answer, dropping the least recently used past ``size``."""
        with self._lock:
            self._cache[key] = answer
            self._cache.move_to_end(key)
            while len(self._cache) > size:
                self._cache.popitem(last=False)

    def admit(self, settings: LlmSettings) -> str | None:
        """Count one request, or say why it may not be made (rate or budget)."""
        now = self._clock()
        with self._lock:
            while self._recent and self._recent[0] <= now - _WINDOW:
                self._recent.popleft()
            if len(self._recent) >= settings.requests_per_minute:
                return f"over {settings.requests_per_minute} requests a minute"
            self._roll_month()
            if self._tokens >= settings.monthly_token_budget:
                return f"monthly budget of {settings.monthly_token_budget} tokens spent"
            self._recent.append(now)
            return None

    def spend(self, tokens: int) -> None:
        """Add an answer's tokens to the month."""
        with self._lock:
            self._roll_month()
            self._tokens += max(0, tokens)

    def _roll_month(self) -> None:
        month = self._month_now()
        if month != self._month:
            self._month, self._tokens = month, 0

    def _month_now(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m")


# --- the reader --------------------------------------------------------------------------


class LlmReader:
    """Asks the tenant's model within its bounds; None whenever the answer cannot be used."""

    def __init__(self, *, settings: LlmSettings, client: ChatClient, meter: Meter,
                 tenant: str = "") -> None:
        self.settings = settings
        self._client = client
        self._meter = meter
        self._tenant = tenant

    @property
    def model(self) -> str:
        """The model's name, as the reasons and the summary cite it."""
        return self.settings.model

    def outgoing(self, text: str) -> str:
        """``text`` as it may leave: redacted when the tenant asked."""
        return redact(text) if self.settings.redact else text

    def ask(self, system: str, user: str, *, parse: Callable[[str], T | None],
            json: bool = False) -> T | None:
        """The parsed answer to ``user`` (redacted first), from the cache or the model."""
        user = self.outgoing(user)
        key = fingerprint(self.model, system, user, json=json)
        cached = self._meter.cached(key)
        if cached is not None:
            return parse(cached)
        text, failure = self._complete(system, user, json=json)
        parsed = parse(text) if text is not None else None
        if parsed is None:
            log.warning("tenant %s: %s gave no usable answer (%s); the local reading is used",
                        self._tenant or "?", self.model,
                        failure or "the answer did not have the expected shape")
            return None
        self._meter.keep(key, text or "", size=self.settings.cache_size)
        return parsed

    def _complete(self, system: str, user: str, *, json: bool) -> tuple[str | None, str]:
        """The model's text, or None and why there is none."""
        refused = self._meter.admit(self.settings)
        if refused is not None:
            return None, refused
        request = ChatRequest(model=self.model, system=system, user=user, json=json,
                              max_tokens=self.settings.max_tokens,
                              timeout=self.settings.timeout_seconds)
        try:
            answer = self._client.complete(request)
        except LlmError as err:
            return None, str(err)
        # A server that reports no usage is charged by length (about four characters a token).
        self._meter.spend(answer.tokens or (len(system) + len(user) + len(answer.text)) // 4)
        if answer.refusal is not None or not answer.text.strip():
            return None, f"the model declined: {answer.refusal or 'empty answer'}"
        return answer.text, ""


def fingerprint(model: str, system: str, user: str, *, json: bool = False) -> str:
    """The cache key of a question: sha256 of the model and the (redacted) prompt."""
    data = "\x00".join((model, "json" if json else "text", system, user))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
