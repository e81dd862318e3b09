"""Tests of the helpdesk and connector adapters."""
