"""Compile the hot modules to C with mypyc: ``python -m integration.native_build``.

``make install`` runs this. It needs mypy (the ``test`` extra) and a C compiler; without them it
says so and exits 0, and Escalade runs as plain Python. A build that is current is not redone.
The result goes to ``<venv>/escalade-native`` with a manifest of every source file the compiled
modules read (their own and the project modules they import), which ``integration.native``
checks before loading anything from it.

    python -m integration.native_build            # build unless current
    python -m integration.native_build --force    # build again
    python -m integration.native_build --strict   # fail (exit 1) when it cannot build
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from integration.native import GROUP, MANIFEST, ROOT, check, file_hash, native_dir

# Where the CPU goes when a ticket is read and decided, and when a history is counted. Compiled
# code refuses what Python allows (patching its functions, identity of tuples), so a module is
# listed here only with the whole suite passing in both modes.
MODULES = (
    "integration.detect.asks",
    "integration.detect.category",
    "integration.detect.classifier",
    "integration.detect.context",
    "integration.detect.cues",
    "integration.detect.detector",
    "integration.detect.embedding",
    "integration.detect.expectation",
    "integration.detect.impact",
    "integration.detect.notices",
    "integration.detect.reader",
    "integration.detect.retraction",
    "integration.detect.senses",
    "integration.detect.sentiment",
    "integration.detect.text",
    "integration.detect.triggers",
    "integration.matrix.conditions",
    "integration.matrix.evaluate",
    "integration.audit.aggregate",
    "integration.audit.stats",
    "integration.audit.topics",
    "integration.calendars",
    "integration.sla",
    "integration.clocks",
)


def source_of(module: str, root: Path = ROOT) -> Path | None:
    """The file a project module is read from, or None when it is not a project module."""
    base = root.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported(path: Path) -> set[str]:
    """The project modules (and packages on the way) that a source file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from integration.detect import text`` may name a module as well as an object.
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for name in names:
            if name.split(".")[0] == "integration":
                parts = name.split(".")
                found.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
    return found


def closure(modules: Iterable[str], root: Path = ROOT) -> list[Path]:
    """Every project source the modules read, transitively, sorted."""
    todo, seen, files = list(modules), set[str](), set[Path]()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = source_of(name, root)
        if path is not None:
            files.add(path)
            todo.extend(imported(path) - seen)
    return sorted(files)


def _compile(root: Path, out: Path, work: Path) -> dict[str, str]:
    # mypyc names modules after their paths, so it runs from the folder above the package.
    from mypyc.build import mypycify
    from setuptools import Distribution

    logging.getLogger().setLevel(logging.WARNING)
    paths = [str(source_of(name, root).relative_to(root))  # type: ignore[union-attr]
             for name in MODULES]
    here = Path.cwd()
    os.chdir(root)
    try:
        said = io.StringIO()
        try:
            # Its notes on each generator it turns into a list are noise; its errors are not.
            with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
                extensions = mypycify(["--ignore-missing-imports", *paths], opt_level="3",
                                      target_dir=str(work / "c"), group_name=GROUP)
        except SystemExit:
            print(said.getvalue(), file=sys.stderr, end="")
            raise
        dist = Distribution({"name": GROUP, "ext_modules": extensions})
        command = dist.get_command_obj("build_ext")
        command.build_lib = str(out)
        command.build_temp = str(work / "o")
        dist.run_command("build_ext")
    finally:
        os.chdir(here)
    # "integration/detect/text.cpython-311-x86_64-linux-gnu.so" is integration.detect.text.
    modules = {where.split(".", 1)[0].replace("/", "."): where
               for where in (str(p.relative_to(out)) for p in out.rglob("*.so"))}
    missing = [name for name in MODULES if name not in modules]
    if missing:
        raise RuntimeError(f"the build made no module for {', '.join(missing)}")
    return modules


def build(root: Path = ROOT, folder: Path | None = None) -> Path:
    """Compile ``MODULES`` into ``folder`` (replacing what was there); the folder."""
    folder = folder or native_dir()
    sources = {str(path.relative_to(root)): file_hash(path) for path in closure(MODULES, root)}
    with tempfile.TemporaryDirectory(prefix="escalade-native-") as tmp:
        out = Path(tmp) / "out"
        modules = _compile(root, out, Path(tmp))
        manifest = {"cache_tag": sys.implementation.cache_tag, "modules": modules,
                    "sources": sources}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n",
                                    encoding="utf-8")
        # Swap the whole folder so a running process never sees half a build.
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        shutil.move(str(out), folder)
        shutil.rmtree(old, ignore_errors=True)
    return folder


def main(argv: list[str] | None = None) -> int:
    """Build unless current; 0 when built, current or impossible (unless ``--strict``)."""
    parser = argparse.ArgumentParser(prog="python -m integration.native_build",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="build even when current")
    parser.add_argument("--strict", action="store_true", help="exit 1 when it cannot build")
    args = parser.parse_args(argv)
    folder = native_dir()
    state, files = check(folder)
    if state == "compiled" and {n for n in files if n.startswith("integration.")} != set(MODULES):
        state = "stale: the list of modules to compile changed"
    if state == "compiled" and not args.force:
        print(f"compiled modules are current ({folder})")
        return 0
    print(f"compiling {len(MODULES)} modules with mypyc ({state}); this takes a minute or two")
    try:
        build(folder=folder)
    except (Exception, SystemExit) as error:  # noqa: BLE001 - plain Python still works
        # A failed build leaves the folder as it was: an earlier build may still be current.
        after = ("the earlier build, still current, stays in use" if check(folder)[0] ==
                 "compiled" else "Escalade runs as plain Python, correct but slower")
        print(f"could not compile ({type(error).__name__}: {error}); {after}", file=sys.stderr)
        return 1 if args.strict else 0
    state, _ = check(folder)
    print(f"compiled modules: {state} ({folder})")
    return 0 if state == "compiled" or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
