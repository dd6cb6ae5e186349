"""The demo notebook, run top to bottom by nbclient in a kernel of this venv against the strict
emulator, as a user runs it: every cell works but those that say they need real Spark (a
DataFrame, and the Scala section, which tests/test_scala_sessions.py runs against real Spark)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from demo_world import MARKETING_ARN, SALES_ARN
from emulators import RunningEmulator
from helpers import REPO
from kernels import kernel_env
from nbclient import NotebookClient

NOTEBOOK = REPO / "examples" / "emr-roles-demo.ipynb"
NEEDS_REAL_SPARK = "spark.createDataFrame"


def test_the_demo_notebook_runs_against_the_emulator(emulator: RunningEmulator, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in kernel_env(tmp_path, emulator, trust_emulator_ca=False).items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(NOTEBOOK, as_version=4)

    NotebookClient(notebook, timeout=300, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = []
    for cell in (cell for cell in notebook.cells if cell.cell_type == "code"):
        text = "\n".join(output.get("text") or output.get("data", {}).get("text/plain", "")
                         + output.get("ename", "") for output in cell.outputs)
        if NEEDS_REAL_SPARK not in cell.source and "scala" not in cell.metadata.get("tags", []):
            assert "Error" not in text and "Traceback" not in text, (cell.source, text)
        outputs.append(text)
    joined = "\n".join(outputs)
    assert "Livy id" in joined and "Spark Connect id" in joined
    assert SALES_ARN in joined and MARKETING_ARN in joined
    assert "disconnected spark" in outputs[-1], "the tidy-up closes every session"
