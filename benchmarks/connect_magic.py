"""Figures for ``%connect``, each next to a baseline measured in the same run (fake engine,
strict emulator: two names for the primary, AWS over HTTPS, propagating credentials).

    python benchmarks/connect_magic.py [--repeat 3] [--statements 20] [--propagation 0 1.3 2.7]
                                       [--start-delay 0 0.37] [--other-propagation 0 0.9]

- ``%connect`` wall time against the same calls made bare, on emulators whose Livy accepts
  a new login after each of the ``--propagation`` delays and starts sessions after each of
  the ``--start-delay`` ones (odd numbers, so no polling schedule is in step): only the calls
  a session needs, as a careful user writes them against a Livy whose timing they do not
  know: GetClusterSessionCredentials, POST /sessions (sent again every 20 ms while Livy
  answers 401, the least any client can wait), polling every 20 ms until idle, and ``spark``
  as a first statement (goal: at most 1.15x); on both sides the client is warm and the
  delete of the previous session is outside the timing. The Livy URL (ListInstances, the TLS
  handshakes) is found once per kernel, so both sides find it before the timing starts.
  ``%connect``'s DescribeCluster is inside its figure: the bare side needs none. The same again on
  ``benchmarks/other_livy.py``, a Livy-compatible server that shares no code with the
  emulator and keeps a timing of its own, given to ``%connect`` as ``--livy-url``.
- ``%load_ext jupyter_emr_roles`` in a fresh process against ``import
  sparkmagic.magics.remotesparkmagics`` in a fresh process (goal: at most 0.5x).
- A ``%%spark`` cell through our session against one through a plain
  ``%spark add -t Basic_Access`` session on the same gateway, one cell of each in turn, median
  time per cell (goal: at most 1.05x); the mean and the share of cells that waited out
  sparkmagic's poll interval go to stderr.

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
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import jupyter_emr_roles.local
import requests
from measure import alternately, timed

CLI = [sys.executable, "-m", "jupyter_emr_roles"]
SALES = "arn:aws:iam::123456789012:role/sales-data-access"
SPARKMAGIC_CONFIG = {
    "logging_config": {"version": 1, "disable_existing_loggers": False, "handlers": {},
                       "loggers": {"magicsLogger": {"handlers": [], "level": "ERROR"}}},
    "heartbeat_refresh_seconds": 30, "livy_server_heartbeat_timeout_seconds": 60,
}
# benchmarks/other_livy.py's timing: a session is idle after 0.23 s, a statement done in 31 ms.
OTHER_START = 0.23
OTHER_STATEMENT = 0.031




def start_emulator(propagation: float, start_delay: float = 0.0) -> tuple[str, dict[str, str]]:
    """A strict emulator whose Livy accepts a login ``propagation`` seconds after it is issued
    and keeps each new session starting for ``start_delay`` seconds."""
    state_dir = tempfile.mkdtemp(prefix="bench-connect-")
    world = json.loads((Path(jupyter_emr_roles.local.__file__).parent
                        / "world.default.json").read_text())
    for cluster in world["clusters"]:
        cluster["session_start_seconds"] = start_delay
    world_file = Path(state_dir) / "world.json"
    world_file.write_text(json.dumps(world))
    out = subprocess.run([*CLI, "local", "up", "--detach", "--state-dir", state_dir,
                          "--world", str(world_file), "--spark", "fake", "--strict",
                          "--credential-propagation", str(propagation)],
                         check=True, capture_output=True, text=True).stdout
    return state_dir, dict(shlex.split(line)[1].split("=", 1) for line in out.splitlines())


def prepare_environment(env: dict[str, str]) -> None:
    """This process becomes the notebook's: the emulator's variables, a private sparkmagic
    folder, and none of this machine's CA variables."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(name, None)
    os.environ.update(env)
    conf_dir = tempfile.mkdtemp(prefix="bench-sparkmagic-")
    with open(os.path.join(conf_dir, "config.json"), "w") as config:
        json.dump(SPARKMAGIC_CONFIG, config)
    os.environ["SPARKMAGIC_CONF_DIR"] = conf_dir


