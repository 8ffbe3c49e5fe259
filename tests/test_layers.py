"""The package's imports go one way: down the layer order, and only into public modules.

Every module of ``tinynas`` is parsed (nothing is imported) and each ``import`` of another
tinynas package is checked: it must go to a lower layer, and never into another package's
private module (``tinynas.store._codec``) or a private name of it. A package's own modules may
import each other freely. Lazy imports inside functions count the same as top-level ones.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REPO_ROOT

PACKAGE = REPO_ROOT / "tinynas"

# The layer order, lowest first. A unit is a top-level module or subpackage of tinynas ("" is
# the package's own __init__). Units of one layer do not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("", "errors"),
    ("units", "native", "processes"),
    ("devices", "data", "tflite_file"),
    ("space",),
    ("estimators",),
    ("metrics", "train", "convert"),
    ("inspection", "profile", "search", "executor"),
    ("store",),
    ("export", "check"),
    ("proxies", "refine", "supernet"),
    ("pipeline",),
    ("cli", "testing"),
    ("__main__",),
)
LAYER_OF = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str:
    """'tinynas.store._codec' -> 'store'; 'tinynas' -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def is_private(parts: list[str]) -> bool:
    return any(p.startswith("_") and not p.startswith("__") for p in parts)


def imports(path: Path, package: Path) -> Iterator[tuple[int, str]]:
    """(line, imported name) of every tinynas import in `path`; ``from a import b`` gives
    ``a.b`` for each name, so a private name imported from a module is seen, and
    ``from tinynas import __version__`` gives ``tinynas`` (the package's own __init__)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.startswith("tinynas"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "tinynas":
            for alias in node.names:
                submodule = (package / alias.name).is_dir() \
                    or (package / f"{alias.name}.py").is_file()
                if node.module == "tinynas" and not submodule:
                    yield node.lineno, "tinynas"
                else:
                    yield node.lineno, f"{node.module}.{alias.name}"


def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def violations(package: Path) -> list[str]:
    """Every import of a module of `package` that breaks the layer order or reaches into
    another unit's private module or name."""
    found = []
    for path in sorted(package.rglob("*.py")):
        source = module_name(path, package)
        here = unit_of(source)
        for line, target in imports(path, package):
            there = unit_of(target)
            where = f"{path.relative_to(package.parent)}:{line} imports {target}"
            if here == there:
                continue
            if here not in LAYER_OF or there not in LAYER_OF:
                unknown = here if here not in LAYER_OF else there
                found.append(f"{where}: '{unknown}' has no layer; add it to LAYERS")
            elif LAYER_OF[there] >= LAYER_OF[here] and there != "":
                found.append(f"{where}: '{here}' may not import '{there}' (same or higher layer)")
            if there and is_private(target.split(".")[2:]):
                found.append(f"{where}: private to '{there}'; import it from tinynas.{there}")
    return found


def test_every_unit_of_the_package_has_a_layer() -> None:
    units = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").exists())}
    units = {"" if u == "__init__" else u for u in units}
    assert units - set(LAYER_OF) == set()
    assert set(LAYER_OF) - units <= {""}  # no layer names a unit that is gone


def test_imports_go_down_the_layers_and_only_into_public_modules() -> None:
    assert violations(PACKAGE) == []


@pytest.mark.parametrize(("source", "text", "reason"), [
    ("store/_bad.py", "from tinynas.pipeline import run_search\n", "same or higher layer"),
    ("metrics/_bad.py", "def f():\n    from tinynas.train import train\n", "same or higher"),
    ("cli/_bad.py", "from tinynas.store._codec import encode\n", "private to 'store'"),
    ("cli/_bad.py", "from tinynas.devices import _builtin\n", "private to 'devices'"),
    ("cli/_bad.py", "import tinynas.search._run\n", "private to 'search'"),
    ("spare/__init__.py", "from tinynas.errors import TinyNASError\n", "has no layer"),
])
def test_an_upward_or_private_import_is_caught(tmp_path: Path, source: str, text: str,
                                               reason: str) -> None:
    package = tmp_path / "tinynas"
    bad = package / source
    bad.parent.mkdir(parents=True)
    bad.write_text(text)
    (package / "errors.py").write_text("")
    (found,) = violations(package)
    assert source in found and reason in found
