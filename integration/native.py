"""Load the compiled build of the hot modules, but only while it matches the sources.

``python -m integration.native_build`` (``make`` runs it) compiles detection, the matrix's
evaluation and the audit's counting to C with mypyc, into a folder beside the interpreter
(``<venv>/escalade-native``), with a manifest of the source files it was built from and their
hashes. This finder serves those modules from the build only when every one of those files is
unchanged; otherwise Python imports the sources as usual. So an edited source never runs as a
stale build: it runs as Python, slower, until the next build. ``ESCALADE_NATIVE=0`` turns the
build off.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "manifest.json"


def native_dir() -> Path:
    """Where the build lives: beside the interpreter that runs it (the build is ABI-specific)."""
    return Path(sys.prefix) / "escalade-native"


def file_hash(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(folder: Path) -> dict[str, object] | None:
    """The build's manifest, or None when there is no readable one."""
    try:
        found = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def check(folder: Path, root: Path = ROOT) -> tuple[str, dict[str, Path]]:
    """The build's state ("compiled", "not built", "stale: <why>") and its module files."""
    manifest = read_manifest(folder)
    if manifest is None:
        return "not built", {}
    sources, modules = manifest.get("sources"), manifest.get("modules")
    if manifest.get("cache_tag") != sys.implementation.cache_tag or not isinstance(
            sources, dict) or not isinstance(modules, dict):
        return "stale: built for another Python", {}
    for name, digest in sources.items():
        path = root / name
        try:
            if file_hash(path) != digest:
                return f"stale: {name} changed since the build", {}
        except OSError:
            return f"stale: {name} is missing", {}
    files = {str(name): folder / str(where) for name, where in modules.items()}
    missing = next((name for name, path in files.items() if not path.is_file()), None)
    if missing is not None:
        return f"stale: the compiled {missing} is missing", {}
    return "compiled", files


class _Finder:
    """A meta-path finder that serves the compiled modules of a current build."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[str, Path] | None = None
        self.state = "not checked"

    def files(self) -> dict[str, Path]:
        """The compiled modules by name, checked against the sources once per process."""
        if self._files is None:
            self.state, self._files = check(self.folder)
        return self._files

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """The compiled module's spec, or None to let Python import the source."""
        if not fullname.startswith(("integration.", GROUP)):
            return None
        where = self.files().get(fullname)
        if where is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(where))
        return importlib.util.spec_from_file_location(fullname, str(where), loader=loader)


# The compiled modules share one library, a top-level module named after the group.
GROUP = "escalade_native"
_finder: _Finder | None = None


def install() -> None:
    """Put the finder first on the import path (once; not when ``ESCALADE_NATIVE=0``)."""
    global _finder
    if _finder is not None or os.environ.get("ESCALADE_NATIVE", "1") == "0":
        return
    _finder = _Finder(native_dir())
    sys.meta_path.insert(0, _finder)


def status() -> str:
    """Whether this process runs the compiled build: "compiled", "off", "not built", "stale: …"."""
    if _finder is None:
        return "off"
    _finder.files()
    return _finder.state


def compiled(module: ModuleType) -> bool:
    """Whether ``module`` was loaded from the compiled build."""
    return isinstance(getattr(module, "__loader__", None), importlib.machinery.ExtensionFileLoader)
