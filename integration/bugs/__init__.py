"""Bugs from tickets: group tickets about the same underlying problem, and measure the grouping.

``BugGrouper`` assigns each ticket to a group as it arrives (``integration.bugs.grouping``);
``integration.bugs.evaluation`` scores a grouping against known duplicate pairs.
"""

from __future__ import annotations

from integration.bugs.grouping import Assignment, BugGrouper, GroupingSettings

__all__ = ["Assignment", "BugGrouper", "GroupingSettings"]
