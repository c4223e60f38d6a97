"""The core stays Qt-free and torch stays inside the engine (napari-style import contracts)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import zit_desktop

PACKAGE = Path(zit_desktop.__file__).parent
HEAVY = {"torch", "diffusers", "transformers", "accelerate", "tokenizers", "safetensors"}


def module_level_imports(path: Path) -> set[str]:
    """Top-level package names imported at module level (not inside functions or TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(tree.body)
    return names


def test_core_never_imports_qt() -> None:
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(n for n in imports if n.startswith(("PySide", "PyQt", "shiboken")))
        for p in (PACKAGE / "core").rglob("*.py")
        if (imports := module_level_imports(p))
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (PACKAGE / "core").rglob("*.py"))
    assert "PySide6" not in sources


def test_only_the_engine_imports_torch_at_module_level() -> None:
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[:2] == ("core", "engine"):
            continue
        heavy = module_level_imports(path) & HEAVY
        if heavy:
            offenders[str(rel)] = sorted(heavy)
    assert offenders == {}


def test_core_imports_in_a_plain_interpreter_without_qt_or_torch() -> None:
    code = (
        "import sys, pkgutil, importlib, zit_desktop.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'zit_desktop.core.'):\n"
        "    if not m.name.startswith('zit_desktop.core.engine'): importlib.import_module(m.name)\n"
        "import zit_desktop.core.engine, zit_desktop.cli.main\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "{'PySide6','torch','diffusers','transformers'})\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
