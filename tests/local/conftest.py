"""Fixtures for the tests of the local emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulators import RunningEmulator, start_emulator


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """A fake-engine emulator with the default world, shared by one test module."""
    running = start_emulator(tmp_path_factory.mktemp("emulator"), "--spark", "fake")
    yield running
    running.cli("down")
