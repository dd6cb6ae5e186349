"""The Lab extension's jest suite, run as part of the project's one test command.

Also holds the extension to the Python identifier shapes: the patterns in
labextension/src/patterns.ts must be the very strings of identifiers.py and
connect_request.py, and the TypeScript checks are run over the same
table of good and bad identifiers as the Python ones (identifier_cases.py).
And to the kernel's words: labextension/src/vocabulary.json must be what
``python -m jupyter_emr_roles.vocabulary`` writes, and neither side may spell
those words itself (the jest spec vocabulary.spec.ts shows the TypeScript reads them).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import identifier_cases
from helpers import LABEXTENSION, jlpm

import jupyter_emr_roles
from jupyter_emr_roles import connect_request, identifiers, vocabulary
from jupyter_emr_roles.engines.livy import sparkmagic_bridge

PATTERNS_TS = LABEXTENSION / "src" / "patterns.ts"
VOCABULARY_JSON = LABEXTENSION / "src" / "vocabulary.json"
PACKAGE = Path(jupyter_emr_roles.__file__).parent


def _ts_constants() -> dict[str, str]:
    """`export const NAME = '...';` (a string, number or array literal) from patterns.ts."""
    text = PATTERNS_TS.read_text(encoding="utf-8")
    found = re.findall(r"^export const ([A-Z_]+)\s*=\s*(.+?);$", text, re.MULTILINE | re.DOTALL)
    return {name: value.strip() for name, value in found}


def _ts_string(literal: str) -> str:
    assert re.fullmatch(r"'[^'\\]*'", literal), f"not a plain string literal: {literal}"
    return literal[1:-1]


def test_ts_patterns_are_the_python_patterns() -> None:
    constants = _ts_constants()
    assert _ts_string(constants["ACCOUNT_PATTERN"]) == identifiers.ACCOUNT_PATTERN
    assert _ts_string(constants["CLUSTER_PATTERN"]) == identifiers.CLUSTER_PATTERN
    assert _ts_string(constants["APPLICATION_PATTERN"]) == identifiers.APPLICATION_PATTERN
    assert _ts_string(constants["ROLE_ARN_PATTERN"]) == identifiers.ROLE_ARN_PATTERN
    assert _ts_string(constants["SESSION_NAME_PATTERN"]) == identifiers.SESSION_NAME_PATTERN
    assert int(constants["ROLE_PATH_MAX"]) == identifiers._MAX_PATH
    assert identifiers.SESSION_NAME_SHAPE.startswith(_ts_string(constants["SESSION_NAME_RULE"]))


def test_ts_languages_are_the_requests_languages_and_the_engine_knows_each() -> None:
    literal = _ts_constants()["LANGUAGES"]
    assert literal.endswith(" as const")
    languages = json.loads(literal.removesuffix(" as const").replace("'", '"'))
    assert tuple(languages) == connect_request.LANGUAGES
    assert set(sparkmagic_bridge.SPARKMAGIC_LANGUAGES) == set(connect_request.LANGUAGES)


def test_ts_engines_are_the_magics_engines() -> None:
    literal = _ts_constants()["ENGINES"]
    assert literal.endswith(" as const")
    engines = json.loads(literal.removesuffix(" as const").replace("'", '"'))
    assert tuple(engines) == tuple(connect_request.ENGINES)
    assert engines[0] == connect_request.DEFAULT_ENGINE, "the cell leaves the default out"


def test_vocabulary_json_is_the_kernels_export() -> None:
    assert VOCABULARY_JSON.read_text(encoding="utf-8") == vocabulary.render(), (
        "labextension/src/vocabulary.json is stale: run `python -m jupyter_emr_roles.vocabulary "
        "> labextension/src/vocabulary.json` and rebuild the extension")


def test_the_vocabulary_words_every_engine() -> None:
    """An engine added to %connect without its labels would leave the pickers without words."""
    assert set(vocabulary.ENGINE_LABELS) == set(connect_request.ENGINES)
    sessions = set(connect_request.ENGINES) - {"auto"}
    assert set(vocabulary.PICKED_NAMES) == set(vocabulary.ENGINE_NAMES) == sessions


def _shared_words() -> set[str]:
    """The words only vocabulary.py may spell: labels, the comm's target."""
    export = vocabulary.export()
    return {export["status_target"], export["auto_picks"], *export["engine_labels"].values(),
            *export["engine_names"].values()} - {"Livy", "Automatic"}


def test_no_face_spells_a_shared_word_itself() -> None:
    """A label or the target written as a literal anywhere else would drift from the
    vocabulary (the emulator, AWS's side, keeps its own words and is not looked at)."""
    sources = list((LABEXTENSION / "src").glob("*.ts")) + [
        path for path in PACKAGE.rglob("*.py") if "local" not in path.relative_to(PACKAGE).parts
        and path.name != "vocabulary.py"]
    spelt = {(path.name, word) for path in sources for word in _shared_words()
             for quote in "'\"" if f"{quote}{word}{quote}" in path.read_text(encoding="utf-8")}
    assert not spelt


def test_jest_suite_passes(tmp_path: Path) -> None:
    assert (LABEXTENSION / "node_modules").is_dir(), (
        "labextension/node_modules is missing: run `jlpm install` in labextension/ "
        "(pip install -e . does it as part of building the Lab extension)")
    cases = tmp_path / "identifier_cases.json"
    cases.write_text(json.dumps({name: getattr(identifier_cases, name) for name in (
        "GOOD_ACCOUNTS", "BAD_ACCOUNTS", "GOOD_CLUSTERS", "BAD_CLUSTERS",
        "GOOD_ROLE_ARNS", "BAD_ROLE_ARNS", "GOOD_APPLICATIONS", "BAD_APPLICATIONS")}),
        encoding="utf-8")
    result = jlpm("test", "--ci", "--verbose", EMR_ROLES_IDENTIFIER_CASES=str(cases))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert re.search(r"Tests:\s+\d+ passed, \d+ total", output), output[-3000:]
    assert "failed" not in output.split("Tests:")[-1].splitlines()[0]
    assert "identifier checks (tests/identifier_cases.py table)" in output, output[-3000:]
