"""Figures for ``%connect`` in a real kernel, each cell timed from outside as a notebook's
front end sees it, next to the same bare calls run as a cell of the same kernel.

    python benchmarks/connect_kernel.py [--repeat 9] [--propagation 0 1.3]
                                        [--start-delay 0 0.37] [--other-propagation 0 0.9]

``connect_magic.py`` times the magic in an in-process shell; this adds what a kernel adds on
both sides (the execute request and reply, the outputs on iopub) and what only ``%connect``
sends there (its progress line, the status bar's comm). The bare side is
``connect_magic.Bare`` (GetClusterSessionCredentials, POST /sessions sent again every 20 ms on
401, 20-ms polls to idle, the first statement); the delete of the previous session is outside
both timings, and both sides run warm (boto3 imported, the Livy URL known). Prints a Markdown
table; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connect_magic import connect_rows, connect_target
from jupyter_client.manager import KernelManager
from measure import alternately

HERE = Path(__file__).resolve().parent


class Kernel:
    """An IPython kernel of this Python, with this process's environment, run cell by cell."""

    def __init__(self) -> None:
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(env=dict(os.environ))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def cell(self, code: str) -> Callable[[], None]:
        """A function that runs ``code`` as one cell and returns once the kernel replied."""

        def run() -> None:
            reply: dict[str, Any] = self.client.execute_interactive(
                code, timeout=300, output_hook=lambda message: None)
            assert reply["content"]["status"] == "ok", (code, reply["content"])

        return run

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def kernel_figures(propagation: float, start_delay: float, repeat: int,
                   livy: tuple[str, str] | None = None) -> tuple[float, float]:
    """(ours, bare) median seconds of one connect cell on a strict emulator with that timing,
    or, given ``livy`` (URL, CA bundle), on the emulator's control plane and that Livy."""
    with connect_target(propagation, start_delay, livy) as (cluster_id, url, ca_bundle, where):
        kernel = Kernel()
        try:
            kernel.cell("%load_ext jupyter_emr_roles")()
            kernel.cell(f"import sys\nsys.path.insert(0, {str(HERE)!r})\n"
                        f"from connect_magic import Bare\n"
                        f"bare = Bare({cluster_id!r}, {url!r}, {ca_bundle!r})")()
            connect = kernel.cell(f"%connect --cluster-id {cluster_id} --name bench{where}")
            disconnect = kernel.cell("%disconnect bench")
            bare, clean_up = kernel.cell("bare.connect()"), kernel.cell("bare.clean_up()")
            connect()  # warm-up: imports boto3 and sparkmagic, finds the Livy URL
            bare()
            return alternately(connect, disconnect, bare, clean_up, repeat)
        finally:
            kernel.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--propagation", type=float, nargs="+", default=[0.0, 1.3])
    parser.add_argument("--start-delay", type=float, nargs="+", default=[0.0, 0.37])
    parser.add_argument("--other-propagation", type=float, nargs="*", default=[0.0, 0.9],
                        help="propagation delays of benchmarks/other_livy.py (none: skip it)")
    options = parser.parse_args()
    rows = connect_rows(kernel_figures, options, "`%connect` cell vs bare-calls cell")
    print("| figure (real kernel, timed from outside) | ours | baseline | ratio | goal |")
    print("|---|---|---|---|---|")
    for label, value, baseline in rows:
        print(f"| {label} | {value * 1000:.1f} ms | {baseline * 1000:.1f} ms | "
              f"{value / baseline:.2f}x | ≤ 1.15 |")


if __name__ == "__main__":
    main()
