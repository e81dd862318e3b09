"""Jira Cloud: bug reports filed once per problem (``client``), written in Atlassian Document
Format (``adf``)."""

from __future__ import annotations

from adapters.connectors.jira.client import DEFAULT_PRIORITIES, JiraTracker, escape_jql, jira_error

__all__ = ["DEFAULT_PRIORITIES", "JiraTracker", "escape_jql", "jira_error"]
