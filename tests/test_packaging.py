"""One wheel holds everything: the package, the built Lab extension, the config that enables the
server extension, and the demo's notebook; and JupyterLab finds each where the wheel puts it.

The wheel is built from this checkout without build isolation (nothing is downloaded), so the
Lab extension inside is the one the test command's install built.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import REPO

import jupyter_emr_roles

DATA = "jupyter_emr_roles-{version}.data/data/"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps",
                           "--no-build-isolation", "--quiet", "-w", str(out)],
                          capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (built,) = out.glob("jupyter_emr_roles-*.whl")
    return built


def jupyter(*args: str, **env: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "jupyter", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env}, check=False)
    assert proc.returncode == 0, proc.stderr
    return ANSI.sub("", proc.stdout + proc.stderr)


def test_the_wheel_holds_the_lab_extension_the_server_config_and_the_notebook(
        wheel: Path, tmp_path: Path) -> None:
    data = DATA.format(version=jupyter_emr_roles.__version__)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path)
    lab = f"{data}share/jupyter/labextensions/jupyter-emr-roles/"
    assert f"{lab}package.json" in names
    assert any(re.fullmatch(rf"{re.escape(lab)}static/remoteEntry\.[0-9a-f]+\.js", n)
               for n in names), sorted(names)
    assert "jupyter_emr_roles/examples/emr-roles-demo.ipynb" in names
    assert not [n for n in names if "node_modules" in n or n.startswith("labextension/")]
    config = json.loads((tmp_path / data / "etc/jupyter/jupyter_server_config.d/"
                         "jupyter_emr_roles.json").read_text())
    assert config == {"ServerApp": {"jpserver_extensions": {"jupyter_emr_roles": True}}}

    listing = jupyter("labextension", "list",
                      JUPYTER_PATH=str(tmp_path / data / "share/jupyter"))
    assert re.search(r"jupyter-emr-roles v\S+ enabled OK", listing), listing


def test_the_installed_server_extension_is_enabled() -> None:
    listing = jupyter("server", "extension", "list")
    assert re.search(r"jupyter_emr_roles enabled\s+- Validating jupyter_emr_roles\.\.\.\s+"
                     r"jupyter_emr_roles \S+ OK", listing), listing
