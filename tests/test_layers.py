"""The package's floors (DEVELOPERS.md, "The map"): a module imports only from floors
below its own, never sideways or upward.

Read from the source with ``ast`` (nothing is imported): every ``import`` and
``from ... import`` of the package, relative or absolute, at any depth (a function's
lazy import counts too).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "offline_assistants"

# Lowest first. A top-level module or package may import only from floors below its
# own; within one package anything goes.
FLOORS: list[tuple[str, ...]] = [
    ("errors", "ids", "config"),  # what every floor may use
    ("store", "engine", "tools"),  # the DuckDB store; the model; the sandbox and the index
    ("runs",),  # the run loop: prompt, generation, tool calls, events
    ("service",),  # the API's resources: checks, then store, runs and engines
    ("server", "api"),  # the two faces: HTTP (FastAPI) and the in-process client
    ("cli",),  # what a user starts: serve, models, the demo
    ("__init__", "__main__"),  # the package's face: Client, python -m offline_assistants
]
FLOOR = {unit: level for level, units in enumerate(FLOORS) for unit in units}


def _unit(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def imported_units(source: str, path: Path) -> set[str]:
    """The package's top-level modules and packages that ``source`` (the file at
    ``path`` inside the package) imports."""
    package = list(path.relative_to(PACKAGE).parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = base + (node.module.split(".") if node.module else [])
            found.add(target[0] if target else node.names[0].name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("offline_assistants."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("offline_assistants."):
                    found.add(alias.name.split(".")[1])
    return found


def violations(path: Path, source: str) -> list[str]:
    unit = _unit(path)
    return [
        f"{path.relative_to(PACKAGE)} ({unit}, floor {FLOOR[unit]}) imports {target} "
        f"(floor {FLOOR.get(target, '?')})"
        for target in sorted(imported_units(source, path) - {unit})
        if target not in FLOOR or FLOOR[target] >= FLOOR[unit]
    ]


def test_every_module_has_a_floor() -> None:
    units = {_unit(path) for path in PACKAGE.rglob("*.py")}
    assert units <= set(FLOOR), f"place these on a floor: {sorted(units - set(FLOOR))}"


def test_no_module_imports_sideways_or_upward() -> None:
    found = [v for path in PACKAGE.rglob("*.py") for v in violations(path, path.read_text())]
    assert found == []


def test_an_upward_or_sideways_import_is_caught() -> None:
    """The check itself: imports that break the floors, relative and absolute, lazy too."""
    engine_module = PACKAGE / "engine" / "example.py"
    assert violations(engine_module, "from ..runs import executor\n")  # upward
    assert violations(engine_module, "from ..store import Store\n")  # sideways
    assert violations(engine_module, "def f():\n    import offline_assistants.service.runs\n")
    assert violations(engine_module, "from offline_assistants.api import Client\n")
    assert not violations(engine_module, "from ..errors import InternalError\nfrom . import base")
    assert not violations(PACKAGE / "runs" / "x.py", "from ..engine.grammar import GrammarBuilder")