class Bare:
    """The calls %connect makes, with nothing around them."""

    def __init__(self, cluster_id: str, livy_url: str, ca_bundle: str) -> None:
        self.cluster_id = cluster_id
        self.url = livy_url
        self.ca_bundle = ca_bundle
        self.emr = boto3.Session().client("emr")  # a new session: each emulator has new keys
        self.opened: list[tuple[requests.Session, int]] = []

    def connect(self) -> None:
        """Everything up to a session that answers; its delete is left to ``clean_up``, outside
        the timing, as %connect's is (the next connect's --name deletes the old session).

        What a careful user writes against a Livy whose timing they do not know: no sleep
        after GetClusterSessionCredentials (the login may be accepted at once), the session's
        POST sent again every 20 ms while Livy answers 401, then 20 ms polls; no request that
        the session itself does not need."""
        login = self.emr.get_cluster_session_credentials(
            ClusterId=self.cluster_id, ExecutionRoleArn=SALES)["Credentials"]["UsernamePassword"]
        http = requests.Session()
        http.trust_env = False
        http.auth = (login["Username"], login["Password"])
        http.verify = self.ca_bundle
        while True:
            answer = http.post(self.url + "/sessions", json={"kind": "pyspark"}, timeout=60)
            if answer.status_code != 401:
                break
            time.sleep(0.02)
        session = answer.json()
        while session["state"] in ("not_started", "starting"):
            time.sleep(0.02)
            session = http.get(f"{self.url}/sessions/{session['id']}", timeout=60).json()
        statements = f"{self.url}/sessions/{session['id']}/statements"
        statement = http.post(statements, json={"code": "spark"}, timeout=60).json()
        while statement["state"] not in ("available", "error", "cancelled"):
            time.sleep(0.02)
            statement = http.get(f"{statements}/{statement['id']}", timeout=60).json()
        self.opened.append((http, session["id"]))

    def clean_up(self) -> None:
        while self.opened:
            http, session_id = self.opened.pop()
            http.delete(f"{self.url}/sessions/{session_id}", timeout=60)


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


@contextlib.contextmanager
def other_livy(propagation: float) -> Iterator[tuple[str, str]]:
    """(URL, CA bundle) of benchmarks/other_livy.py running in a process of its own."""
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("other_livy.py")),
                               "--start", str(OTHER_START), "--statement", str(OTHER_STATEMENT),
                               "--propagation", str(propagation)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url, ca_bundle = server.stdout.readline().split()
        yield url, ca_bundle
    finally:
        server.terminate()
        server.wait()


@contextlib.contextmanager
def connect_target(propagation: float, start_delay: float,
                   livy: tuple[str, str] | None = None) -> Iterator[tuple[str, str, str, str]]:
    """(cluster ID, Livy URL, its CA bundle, the %connect options that name that Livy) on a
    strict emulator with that timing, this process its notebook's; or, given ``livy`` (URL,
    CA bundle), on the emulator's control plane and that Livy. The emulator stops after."""
    state_dir, env = start_emulator(propagation, start_delay)
    try:
        prepare_environment(env)
        cluster_id = cluster_named("shared-analytics")
        url, ca_bundle = livy or (livy_url(state_dir, cluster_id),
                                  env["JUPYTER_EMR_ROLES_CA_BUNDLE"])
        yield cluster_id, url, ca_bundle, f" --livy-url {url} --ca-bundle {ca_bundle}" \
            if livy else ""
    finally:
        subprocess.run([*CLI, "local", "down", "--state-dir", state_dir], capture_output=True)


def connect_figures(propagation: float, start_delay: float, repeat: int,
                    livy: tuple[str, str] | None = None) -> tuple[float, float]:
    """(ours, bare) median seconds of one connect on a strict emulator with that timing, or,
    given ``livy`` (URL, CA bundle), on the emulator's control plane and that Livy."""
    with connect_target(propagation, start_delay, livy) as (cluster_id, url, ca_bundle, where):
        from IPython.core.interactiveshell import InteractiveShell

        shell = InteractiveShell.instance()
        quiet(lambda: shell.run_line_magic("load_ext", "jupyter_emr_roles"))()
        connect = quiet(lambda: shell.run_line_magic(
            "connect", f"--cluster-id {cluster_id} --name bench{where}"))
        connect()  # warm-up: imports boto3 and sparkmagic, finds the Livy URL
        disconnect = quiet(lambda: shell.run_line_magic("disconnect", "bench"))
        bare = Bare(cluster_id, url, ca_bundle)
        return alternately(connect, disconnect, bare.connect, bare.clean_up, repeat)


