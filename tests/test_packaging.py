"""One wheel holds everything: the package, the built Lab extension, the config that enables the
server extension, the demo's notebook and the licence text; and JupyterLab finds each where the
wheel puts it. The sdist carries the licence text too.

The wheel is built from this checkout without build isolation (nothing is downloaded), so the
Lab extension inside is the one the test command's install built.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from helpers import REPO

import jupyter_emr_roles

DATA = "jupyter_emr_roles-{version}.data/data/"
DIST_INFO = "jupyter_emr_roles-{version}.dist-info/"
APACHE_2 = ("Apache License\n                           Version 2.0, January 2004\n",
            "END OF TERMS AND CONDITIONS", "APPENDIX: How to apply the Apache License")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


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


def test_the_wheel_carries_the_licence_it_declares(wheel: Path) -> None:
    licence = (REPO / "LICENSE").read_text()
    assert all(part in licence for part in APACHE_2), "LICENSE is the Apache License 2.0 text"
    dist_info = DIST_INFO.format(version=jupyter_emr_roles.__version__)
    with zipfile.ZipFile(wheel) as archive:
        carried = archive.read(f"{dist_info}licenses/LICENSE").decode()
        metadata = archive.read(f"{dist_info}METADATA").decode()
    assert carried == licence
    assert "License-Expression: Apache-2.0\n" in metadata
    assert "License-File: LICENSE\n" in metadata


def test_the_sdist_carries_the_licence(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "hatchling", "build", "--target", "sdist",
                           "--directory", str(tmp_path)], cwd=REPO, capture_output=True,
                          text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (sdist,) = tmp_path.glob("jupyter_emr_roles-*.tar.gz")
    with tarfile.open(sdist) as archive:
        member = archive.extractfile(f"{sdist.name.removesuffix('.tar.gz')}/LICENSE")
        assert member is not None
        assert member.read().decode() == (REPO / "LICENSE").read_text()


def _requirements(metadata: str) -> dict[str, set[str]]:
    """The distributions the wheel requires, by extra ("" for a plain install)."""
    found: dict[str, set[str]] = {}
    for requirement in Parser().parsestr(metadata).get_all("Requires-Dist") or []:
        spec, _, marker = requirement.partition(";")
        extra = re.search(r"extra == [\"']([\w-]+)[\"']", marker)
        name = re.split(r"[\s<>=!~\[(]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")
        found.setdefault(extra.group(1) if extra else "", set()).add(name)
    return found


def test_a_plain_install_pulls_neither_the_emulator_nor_jupyterlab(wheel: Path) -> None:
    dist_info = DIST_INFO.format(version=jupyter_emr_roles.__version__)
    with zipfile.ZipFile(wheel) as archive:
        requirements = _requirements(archive.read(f"{dist_info}METADATA").decode())
    assert not requirements[""] & {"moto", "jupyterlab", "pyspark", "notebook"}, requirements[""]
    assert {"jupyter-server", "sparkmagic", "ipywidgets"} <= requirements[""]
    assert {"moto", "jupyterlab"} <= requirements["local"]
    assert requirements["spark"] == {"pyspark", "pandas"}
    assert requirements["connect"] == {"pyspark-client"}, "the kernel's client, without a JVM"
