"""Figures for ``%connect``, each next to a baseline measured in the same run (fake engine).

    python benchmarks/connect_magic.py [--repeat 3] [--statements 20]

- ``%connect`` wall time against the same calls made bare: DescribeCluster,
  GetClusterSessionCredentials, a raw Livy POST /sessions and polling until
  idle (goal: at most 1.15x). Ours also probes Livy once and runs ``spark``.
- ``%load_ext jupyter_emr_roles`` in a fresh process against ``import
  sparkmagic.magics.remotesparkmagics`` in a fresh process (goal: at most 0.5x).
- A ``%%spark`` cell through our session against one through a plain
  ``%spark add -t Basic_Access`` session on the same gateway (goal: at most 1.05x).

The magics run in an in-process IPython shell with its own sparkmagic
configuration. Prints a Markdown table; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import boto3
import requests
from measure import timed

CLI = [sys.executable, "-m", "jupyter_emr_roles"]
SALES = "arn:aws:iam::123456789012:role/sales-data-access"
SPARKMAGIC_CONFIG = {
    "logging_config": {"version": 1, "disable_existing_loggers": False, "handlers": {},
                       "loggers": {"magicsLogger": {"handlers": [], "level": "ERROR"}}},
    "heartbeat_refresh_seconds": 30, "livy_server_heartbeat_timeout_seconds": 60,
}




def start_emulator() -> tuple[str, dict[str, str]]:
    state_dir = tempfile.mkdtemp(prefix="bench-connect-")
    out = subprocess.run([*CLI, "local", "up", "--detach", "--state-dir", state_dir,
                          "--spark", "fake"], check=True, capture_output=True, text=True).stdout
    return state_dir, dict(shlex.split(line)[1].split("=", 1) for line in out.splitlines())


def prepare_environment(env: dict[str, str]) -> None:
    """This process becomes the notebook's: the emulator's variables, a private sparkmagic folder."""
    os.environ.update(env)
    conf_dir = tempfile.mkdtemp(prefix="bench-sparkmagic-")
    with open(os.path.join(conf_dir, "config.json"), "w") as config:
        json.dump(SPARKMAGIC_CONFIG, config)
    os.environ["SPARKMAGIC_CONF_DIR"] = conf_dir


class Bare:
    """The calls %connect makes, with nothing around them."""

    def __init__(self, cluster_id: str, ca_bundle: str) -> None:
        self.cluster_id = cluster_id
        self.ca_bundle = ca_bundle

    def connect(self) -> None:
        emr = boto3.client("emr")
        cluster = emr.describe_cluster(ClusterId=self.cluster_id)["Cluster"]
        port = next(c["Properties"]["livy.server.port"] for c in cluster["Configurations"]
                    if c["Classification"] == "livy-conf")
        url = f"https://{cluster['MasterPublicDnsName']}:{port}"
        login = emr.get_cluster_session_credentials(
            ClusterId=self.cluster_id, ExecutionRoleArn=SALES)["Credentials"]["UsernamePassword"]
        http = requests.Session()
        auth = (login["Username"], login["Password"])
        session = http.post(url + "/sessions", json={"kind": "pyspark"}, auth=auth,
                            verify=self.ca_bundle, timeout=60).json()
        while session["state"] in ("not_started", "starting"):
            time.sleep(0.05)
            session = http.get(f"{url}/sessions/{session['id']}", auth=auth,
                               verify=self.ca_bundle, timeout=60).json()
        http.delete(f"{url}/sessions/{session['id']}", auth=auth, verify=self.ca_bundle,
                    timeout=60)


def fresh_process_seconds(setup: str, measured: str, repeat: int) -> float:
    """Median time of ``measured`` in a new interpreter, after ``setup`` ran there."""
    code = (f"{setup}\nimport time\nstarted = time.perf_counter()\n{measured}\n"
            "print(time.perf_counter() - started)")
    samples = [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                    text=True, env=os.environ).stdout.split()[-1])
               for _ in range(repeat)]
    return statistics.median(samples)


def quiet(function: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            function()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--statements", type=int, default=20)
    options = parser.parse_args()

    state_dir, env = start_emulator()
    try:
        prepare_environment(env)
        from IPython.core.interactiveshell import InteractiveShell

        emr = boto3.client("emr")
        cluster_id = {c["Name"]: c["Id"] for c in emr.list_clusters()["Clusters"]}[
            "shared-analytics"]
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "jupyter_emr_roles")
        connect = quiet(lambda: shell.run_line_magic(
            "connect", f"--cluster-id {cluster_id} --name bench"))
        connect()  # warm-up: imports boto3 and sparkmagic
        disconnect = quiet(lambda: shell.run_line_magic("disconnect", "bench"))
        ours = timed(connect, options.repeat, before=disconnect)
        bare = timed(Bare(cluster_id, env["AWS_CA_BUNDLE"]).connect, options.repeat)

        setup = "from IPython.core.interactiveshell import InteractiveShell\n" \
                "shell = InteractiveShell.instance()"
        load_ext = fresh_process_seconds(
            setup, "shell.run_line_magic('load_ext', 'jupyter_emr_roles')", options.repeat)
        sparkmagic_import = fresh_process_seconds(
            setup, "import sparkmagic.magics.remotesparkmagics", options.repeat)

        login = emr.get_cluster_session_credentials(
            ClusterId=cluster_id, ExecutionRoleArn=SALES)["Credentials"]["UsernamePassword"]
        url = status_url(state_dir, cluster_id)
        os.environ["REQUESTS_CA_BUNDLE"] = env["AWS_CA_BUNDLE"]
        quiet(lambda: shell.run_line_magic(
            "spark", f"add -s plain -l python -u {url} -t Basic_Access "
                     f"-a {login['Username']} -p={login['Password']}"))()

        def cells(name: str) -> Callable[[], None]:
            return quiet(lambda: [shell.run_cell_magic("spark", f"-s {name}", "1 + 1")
                                  for _ in range(options.statements)])

        through_ours = timed(cells("bench"), options.repeat) / options.statements
        through_plain = timed(cells("plain"), options.repeat) / options.statements
        quiet(lambda: shell.run_line_magic("spark", "delete -s plain"))()
        quiet(lambda: shell.run_line_magic("disconnect", "--all"))()
    finally:
        subprocess.run([*CLI, "local", "down", "--state-dir", state_dir], capture_output=True)

    print("| figure | ours | baseline | ratio | goal |")
    print("|---|---|---|---|---|")
    rows = [
        ("`%connect` until verified vs bare GCSC + POST + poll", ours, bare, "≤ 1.15"),
        ("`%load_ext jupyter_emr_roles` vs `import sparkmagic...remotesparkmagics` (fresh "
         "process)", load_ext, sparkmagic_import, "≤ 0.5"),
        ("`%%spark` cell through our session vs plain `%spark add` session", through_ours,
         through_plain, "≤ 1.05"),
    ]
    for label, value, baseline, goal in rows:
        print(f"| {label} | {value * 1000:.1f} ms | {baseline * 1000:.1f} ms | "
              f"{value / baseline:.2f}x | {goal} |")


def status_url(state_dir: str, cluster_id: str) -> str:
    out = subprocess.run([*CLI, "local", "status", "--json", "--state-dir", state_dir],
                         check=True, capture_output=True, text=True).stdout
    return next(c["livy_url"] for c in json.loads(out)["clusters"] if c["id"] == cluster_id)


if __name__ == "__main__":
    main()
