"""A real JupyterLab with the extension, driven by a real Chromium through Playwright.

How Lab and the browser are started is in lab.py (shared with
benchmarks/lab_dialog.py); here are the fixtures around it.

Select these tests with ``-m ui``. They fail (not skip) when Chromium is missing:
``./scripts/test.sh`` installs it, so a missing browser is a broken set-up.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulators import RunningEmulator
from lab import Lab, chromium, running_lab


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ui: drives JupyterLab in a real browser (Chromium)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.ui)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell a failed test at teardown."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, emulator: RunningEmulator) -> Iterator[Lab]:
    with running_lab(tmp_path_factory.mktemp("lab"), emulator) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Screenshots and logs of a UI test; the path is printed so a failed run can be inspected."""
    folder = tmp_path / "ui-artifacts"
    folder.mkdir()
    print(f"UI test artifacts: {folder}")
    return folder


@pytest.fixture
def page(browser: Any, artifacts: Path, lab: Lab, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab; when the test fails, a screenshot and JupyterLab's log go to the artifacts."""
    page = browser.new_page()
    page.set_default_timeout(30_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        page.screenshot(path=str(artifacts / "failure.png"), full_page=True)
        shutil.copyfile(lab.log, artifacts / "jupyterlab.log")
    page.close()
