"""Loaded models are kept out of later garbage collections."""

from __future__ import annotations

import gc

from integration.heap import settle


def test_what_is_alive_when_settled_is_out_of_every_later_collection() -> None:
    frozen_before = gc.get_freeze_count()
    loop: list[object] = []
    loop.append(loop)
    settle()
    try:
        assert gc.get_freeze_count() > frozen_before
        assert all(o is not loop for o in gc.get_objects())
        fresh: list[object] = []
        fresh.append(fresh)
        assert any(o is fresh for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(o is loop for o in gc.get_objects())
