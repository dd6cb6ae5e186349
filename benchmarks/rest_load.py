"""Two hundred REST requests at once through the server extension, against the same two hundred
AWS calls made bare, on one emulator.

    python benchmarks/rest_load.py [--requests 200] [--rounds 3]

- ``GET jupyter-emr-roles/clusters`` (one ListClusters page) from a real ``jupyter server``
  subprocess with the extension, ``--requests`` at once from as many threads, each with a
  connection of its own: every latency, the median and p99, and the wall time of the round.
  The baseline is the same number of ``list_clusters`` calls at once from as many threads,
  bare boto3 in this process (the AWS side of each request, nothing else).
- While each round runs, jupyter_server's own ``GET api/status`` (answered on the event loop,
  no AWS call) is timed against the same request on the idle server: the extension's calls
  run in the server's executor, so the loop keeps answering.

The emulator is strict (AWS over HTTPS). Prints a Markdown table; nothing asserts a time.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests
from clusters_rest import CLI, Bare, start_emulator, start_server


def storm(call: Callable[[], object], count: int) -> tuple[list[float], float]:
    """``count`` calls at once (a thread each, released together): each one's seconds, and
    the round's wall time."""
    gate = threading.Barrier(count + 1)

    def one() -> float:
        gate.wait()
        started = time.perf_counter()
        call()
        return time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(one) for _ in range(count)]
        gate.wait()
        started = time.perf_counter()
        latencies = [future.result() for future in futures]
    return latencies, time.perf_counter() - started


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    state_dir, env = start_emulator(0)
    token = secrets.token_hex(16)
    server, base = start_server(env, token)
    headers = {"Authorization": f"token {token}"}
    local = threading.local()

    def rest() -> None:
        if not hasattr(local, "http"):
            local.http = requests.Session()
        local.http.get(base + "jupyter-emr-roles/clusters", headers=headers,
                       timeout=120).raise_for_status()

    def status() -> float:
        started = time.perf_counter()
        requests.get(base + "api/status", headers=headers, timeout=60).raise_for_status()
        return time.perf_counter() - started

    bare = Bare(env)
    try:
        rest()
        bare.first_page()
        idle = statistics.median(status() for _ in range(20))
        rows = []
        for _ in range(args.rounds):
            busy: list[float] = []
            watcher = threading.Thread(target=lambda: [busy.append(status()) or time.sleep(0.05)
                                                       for _ in range(20)])
            watcher.start()
            ours, ours_wall = storm(rest, args.requests)
            watcher.join()
            theirs, bare_wall = storm(bare.first_page, args.requests)
            rows.append((ours, ours_wall, theirs, bare_wall, busy))
        report(rows, idle, args.requests)
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run([*CLI, "local", "down", "--state-dir", state_dir], check=False,
                       capture_output=True)


def report(rows: list[tuple], idle: float, count: int) -> None:
    print("| round | ours: median / p99 / wall | bare boto3: median / p99 / wall | "
          "wall ratio | api/status while busy (median) vs idle |")
    print("|---|---|---|---|---|")
    for number, (ours, ours_wall, theirs, bare_wall, busy) in enumerate(rows, 1):
        print(f"| {number} ({count} at once) | {1000 * statistics.median(ours):.0f} / "
              f"{1000 * p99(ours):.0f} / {1000 * ours_wall:.0f} ms | "
              f"{1000 * statistics.median(theirs):.0f} / {1000 * p99(theirs):.0f} / "
              f"{1000 * bare_wall:.0f} ms | {ours_wall / bare_wall:.2f}x | "
              f"{1000 * statistics.median(busy):.1f} vs {1000 * idle:.1f} ms |")


if __name__ == "__main__":
    main()
