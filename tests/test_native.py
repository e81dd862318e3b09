"""The compiled build of the hot modules: loaded only while it matches the sources."""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from integration import native, native_build
from integration.detect import default_detector
from integration.native import ROOT, _Finder, check, file_hash
from tests.detect.conftest import ticket

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]
NEEDS_BUILD = pytest.mark.skipif(native.status() != "compiled", reason=(
    "ESCALADE_NATIVE=0 turns the compiled build off for this run" if native.status() == "off"
    else f"no current compiled build ({native.status()}): `make install` builds one with "
    "mypyc (needs a C compiler)"))


def _build(tmp_path: Path, *, sources: dict[str, str], modules: list[str]) -> tuple[Path, Path]:
    """A fake project and a fake build of it whose manifest matches the sources."""
    root, folder = tmp_path / "src", tmp_path / "build"
    for name, text in sources.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    files = {}
    for name in modules:
        where = name.replace(".", "/") + SUFFIX
        (folder / where).parent.mkdir(parents=True, exist_ok=True)
        (folder / where).write_bytes(b"")
        files[name] = where
    manifest = {"cache_tag": sys.implementation.cache_tag, "modules": files,
                "sources": {name: file_hash(root / name) for name in sources}}
    (folder / native.MANIFEST).write_text(json.dumps(manifest))
    return root, folder


def test_a_build_that_matches_its_sources_is_served(tmp_path: Path) -> None:
    root, folder = _build(tmp_path, sources={"integration/a.py": "x = 1\n"},
                          modules=["integration.a", "escalade_native__mypyc"])
    state, files = check(folder, root)
    assert state == "compiled"
    assert files["integration.a"] == folder / ("integration/a" + SUFFIX)


def test_a_changed_source_turns_the_build_off(tmp_path: Path) -> None:
    root, folder = _build(tmp_path, sources={"integration/a.py": "x = 1\n",
                                             "integration/b.py": "y = 2\n"},
                          modules=["integration.a"])
    (root / "integration/b.py").write_text("y = 3\n")
    # b is not compiled, but a was built against it: neither may run from the build.
    assert check(folder, root) == ("stale: integration/b.py changed since the build", {})
    (root / "integration/b.py").unlink()
    assert check(folder, root) == ("stale: integration/b.py is missing", {})


def test_a_build_for_another_python_or_with_a_file_missing_is_not_used(tmp_path: Path) -> None:
    root, folder = _build(tmp_path, sources={"integration/a.py": "x = 1\n"},
                          modules=["integration.a"])
    (folder / ("integration/a" + SUFFIX)).unlink()
    assert check(folder, root) == ("stale: the compiled integration.a is missing", {})
    manifest = json.loads((folder / native.MANIFEST).read_text())
    (folder / native.MANIFEST).write_text(json.dumps({**manifest, "cache_tag": "cpython-27"}))
    assert check(folder, root)[0] == "stale: built for another Python"
    (folder / native.MANIFEST).write_text("{not json")
    assert check(folder, root) == ("not built", {})
    assert check(tmp_path / "nowhere", root) == ("not built", {})


def test_the_finder_serves_only_current_compiled_modules(tmp_path: Path) -> None:
    stale = _Finder(tmp_path / "nowhere")
    assert stale.find_spec("integration.detect.text") is None
    assert stale.state == "not built"
    finder = _Finder(tmp_path)
    finder._files = {"integration.a": tmp_path / ("a" + SUFFIX)}
    spec = finder.find_spec("integration.a")
    assert spec is not None and spec.origin == str(tmp_path / ("a" + SUFFIX))
    assert isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)
    assert finder.find_spec("integration.b") is None
    assert finder.find_spec("json") is None


def test_the_manifest_covers_every_project_module_the_compiled_ones_read() -> None:
    files = {str(path.relative_to(ROOT)) for path in native_build.closure(native_build.MODULES)}
    for name in native_build.MODULES:
        assert name.replace(".", "/") + ".py" in files
    # Read by compiled modules but not compiled: a change there must still turn the build off.
    assert {"integration/models.py", "integration/detect/paths.py",
            "integration/detect/__init__.py", "integration/__init__.py"} <= files
    assert "integration/web/app.py" not in files


