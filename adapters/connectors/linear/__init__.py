"""Linear: bug reports filed once per problem through its GraphQL API (``client``)."""

from __future__ import annotations

from adapters.connectors.linear.client import (
    ATTACHMENT_CREATE,
    COMMENT_CREATE,
    DEFAULT_PRIORITIES,
    FIND_ISSUES,
    ISSUE_CREATE,
    ISSUE_UPDATE,
    VIEWER,
    LinearTracker,
    description_markdown,
)

__all__ = [
    "ATTACHMENT_CREATE",
    "COMMENT_CREATE",
    "DEFAULT_PRIORITIES",
    "FIND_ISSUES",
    "ISSUE_CREATE",
    "ISSUE_UPDATE",
    "VIEWER",
    "LinearTracker",
    "description_markdown",
]
