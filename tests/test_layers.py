"""The package's layers, read from its import statements.

``src/scalinglaws`` is six subpackages, one per layer of the book's data flow (the package's
``__init__`` says what each holds). A module may import from its own layer and the layers before
it in :data:`LAYERS`, never from one after it; the command line (``cli``, ``__main__``) sits on
top of them all. These tests parse every module's imports, including the ones inside functions,
so the folder tree stays a true picture of what depends on what.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "scalinglaws"
LAYERS = ("papers", "data", "fitting", "training", "sweeps", "book")
TOP = ("cli", "__main__", "__init__")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every ``scalinglaws`` name that module ``module`` (whose code is ``source``) imports,
    relative imports resolved, imports inside functions included."""
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                imported = ".".join(base + ([node.module] if node.module else []))
            else:
                imported = node.module or ""
            found.add(imported)
            found.update(f"{imported}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return {name for name in found if name == "scalinglaws" or name.startswith("scalinglaws.")}


def layer_of(module: str) -> int | None:
    """The index of ``module``'s layer in :data:`LAYERS`; len(LAYERS) for the command line on top;
    None for a name that is not a module of a layer (the package itself, or a name imported from it)."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    if parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return len(LAYERS) if parts[1] in TOP else None


def upward_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """The names ``module`` imports from a layer above its own."""
    own = layer_of(module) if layer_of(module) is not None else len(LAYERS)
    return sorted(name for name in imported_modules(source, module, is_package)
                  if (layer := layer_of(name)) is not None and layer > own)


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_sits_in_one_layer():
    """No module lies loose at the package's root, beside the layers, except the command line."""
    loose = [path.name for path in PACKAGE.glob("*.py") if path.stem not in TOP]
    assert loose == []
    folders = sorted(path.name for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__")
    assert folders == sorted(LAYERS)
    for layer in LAYERS:
        assert (PACKAGE / layer / "__init__.py").read_text().startswith('"""'), f"{layer}/__init__.py has no docstring"


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_a_module_imports_only_its_own_layer_and_those_below(path):
    module = module_name(path)
    above = upward_imports(path.read_text(), module, path.name == "__init__.py")
    assert above == [], f"{module} imports from a layer above its own: {above}"


def test_the_check_catches_an_upward_import():
    """A fitting module that imports the training loop (absolutely, inside a function) and the
    runner (relatively) fails; one that imports papers and data passes."""
    upward = "import numpy\n\ndef f():\n    from scalinglaws.training.train import train\n    from ..sweeps import runner\n"
    assert upward_imports(upward, "scalinglaws.fitting.probe") == [
        "scalinglaws.sweeps", "scalinglaws.sweeps.runner", "scalinglaws.training.train",
        "scalinglaws.training.train.train"]
    downward = "from scalinglaws.papers import laws\nfrom ..data.runs import Runs\nfrom . import approach2\n"
    assert upward_imports(downward, "scalinglaws.fitting.probe") == []
    assert upward_imports("from scalinglaws.book import plotting\n", "scalinglaws.cli") == []
