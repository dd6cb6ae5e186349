"""Twenty kernels of one user connect to one cluster at once, and disconnect at once: every
connect opens its own session, each kernel's ledger lists its own, and nothing is left open.

What is open is read from the emulator's status; what the kernels list, from
`jupyter-emr-roles sessions`, as the user would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from demo_world import SALES
from emulators import RunningEmulator
from helpers import RunCli
from kernels import NotebookKernel, connected

KERNELS = 20


def test_twenty_kernels_connect_at_once_each_to_a_session_of_its_own(
        emulator: RunningEmulator, clusters: dict[str, str], tmp_path: Path, cli: RunCli,
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["shared-analytics"]
    runtime = {"JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    with ThreadPoolExecutor(max_workers=KERNELS) as pool:
        kernels = list(pool.map(lambda _: notebook(emulator, **runtime), range(KERNELS)))
        list(pool.map(lambda kernel: kernel.ok("%load_ext jupyter_emr_roles"), kernels))
        before = {s["id"] for s in emulator.open_sessions(cluster)}

        outputs = list(pool.map(lambda kernel: kernel.ok(
            f"%connect --cluster-id {cluster} --name crowd", timeout=240), kernels))
        ids = [connected(output, SALES, cluster, "crowd") for output in outputs]
        opened = {s["id"] for s in emulator.open_sessions(cluster)} - before
        cells = list(pool.map(lambda kernel: kernel.ok("%%spark -s crowd\nprint(6 * 7)"),
                              kernels))
        listed = json.loads(cli("sessions", "--json", env={**emulator.env, **runtime}).stdout)

        closed = list(pool.map(lambda kernel: kernel.ok("%disconnect --all"), kernels))

    assert len(set(ids)) == KERNELS and set(ids) == opened, "one session per connect"
    assert all("42" in cell for cell in cells)
    assert sorted(int(row["session_id"]) for row in listed) == sorted(ids)
    assert all("disconnected crowd" in output for output in closed)
    assert not {s["id"] for s in emulator.open_sessions(cluster)} & set(ids)
