"""The ``escalade`` command, one module per command group.

- ``root``: the ``escalade`` group and ``run`` (the console script);
- ``common``: one-line errors for every command, and the runtime a command works on;
- ``server``: ``db upgrade``, ``serve``, ``work``;
- ``demo``: ``demo``;
- ``triage``: ``triage``, ``eval``;
- ``matrix``: ``matrix check``;
- ``tenant``: ``tenant add | list | remove | connect | configure | check | secret``;
- ``backfill``: ``backfill``;
- ``admin``: ``admin set-password | sign-out``;
- ``bugs``: ``bugs eval``;
- ``answer``: ``answer`` (answer tickets from a knowledge file, or score it with ``--eval``).
- ``kb``: ``kb sync | import | list`` (help-centre knowledge).

A new command goes in the module of its group (or a new module added in ``root``); it asks
``common.runtime_of`` for the runtime and lets ``ValidationError`` / ``EscaladeError`` rise:
the root group turns them into one line naming the option.
"""
