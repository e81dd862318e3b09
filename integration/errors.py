"""Errors grouped by what the caller should do.

EscaladeError
 ├── ValidationError          bad input: answer 400/422 (or a CLI error) naming the field
 ├── ConfigurationError       missing or wrong settings: fix the install, do not retry
 ├── WebhookVerificationError signature missing, wrong or stale: answer 401, store nothing
 ├── UnsupportedEvent         a vendor event we do not act on: answer 202 "ignored", log it
 └── DeliveryError            an outbound call did not land
      ├── RetriableError      try again later (429, 5xx, timeouts); honours ``retry_after``;
      │    │                  ``uncertain`` when the call may have landed (check before resending)
      │    ├── RateLimited    429: the vendor asks us to slow down
      │    ├── ServerError    5xx: the vendor's own server failed
      │    └── Unreachable    no answer at all: name does not resolve, refused, timed out
      └── FatalError          the vendor refused for good (4xx): record as failed
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "DeliveryError",
    "EscaladeError",
    "FatalError",
    "RateLimited",
    "RetriableError",
    "ServerError",
    "Unreachable",
    "UnsupportedEvent",
    "ValidationError",
    "WebhookVerificationError",
]


class EscaladeError(Exception):
    """Base of every error Escalade raises on purpose."""


class ValidationError(EscaladeError, ValueError):
    """Input that does not have the expected shape; ``field`` names where."""

    def __init__(self, field: str, message: str, *, line: int | None = None) -> None:
        self.field = field
        self.message = message
        self.line = line
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{field}: {message}")


class ConfigurationError(EscaladeError):
    """Settings are missing or wrong; retrying will not help."""


class WebhookVerificationError(EscaladeError):
    """A webhook's signature or credentials are missing, wrong or stale."""


class UnsupportedEvent(EscaladeError):
    """A vendor event type we deliberately ignore."""

    def __init__(self, event_type: str) -> None:
        self.event_type = event_type
        super().__init__(f"unsupported event type: {event_type!r}")


class DeliveryError(EscaladeError):
    """An outbound call did not land."""


class RetriableError(DeliveryError):
    """Try again later; ``retry_after`` is the vendor's hint in seconds, if any.

    ``uncertain`` says the request may have reached the vendor and been applied (a timeout
    or a dropped connection after sending): the retry checks what landed before resending.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, uncertain: bool = False
    ) -> None:
        self.retry_after = retry_after
        self.uncertain = uncertain
        super().__init__(message)


class FatalError(DeliveryError):
    """The vendor refused the call for good; record it as failed."""


class RateLimited(RetriableError):
    """The vendor answered 429: wait ``retry_after`` (its Retry-After) before asking again."""


class ServerError(RetriableError):
    """The vendor's own server failed (5xx); ``status`` is the code it answered."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        retry_after: float | None = None,
        uncertain: bool = False,
    ) -> None:
        self.status = status
        super().__init__(message, retry_after=retry_after, uncertain=uncertain)


class Unreachable(RetriableError):
    """No answer from ``host`` at all; ``reason`` says why ("name does not resolve", ...)."""

    def __init__(self, *, host: str, reason: str, uncertain: bool = False) -> None:
        self.host = host
        self.reason = reason
        super().__init__(f"cannot reach {host}: {reason}", uncertain=uncertain)
