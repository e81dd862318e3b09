"""The labeled development tickets as training examples: never the held-out set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integration.detect.training.report import GROUPS
from integration.detect.training.tickets import development_ticket_files, ticket_examples
from integration.errors import ConfigurationError
from integration.models import Category


def test_the_held_out_set_and_the_posts_are_never_training_data() -> None:
    names = {path.name for path in development_ticket_files()}
    held_out = {name for group in GROUPS for name in group.held_out}
    posts = {name for group in GROUPS if group.posts for name in group.dev}
    assert names and not names & held_out and not names & posts
    assert not any(n.endswith("_h.jsonl") for n in
                   (p.name for p in development_ticket_files(leave_out=["_h"])))


def test_an_example_is_the_subject_and_the_first_customer_message(tmp_path: Path) -> None:
    row = {"subject": "Refund please", "expected": {"category": "refund", "complaint": True},
           "kind": "plain", "messages": [
               {"author": "agent", "body": "Hello!"},
               {"author": "customer", "body": "I want my money back."},
               {"author": "customer", "body": "Still waiting."}]}
    unlabeled = {"subject": "x", "expected": {"complaint": False}, "messages": []}
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(unlabeled) + "\n")
    [example] = ticket_examples([path])
    assert example.text == "Refund please\n\nI want my money back."
    assert (example.category, example.complaint, example.source) == (
        Category.REFUND, True, "tickets")


def test_a_bad_ticket_is_named_by_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"subject": "x", "expected": {"category": "nonsense"}}\n')
    with pytest.raises(ConfigurationError, match=r"set.jsonl:1: bad labeled ticket"):
        ticket_examples([path])
