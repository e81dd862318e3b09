"""spaCy imported without its command line until something asks for it.

``import spacy`` runs ``from .cli.info import info``, which imports spaCy's whole command line
(typer, weasel, requests, wasabi: about 350 modules, 0.15-0.2 s) to re-export one function
that Escalade never calls. Every ``escalade`` command and every web or worker process pays it
at start. While spaCy's own package is being initialised, this finder answers those two
imports with stand-ins: ``spacy.cli`` as a package over the real folder (its submodules
import as usual) whose own ``__init__`` runs on the first attribute asked of it, and
``spacy.cli.info`` whose ``info`` loads the real module when called. Afterwards nothing is
intercepted, so ``python -m spacy`` and ``from spacy.cli import ...`` behave as before.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Sequence
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType
from typing import Any

__all__ = ["install"]

_CLI = "spacy.cli"
_INFO = "spacy.cli.info"


def _spacy_initialising() -> bool:
    module = sys.modules.get("spacy")
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


class _Deferred(Loader):
    """Loads the stand-in for one of the two modules, keeping the real spec to run later."""

    def __init__(self, real: ModuleSpec) -> None:
        self.real = real

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        """The default module object."""
        return None

    def exec_module(self, module: ModuleType) -> None:
        """Fill the stand-in: a lazy package, or a lazy ``info``."""
        real = self.real
        if module.__name__ == _CLI:
            def __getattr__(name: str) -> Any:
                # The real ``__init__`` fills this same module object, once.
                del module.__dict__["__getattr__"]
                assert real.loader is not None
                real.loader.exec_module(module)
                return getattr(module, name)

            module.__dict__["__getattr__"] = __getattr__
            return

        def info(*args: Any, **kwargs: Any) -> Any:
            """spaCy's ``info``, its real module loaded on the first call."""
            found = sys.modules.get(_INFO)
            if found is None or found is module:
                found = importlib.util.module_from_spec(real)
                sys.modules[_INFO] = found
                assert real.loader is not None
                real.loader.exec_module(found)
            function: Callable[..., Any] = found.info
            return function(*args, **kwargs)

        module.info = info  # type: ignore[attr-defined]


class _Finder(MetaPathFinder):
    """Answers ``spacy.cli`` and ``spacy.cli.info`` with stand-ins while spaCy initialises."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        """A stand-in's spec for the two modules during ``import spacy``; else None."""
        if fullname not in (_CLI, _INFO) or not _spacy_initialising():
            return None
        real = PathFinder.find_spec(fullname, path)
        if real is None:
            return None
        spec = ModuleSpec(fullname, _Deferred(real), origin=real.origin,
                          is_package=real.submodule_search_locations is not None)
        if real.submodule_search_locations is not None:
            spec.submodule_search_locations = list(real.submodule_search_locations)
        spec.has_location = real.has_location
        return spec


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
