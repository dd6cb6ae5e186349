"""The house rules of the code's shape, read from the source: who may import whom, and how
large a function or a TypeScript class may grow.

Every import counts, at module level or inside a function: a lazy import hides a cycle from
Python, not from the reader.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import jupyter_emr_roles

PACKAGE = Path(jupyter_emr_roles.__file__).parent
ROOT = PACKAGE.parent
NAME = PACKAGE.name
# The emulator stands in for AWS: it may share only these plain modules with the client.
LOCAL_MAY_USE = {"errors", "identifiers", "jsonfile", "_version"}
# The faces: what a person touches. They reach an engine through sessions.py alone.
FACES = ("magics", "step_magics", "widgets", "reporting", "status_push", "server", "cli")
ENGINE_MODULES = {"sparkmagic_bridge", "livy_engine", "livy_endpoint", "livy_tls", "credentials",
                  "spark_connect_engine", "spark_connect_client", "emr_sessions"}
# The libraries of an engine, each imported by one module of the client (the emulator aside), so
# an upgrade of one touches one file.
LIBRARY_OWNERS = {"sparkmagic": "sparkmagic_bridge", "pyspark": "spark_connect_client",
                  "grpc": "spark_connect_client"}
MAX_FUNCTION_LINES = 40
MAX_TS_CLASS_LINES = 200


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(module: str) -> set[str]:
    """The package's modules ``module`` imports, anywhere in its file."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            # ``from . import roles`` imports the module roles; the package is imported anyway
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _cycle_from(start: str) -> list[str] | None:
    """A path of imports from ``start`` back to itself, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        module, path = stack.pop()
        for imported in GRAPH[module]:
            if imported == start:
                return [*path, start]
            if imported not in seen:
                seen.add(imported)
                stack.append((imported, [*path, imported]))
    return None


def test_no_import_cycle_inside_the_package() -> None:
    cycles = [" -> ".join(cycle) for module in MODULES if (cycle := _cycle_from(module))]
    assert not cycles, cycles


def test_the_emulator_imports_no_client_rule() -> None:
    local = f"{NAME}.local"
    wrong = {module: sorted(imported for imported in GRAPH[module]
                            if not imported.startswith(local)
                            and imported.removeprefix(f"{NAME}.") not in LOCAL_MAY_USE
                            and imported != NAME)
             for module in MODULES if module.startswith(local)}
    assert not {module: names for module, names in wrong.items() if names}


@pytest.mark.parametrize("face", FACES)
def test_no_face_knows_an_engine(face: str) -> None:
    prefix = f"{NAME}.{face}"
    modules = [module for module in MODULES if module == prefix or
               module.startswith(prefix + ".")]
    assert modules
    engines = {f"{NAME}.{name}" for name in ENGINE_MODULES}
    known = {module: GRAPH[module] & engines for module in modules if GRAPH[module] & engines}
    assert not known, f"{known}: a face reaches an engine through sessions.py"


def _libraries(module: str) -> set[str]:
    """The top-level names of everything ``module`` imports that is not relative."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_each_engine_library_is_imported_by_its_one_module() -> None:
    client = [module for module in MODULES if not module.startswith(f"{NAME}.local")]
    importers = {library: sorted(module.removeprefix(f"{NAME}.") for module in client
                                 if library in _libraries(module))
                 for library in LIBRARY_OWNERS}
    assert importers == {library: [owner] for library, owner in LIBRARY_OWNERS.items()}


def test_no_function_is_over_40_lines() -> None:
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name}: {lines} lines")
    assert not long


def _ts_classes(text: str) -> list[tuple[str, int]]:
    """(name, lines) of each class, from its line to the brace that closes it."""
    classes = []
    for match in re.finditer(r"^(?:export )?(?:abstract )?class (\w+)", text, re.MULTILINE):
        depth, index = 0, text.index("{", match.end())
        for index in range(index, len(text)):
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            if depth == 0:
                break
        classes.append((match.group(1), text.count("\n", match.start(), index) + 1))
    return classes


def test_no_typescript_class_is_over_200_lines() -> None:
    sources = sorted((ROOT / "labextension" / "src").rglob("*.ts"))
    assert sources
    long = [f"{path.name}: {name}, {lines} lines" for path in sources
            for name, lines in _ts_classes(path.read_text(encoding="utf-8"))
            if lines > MAX_TS_CLASS_LINES]
    assert not long