def test_no_compiled_module_finds_its_files_from_its_own_path() -> None:
    # A compiled module's __file__ is in the build folder, where no model files are.
    for name in native_build.MODULES:
        path = native_build.source_of(name)
        assert path is not None
        tree = ast.parse(path.read_text(encoding="utf-8"))
        uses = [node.lineno for node in ast.walk(tree)
                if isinstance(node, ast.Name) and node.id == "__file__"]
        assert uses == [], f"{name} reads __file__ on lines {uses}"


def test_a_reading_crosses_processes_whole() -> None:
    detector = default_detector()
    reading = detector.read(ticket("Our SSO login fails for every user. Refund the charge!"))
    back = pickle.loads(pickle.dumps(reading))
    assert back.signals == reading.signals
    assert back.dropped == reading.dropped
    assert back.issue.same_as(reading.issue) and back.issue.words == reading.issue.words


@NEEDS_BUILD
def test_the_installed_build_serves_every_listed_module() -> None:
    for name in native_build.MODULES:
        assert native.compiled(importlib.import_module(name)), name
    manifest = native.read_manifest(native.native_dir())
    assert manifest is not None
    expected = {str(p.relative_to(ROOT)) for p in native_build.closure(native_build.MODULES)}
    sources = manifest["sources"]
    assert isinstance(sources, dict) and set(sources) == expected


def test_escalade_native_0_runs_the_sources() -> None:
    code = ("from integration import native; import integration.detect.text as t; "
            "print(native.status(), native.compiled(t))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={"ESCALADE_NATIVE": "0", "PATH": "/usr/bin"},
                          cwd=ROOT)
    assert done.stdout.split() == ["off", "False"]


def test_a_current_build_is_not_redone_and_a_failed_one_is_said(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(**_: object) -> Path:
        raise SystemExit("mypy found errors")

    monkeypatch.setattr(native_build, "build", failing)
    every = {name: Path(name) for name in (*native_build.MODULES, "escalade_native__mypyc")}
    monkeypatch.setattr(native_build, "check", lambda folder: ("compiled", every))
    assert native_build.main([]) == 0
    assert "current" in capsys.readouterr().out
    # A module added to the list or taken off it is a reason to build again.
    for changed in (dict(list(every.items())[1:]), {**every, "integration.routing": Path()}):
        monkeypatch.setattr(native_build, "check", lambda folder, found=changed: (
            "compiled", found))
        assert native_build.main([]) == 0
        assert "the list of modules to compile changed" in capsys.readouterr().out
    monkeypatch.setattr(native_build, "check", lambda folder: ("not built", {}))
    assert native_build.main([]) == 0
    said = capsys.readouterr().err
    assert "could not compile (SystemExit: mypy found errors)" in said
    assert "runs as plain Python" in said
    assert native_build.main(["--strict"]) == 1
    # Forced, a failed build keeps the earlier one, which still matches the sources.
    monkeypatch.setattr(native_build, "check", lambda folder: ("compiled", every))
    assert native_build.main(["--force"]) == 0
    assert "the earlier build, still current, stays in use" in capsys.readouterr().err


@NEEDS_BUILD
def test_compiled_and_plain_python_decide_every_development_ticket_alike(tmp_path: Path) -> None:
    # Compiled code can differ where Python is loose (a tuple compared by identity read every
    # word as new). Every development ticket, one file so repeat contacts count too.
    folder = ROOT / "tests" / "fixtures" / "eval"
    files = sorted(p for p in folder.glob("*.jsonl") if not p.stem.endswith(("_i", "_j")))
    path = tmp_path / "tickets.jsonl"
    path.write_text("".join(p.read_text(encoding="utf-8") for p in files), encoding="utf-8")
    out = {}
    for mode in ("1", "0"):
        done = subprocess.run([sys.executable, "-m", "integration.cli", "triage", str(path)],
                              capture_output=True, text=True, check=True, cwd=ROOT,
                              env={**os.environ, "ESCALADE_NATIVE": mode})
        out[mode] = done.stdout.splitlines()
    assert len(out["1"]) > 2000
    assert out["1"] == out["0"]
