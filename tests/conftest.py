"""Shared fixtures: a throw-away HOME and the real ``jupyter-emr-roles`` executable."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulators import RunningEmulator, start_emulator  # noqa: E402  (needs the path above)
from helpers import CLI, RunCli, build_wheel  # noqa: E402
from kernels import NotebookKernel, kernel_env  # noqa: E402

# Variables of the developer's shell that would change what the CLI reads.
_LEAKY_ENV = ("JUPYTER_EMR_ROLES_FILE", "AWS_PROFILE", "AWS_DEFAULT_REGION")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked ``long`` first, the rest in their usual order: the test command's parallel
    workers (``-n`` in scripts/test.sh) then start the minute-long waits (renewals, JVMs) at
    once and fill the time with short modules, instead of ending the run on them."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's wheel, built once for the test process (the packaging and JupyterLab 3
    install tests look into it and install it)."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home folder that both this process and child processes use."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    for name in _LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def cli(home: Path) -> RunCli:
    """Run the installed command line in ``home``; returns the finished process."""

    def run(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60,
                              env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL, **kwargs)

    return run


@pytest.fixture
def notebook(tmp_path: Path) -> Iterator[Callable[..., NotebookKernel]]:
    """``notebook(emulator, module=..., **env)``: a kernel of this venv with the emulator's
    variables (an env value of None removes that variable); shut down after."""
    kernels: list[NotebookKernel] = []
    numbers = itertools.count()  # next() of a count is atomic: kernels may start in threads

    def start(emulator: RunningEmulator, module: str = "ipykernel_launcher",
              heartbeat_seconds: float = 1, **env: str | None) -> NotebookKernel:
        folder = tmp_path / f"kernel-{next(numbers)}"
        variables = kernel_env(folder, emulator, trust_emulator_ca=False,
                               heartbeat_seconds=heartbeat_seconds)
        for name, value in env.items():
            if value is None:
                variables.pop(name, None)
            else:
                variables[name] = value
        kernel = NotebookKernel(folder, variables, module=module)
        kernels.append(kernel)
        return kernel

    with contextlib.ExitStack() as shutdowns:
        yield start
        for kernel in kernels:
            shutdowns.callback(kernel.shutdown)


@pytest.fixture(scope="session")
def shared_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """The strict fake-engine emulator with the default world that the modules of one test
    process share: they read the world and open and close sessions of their own, and count
    calls as differences, so one start serves them all."""
    with start_emulator(tmp_path_factory.mktemp("emulator"), "--spark", "fake") as running:
        yield running


@pytest.fixture(scope="module")
def emulator(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """A strict fake-engine emulator with the default world: the process's shared one, or one
    of the module's own when the module is marked ``own_world``: it edits the world (IAM,
    clusters, security configurations), so no other module may see its changes, or it asserts
    on all of it (every CloudTrail event, every log of a cluster), so it may see no other
    module's."""
    if request.node.get_closest_marker("own_world") is None:
        yield request.getfixturevalue("shared_emulator")
        return
    with start_emulator(tmp_path_factory.mktemp("emulator"), "--spark", "fake") as running:
        yield running


@pytest.fixture(scope="module")
def clusters(emulator: RunningEmulator) -> dict[str, str]:
    """The emulator's cluster IDs by name."""
    return emulator.cluster_ids()


@pytest.fixture(scope="module")
def applications(emulator: RunningEmulator) -> dict[str, str]:
    """The emulator's EMR Serverless application IDs by name."""
    return emulator.application_ids()
