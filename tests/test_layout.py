"""The layout is the map: the engine imports no console, benchmark or web code.

Only the ``nvr`` subcommands that need them (``nvr/cli/``) may import ``gui``, ``web`` or ``bench``.
Checked twice: statically, following every import (lazy ones in functions included) from each
engine module through ``nvr`` and ``native``; and by loading every engine module in a fresh
interpreter and looking at what got loaded.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

FORBIDDEN = {"gui", "bench", "web", "dearpygui", "matplotlib"}
OURS = {"nvr", "native"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def engine_modules() -> list[str]:
    return sorted(
        module_name(p)
        for p in (ROOT / "nvr").rglob("*.py")
        if "cli" not in p.relative_to(ROOT / "nvr").parts and p.name != "__main__.py"
    )


def source(module: str) -> Path:
    base = ROOT.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def imports(module: str) -> set[str]:
    """Every module ``module`` imports, anywhere in its code (absolute names)."""
    tree = ast.parse(source(module).read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_engine_module_reaches_the_console_bench_or_web():
    offenders = []
    for start in engine_modules():
        seen, todo = {start}, [(start, (start,))]
        while todo:
            module, chain = todo.pop()
            for name in imports(module):
                top = name.split(".")[0]
                if top in FORBIDDEN:
                    offenders.append(" -> ".join((*chain, name)))
                elif top in OURS and source(name).exists() and name not in seen:
                    seen.add(name)
                    todo.append((name, (*chain, name)))
    assert offenders == []


def test_loading_the_whole_engine_loads_none_of_them():
    code = (
        "import importlib, json, sys\n"
        f"for name in {engine_modules()!r}: importlib.import_module(name)\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        f"print(json.dumps(sorted(loaded & set({sorted(FORBIDDEN)!r}))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []
    assert len(engine_modules()) > 30  # the walk sees the engine, not an empty folder


def test_the_cli_imports_the_console_web_and_bench_only_inside_their_subcommands():
    for module in ("nvr.cli", "nvr.cli.run", "nvr.cli.check_config"):
        assert not {n.split(".")[0] for n in imports(module)} & FORBIDDEN, module
    for module, package in (
        ("nvr.cli.console", "gui"),
        ("nvr.cli.web", "web"),
        ("nvr.cli.user", "web"),
        ("nvr.cli.demo", "web"),
    ):
        tree = ast.parse(source(module).read_text())
        top_level = {
            n.module.split(".")[0] for n in tree.body if isinstance(n, ast.ImportFrom) and n.module
        }
        assert package not in top_level, module  # imported when the subcommand runs