def cell_figures(statements: int, repeat: int) -> tuple[float, float]:
    """(ours, plain sparkmagic) seconds of one ``%%spark`` cell, on one strict emulator."""
    state_dir, env = start_emulator(0.0)
    try:
        prepare_environment(env)
        from IPython.core.interactiveshell import InteractiveShell

        cluster_id = cluster_named("shared-analytics")
        shell = InteractiveShell.instance()
        quiet(lambda: shell.run_line_magic("load_ext", "jupyter_emr_roles"))()
        quiet(lambda: shell.run_line_magic("connect", f"--cluster-id {cluster_id} --name bench"))()
        login = boto3.Session().client("emr").get_cluster_session_credentials(
            ClusterId=cluster_id, ExecutionRoleArn=SALES)["Credentials"]["UsernamePassword"]
        os.environ["REQUESTS_CA_BUNDLE"] = env["JUPYTER_EMR_ROLES_CA_BUNDLE"]
        quiet(lambda: shell.run_line_magic(
            "spark", f"add -s plain -l python -u {livy_url(state_dir, cluster_id)} "
                     f"-t Basic_Access -a {login['Username']} -p={login['Password']}"))()

        def cell(name: str) -> Callable[[], None]:
            return quiet(lambda: shell.run_cell_magic("spark", f"-s {name}", "1 + 1"))

        # One cell each in turn: a fake-engine statement takes about as long as the client's
        # first poll, so a few cells of either session wait out sparkmagic's 0.2 s sleep, by
        # chance; the median is the cell that did not, the share says how many did.
        ours_samples, plain_samples = [], []
        for _ in range(statements * repeat):
            ours_samples.append(timed(cell("bench"), 1))
            plain_samples.append(timed(cell("plain"), 1))
        for label, samples in (("ours", ours_samples), ("plain", plain_samples)):
            waited = sum(sample > 0.1 for sample in samples) / len(samples)
            print(f"%%spark cells, {label}: mean {statistics.mean(samples) * 1000:.1f} ms, "
                  f"{waited:.0%} waited a poll interval", file=sys.stderr)
        ours, plain = statistics.median(ours_samples), statistics.median(plain_samples)
        quiet(lambda: shell.run_line_magic("spark", "delete -s plain"))()
        quiet(lambda: shell.run_line_magic("disconnect", "--all"))()
        os.environ.pop("REQUESTS_CA_BUNDLE")
        return ours, plain
    finally:
        subprocess.run([*CLI, "local", "down", "--state-dir", state_dir], capture_output=True)


def connect_rows(figures: Callable[..., tuple[float, float]], options: argparse.Namespace,
                 what: str) -> list[tuple[str, float, float]]:
    """(label, ours, bare) of ``figures(propagation, start_delay, repeat[, livy])`` for every
    timing the options name: the emulator's, then benchmarks/other_livy.py's."""
    rows = []
    for propagation in options.propagation:
        for start_delay in options.start_delay:
            ours, bare = figures(propagation, start_delay, options.repeat)
            rows.append((f"{what}, {propagation:g} s propagation, sessions starting in "
                         f"{start_delay:g} s", ours, bare))
    for propagation in options.other_propagation:
        with other_livy(propagation) as livy:
            ours, bare = figures(0.0, 0.0, options.repeat, livy)
        rows.append((f"{what} on other_livy.py: {propagation:g} s propagation, sessions idle "
                     f"after {OTHER_START:g} s, statements {OTHER_STATEMENT * 1000:g} ms",
                     ours, bare))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--statements", type=int, default=20)
    parser.add_argument("--propagation", type=float, nargs="+", default=[0.0, 1.3, 2.7])
    parser.add_argument("--start-delay", type=float, nargs="+", default=[0.0, 0.37])
    parser.add_argument("--other-propagation", type=float, nargs="*", default=[0.0, 0.9],
                        help="propagation delays of benchmarks/other_livy.py, an independent "
                        "Livy-compatible server (none: skip it)")
    options = parser.parse_args()
    rows = [(*row, "≤ 1.15") for row in connect_rows(
        connect_figures, options, "`%connect` until verified vs bare calls")]
    setup = "from IPython.core.interactiveshell import InteractiveShell\n" \
            "shell = InteractiveShell.instance()"
    load_ext = fresh_process_seconds(
        setup, "shell.run_line_magic('load_ext', 'jupyter_emr_roles')", options.repeat)
    sparkmagic_import = fresh_process_seconds(
        setup, "import sparkmagic.magics.remotesparkmagics", options.repeat)
    rows.append(("`%load_ext jupyter_emr_roles` vs `import sparkmagic...remotesparkmagics` "
                 "(fresh process)", load_ext, sparkmagic_import, "≤ 0.5"))
    ours_cell, plain_cell = cell_figures(options.statements, options.repeat)
    rows.append(("`%%spark` cell through our session vs plain `%spark add` session (median)",
                 ours_cell,
                 plain_cell, "≤ 1.05"))
    print("| figure | ours | baseline | ratio | goal |")
    print("|---|---|---|---|---|")
    for label, value, baseline, goal in rows:
        print(f"| {label} | {value * 1000:.1f} ms | {baseline * 1000:.1f} ms | "
              f"{value / baseline:.2f}x | {goal} |")


def cluster_named(name: str) -> str:
    emr = boto3.Session().client("emr")
    return {c["Name"]: c["Id"] for c in emr.list_clusters()["Clusters"]}[name]


def livy_url(state_dir: str, cluster_id: str) -> str:
    """Livy of the cluster by its private name, the one its certificate names."""
    out = subprocess.run([*CLI, "local", "status", "--json", "--state-dir", state_dir],
                         check=True, capture_output=True, text=True).stdout
    return next(c["livy_url"] for c in json.loads(out)["clusters"] if c["id"] == cluster_id)


if __name__ == "__main__":
    main()
