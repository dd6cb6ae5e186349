"""Installing where users are: a JupyterLab 3 environment, as SageMaker Studio Classic images have.

``./scripts/test.sh`` keeps ``.venv/jupyterlab3``: a venv made with JupyterLab 3 alone. The
test installs the wheel freshly built from this checkout into it with the
README's command for JupyterLab 3 (so dependencies resolve as a user's ``pip install`` resolves
them), then proves the install kept JupyterLab 3 and brought no emulator, and that the command
line, the magics and the picker work in a real kernel of that venv. The emulator runs from the
test venv, since the JupyterLab 3 venv has no moto: the kernel reaches it by its exported
variables only, as it would reach AWS.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_world import SALES, SALES_ARN, WHO_AM_I
from emulators import RunningEmulator
from helpers import REPO, one_paragraph_error
from kernels import ANSI, NotebookKernel, kernel_env
from widget_front_end import picker

import jupyter_emr_roles

pytestmark = [pytest.mark.timeout(600),
              pytest.mark.long]  # mostly waits: scheduled first (tests/conftest.py)

JUPYTERLAB3 = Path(sys.prefix) / "jupyterlab3"
BIN = JUPYTERLAB3 / "bin"
# ipywidgets 8.1.8 and later need jupyterlab_widgets 3.0.16+, whose Lab extension is for
# JupyterLab 4 only: the README tells JupyterLab 3 users to keep an earlier one, and so does this.
JUPYTERLAB3_PIN = "jupyterlab_widgets<3.0.16"
# NotebookKernel runs `python -m MODULE` of the test venv; this module hands over to the other venv.
KERNEL_SHIM = '''import os, sys
os.environ.pop("PYTHONPATH")
python = os.environ.pop("JUPYTERLAB3_PYTHON")
os.execv(python, [python, "-m", "ipykernel_launcher", *sys.argv[1:]])
'''


def run(*argv: str | Path, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a program of the JupyterLab 3 venv (or any), its output captured, never interactive."""
    return subprocess.run([str(word) for word in argv], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})},
                          stdin=subprocess.DEVNULL, check=False)


def installed(distribution: str) -> str | None:
    """The version of a distribution in the JupyterLab 3 venv, None if it is not installed."""
    proc = run(BIN / "python", "-c", "import importlib.metadata as m, sys\n"
               f"try: print(m.version({distribution!r}))\n"
               "except m.PackageNotFoundError: sys.exit(3)")
    assert proc.returncode in (0, 3), proc.stderr
    return proc.stdout.strip() if proc.returncode == 0 else None


def pip_install(*args: str | Path) -> None:
    """``pip install`` into the JupyterLab 3 venv; a first run downloads (from pip's cache)."""
    proc = run(BIN / "python", "-m", "pip", "install", "--quiet", *args, timeout=540)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture(scope="module")
def jupyterlab3(wheel: Path) -> Path:
    """The JupyterLab 3 venv with this checkout's wheel installed the way the README says."""
    assert (BIN / "python").exists(), f"./scripts/test.sh makes the JupyterLab 3 venv {JUPYTERLAB3}"
    assert (installed("jupyterlab") or "").startswith("3."), "./scripts/test.sh remakes it"
    pip_install(wheel, JUPYTERLAB3_PIN)
    # The same version number as a wheel installed before: pip would keep the old files.
    pip_install("--force-reinstall", "--no-deps", wheel)
    return JUPYTERLAB3


def test_the_readme_gives_the_command_this_test_runs() -> None:
    assert f"pip install jupyter-emr-roles '{JUPYTERLAB3_PIN}'" in (REPO / "README.md").read_text()


def test_the_install_keeps_jupyterlab_3_and_brings_no_emulator(jupyterlab3: Path) -> None:
    assert (installed("jupyterlab") or "").startswith("3."), installed("jupyterlab")
    assert installed("jupyter-emr-roles") == jupyter_emr_roles.__version__
    assert {name: installed(name) for name in ("moto", "flask", "pyspark")} == dict.fromkeys(
        ("moto", "flask", "pyspark"))
    labextensions = ANSI.sub("", run(BIN / "jupyter", "labextension", "list").stderr)
    assert re.search(r"@jupyter-widgets/jupyterlab-manager v\S+ enabled OK", labextensions), (
        labextensions)
    listing = run(BIN / "jupyter", "server", "extension", "list")
    servers = ANSI.sub("", listing.stdout + listing.stderr)
    assert re.search(r"jupyter_emr_roles \S+ OK", servers), servers


