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
FACES = ("magics", "server", "cli")
# The ground floor: plain values and rules that every layer uses and that use nothing above.
GROUND = {"_version", "errors", "identifiers", "jsonfile", "polling", "releases", "text_table",
          "options", "vocabulary", "connect_request", "applications"}
# The libraries of an engine, each imported by one module of the client (the emulator aside), so
# an upgrade of one touches one file.
LIBRARY_OWNERS = {"sparkmagic": "engines.livy.sparkmagic_bridge",
                  "pyspark": "engines.spark_connect.client", "grpc": "engines.spark_connect.client"}
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


def _inside(module: str, folder: str) -> bool:
    prefix = f"{NAME}.{folder}"
    return module == prefix or module.startswith(prefix + ".")


ENGINES = sorted({module.split(".")[2] for module in MODULES
                  if _inside(module, "engines") and module.count(".") >= 3})
# An engine's own modules (engines/livy/..., engines/spark_connect/...), not the interface.
ENGINE_MODULES = {module for module in MODULES for engine in ENGINES
                  if _inside(module, f"engines.{engine}")}


@pytest.mark.parametrize("face", FACES)
def test_no_face_knows_an_engine(face: str) -> None:
    modules = [module for module in MODULES if _inside(module, face)]
    assert modules
    known = {module: GRAPH[module] & ENGINE_MODULES for module in modules
             if GRAPH[module] & ENGINE_MODULES}
    assert not known, f"{known}: a face reaches an engine through sessions.py"


def test_the_ground_floor_imports_only_the_ground_floor() -> None:
    ground = {f"{NAME}.{name}" for name in GROUND}
    assert ground <= set(MODULES)
    above = {module: sorted(GRAPH[module] - ground - {NAME}) for module in ground}
    assert not {module: names for module, names in above.items() if names}


@pytest.mark.parametrize("folder", ["aws", "roles"])
def test_the_aws_side_and_the_roles_sources_know_no_engine_and_no_face(folder: str) -> None:
    upper = ENGINE_MODULES | {module for module in MODULES
                              if any(_inside(module, face) for face in FACES)
                              or module == f"{NAME}.sessions"}
    known = {module: sorted(GRAPH[module] & upper) for module in MODULES
             if _inside(module, folder) and GRAPH[module] & upper}
    assert not known


def test_an_engine_knows_no_other_engine() -> None:
    assert ENGINES == ["livy", "spark_connect"]
    crossing = {module: sorted(imported for imported in GRAPH[module] & ENGINE_MODULES
                               if not _inside(imported, f"engines.{module.split('.')[2]}"))
                for module in ENGINE_MODULES}
    assert not {module: names for module, names in crossing.items() if names}


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
