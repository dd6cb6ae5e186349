"""Listing clusters through the server extension against bare boto3, on one emulator.

    python benchmarks/clusters_rest.py [--repeat 5] [--clusters 1000]

- All pages of ``GET jupyter-emr-roles/clusters`` (following ``marker``), from a
  real ``jupyter server`` subprocess with the extension, against boto3's
  ``get_paginator("list_clusters").paginate()`` in this process, both for
  RUNNING and WAITING clusters (goal: at most 1.3x).
- The time to the first page, each way (what a user waits for before the
  picker shows something).

The emulator is strict, so AWS is reached over HTTPS as it is on AWS. Both sides
are warmed up once first (boto3 client built, connection open), then
run alternately, so a busy moment of the machine falls on both.
Prints a Markdown table; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import requests
from measure import timed

CLI = [sys.executable, "-m", "jupyter_emr_roles"]
# Variables of this machine that would change what the children trust or read.
_LEAKY = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "AWS_PROFILE", "JUPYTER_EMR_ROLES_FILE")


def start_emulator(clusters: int) -> tuple[str, dict[str, str]]:
    state_dir = tempfile.mkdtemp(prefix="bench-clusters-")
    out = subprocess.run([*CLI, "local", "up", "--detach", "--state-dir", state_dir,
                          "--spark", "fake", "--strict", "--clusters", str(clusters)],
                         check=True, capture_output=True, text=True).stdout
    return state_dir, dict(shlex.split(line)[1].split("=", 1) for line in out.splitlines())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], token: str) -> tuple[subprocess.Popen[bytes], str]:
    """``jupyter server`` with only our extension, in a throw-away Jupyter home."""
    home = Path(tempfile.mkdtemp(prefix="bench-jupyter-"))
    port = free_port()
    child_env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    child_env.update(env, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
                     JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "run"))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
         f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={home}", "--ServerApp.log_level=WARN",
         "--ServerApp.jpserver_extensions=jupyter_emr_roles=True"],
        env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "api/status", headers={"Authorization": f"token {token}"},
                            timeout=2).ok:
                return server, base
        except requests.ConnectionError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("jupyter server did not start within 60 s")


class Rest:
    """The Lab extension's side: one keep-alive HTTP session, following markers."""

    def __init__(self, base: str, token: str) -> None:
        self.url = base + "jupyter-emr-roles/clusters"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"

    def page(self, marker: str | None = None) -> dict:
        response = self.http.get(self.url, params={"marker": marker} if marker else {},
                                 timeout=60)
        response.raise_for_status()
        return response.json()

    def all_ids(self) -> list[str]:
        ids, marker = [], None
        while True:
            page = self.page(marker)
            ids += [row["id"] for row in page["clusters"]]
            marker = page["marker"]
            if marker is None:
                return ids


class Bare:
    def __init__(self, env: dict[str, str]) -> None:
        self.emr = boto3.client("emr", endpoint_url=env["AWS_ENDPOINT_URL"],
                                region_name=env["AWS_DEFAULT_REGION"],
                                aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                verify=env["AWS_CA_BUNDLE"])

    def first_page(self) -> dict:
        return self.emr.list_clusters(ClusterStates=["RUNNING", "WAITING"])

    def all_ids(self) -> list[str]:
        pages = self.emr.get_paginator("list_clusters").paginate(
            ClusterStates=["RUNNING", "WAITING"])
        return [c["Id"] for page in pages for c in page["Clusters"]]


def interleaved(ours: Callable[[], object], baseline: Callable[[], object],
                repeat: int) -> tuple[float, float]:
    """Medians of alternating single runs, so a busy moment of the machine hits both sides."""
    samples = [(timed(ours, 1), timed(baseline, 1)) for _ in range(repeat)]
    return (statistics.median(s[0] for s in samples),
            statistics.median(s[1] for s in samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clusters", type=int, default=1000)
    options = parser.parse_args()

    state_dir, env = start_emulator(options.clusters)
    token = secrets.token_hex(16)
    server = None
    try:
        server, base = start_server(env, token)
        rest, bare = Rest(base, token), Bare(env)
        ours_ids, bare_ids = rest.all_ids(), bare.all_ids()  # warm-up, and the same answer
        assert sorted(ours_ids) == sorted(bare_ids) and len(set(ours_ids)) == len(ours_ids)
        pages = -(-len(bare_ids) // 50)
        ours_all, bare_all = interleaved(rest.all_ids, bare.all_ids, options.repeat)
        ours_first, bare_first = interleaved(rest.page, bare.first_page, options.repeat)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run([*CLI, "local", "down", "--state-dir", state_dir], capture_output=True)

    print(f"{len(bare_ids)} RUNNING/WAITING clusters, {pages} pages, median of {options.repeat}")
    print()
    print("| figure | ours (REST) | bare boto3 | ratio | goal |")
    print("|---|---|---|---|---|")
    for label, value, baseline, goal in (
            ("all pages: `GET clusters` following markers vs `paginate()`", ours_all, bare_all,
             "≤ 1.3"),
            ("first page", ours_first, bare_first, "")):
        print(f"| {label} | {value * 1000:.1f} ms | {baseline * 1000:.1f} ms | "
              f"{value / baseline:.2f}x | {goal} |")
    print()
    print(json.dumps({"all_pages_ratio": round(ours_all / bare_all, 3),
                      "first_page_ms": round(ours_first * 1000, 1)}))


if __name__ == "__main__":
    main()