def test_the_command_line_works(jupyterlab3: Path, tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path), "JUPYTER_EMR_ROLES_FILE": str(tmp_path / "roles.json")}
    cli = BIN / "jupyter-emr-roles"
    version = run(cli, "--version")
    assert version.stdout.strip() == f"jupyter-emr-roles, version {jupyter_emr_roles.__version__}"
    assert run(cli, "roles", "add", SALES, "--label", "Sales", "--default",
               env=home).returncode == 0
    listed = run(cli, "roles", "list", env=home)
    assert listed.returncode == 0 and re.search(rf"\*\s+Sales\s+{SALES}", listed.stdout), listed


@pytest.mark.parametrize("command", [
    ("demo", "--spark", "fake", "--no-browser"),
    ("local", "up", "--spark", "fake"),
])
def test_the_emulator_commands_say_which_extra_to_install(
        jupyterlab3: Path, tmp_path: Path, command: tuple[str, ...]) -> None:
    proc = run(BIN / "jupyter-emr-roles", *command, "--state-dir", tmp_path / "state",
               env={"HOME": str(tmp_path)})
    message = one_paragraph_error(proc)
    assert "pip install 'jupyter-emr-roles[local]'" in message and "moto" in message, message


@pytest.fixture
def kernel(jupyterlab3: Path, emulator: RunningEmulator,
           tmp_path: Path) -> Iterator[NotebookKernel]:
    """An IPython kernel of the JupyterLab 3 venv, with the emulator's exported variables as
    they are (and nothing of this machine's AWS, CA or proxy settings)."""
    env = kernel_env(tmp_path, emulator, trust_emulator_ca=False)
    env.update(emulator.env)
    (tmp_path / "shim").mkdir()
    (tmp_path / "shim" / "jupyterlab3_kernel.py").write_text(KERNEL_SHIM)
    env.update(PYTHONPATH=str(tmp_path / "shim"), JUPYTERLAB3_PYTHON=str(BIN / "python"))
    started = NotebookKernel(tmp_path, env, module="jupyterlab3_kernel")
    try:
        yield started
    finally:
        started.shutdown()


def page(kernel: NotebookKernel, code: str) -> str:
    """What a front end pages for ``code`` (IPython sends ``%magic?`` help as a payload)."""
    reply = kernel.client.execute_interactive(code, timeout=60, allow_stdin=False,
                                              output_hook=lambda message: None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(item["data"]["text/plain"] for item in reply["content"].get("payload", [])
                   if item.get("source") == "page")


def test_magics_and_picker_work_in_a_jupyterlab3_kernel(
        kernel: NotebookKernel, clusters: dict[str, str]) -> None:
    where = kernel.ok("import importlib.metadata, sys\n"
                      "print(sys.prefix, importlib.metadata.version('jupyterlab'))")
    assert where.split()[0] == str(JUPYTERLAB3) and where.split()[1].startswith("3."), where
    front = picker(kernel)  # %load_ext jupyter_emr_roles, then %emr_picker
    help_text = ANSI.sub("", page(kernel, "%connect?"))
    assert "--cluster-id" in help_text and "--role-arn" in help_text, help_text
    front.choose("cluster", f"shared-analytics ({clusters['shared-analytics']})")
    assert front.state("readiness")["value"].startswith("<b>ready</b>"), front.state("readiness")
    assert front.selected("role") == f"Sales ({SALES})", "the default role is preselected"


def test_connect_runs_spark_as_the_chosen_role_in_a_jupyterlab3_kernel(
        kernel: NotebookKernel, clusters: dict[str, str]) -> None:
    kernel.ok("%load_ext jupyter_emr_roles")
    kernel.ok(f"%connect --cluster-id {clusters['shared-analytics']}")
    assert SALES_ARN in kernel.ok("%%spark\n" + WHO_AM_I)
    kernel.ok("%disconnect --all")
