"""Figures for ``%connect --application-id`` on an EMR Serverless Livy endpoint, next to the
same calls made bare in the same run (fake engine, strict emulator: AWS over HTTPS).

    python benchmarks/serverless_livy.py [--repeat 9]

The bare side is what a careful user writes against the endpoint: a POST /sessions with the
job role in its conf, signed with SigV4 by the caller's keys (botocore's signer), 20-ms polls
until the session is idle, and ``spark`` as the first statement, each request signed. The
application is STARTED on both sides (a stopped one's StartApplication is excluded from both);
``%connect``'s GetApplication is inside its figure, the bare side needs none. Both sides run
warm (boto3 and sparkmagic imported), the delete of the previous session is outside both
timings, and they are timed alternately. Prints a Markdown table; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from connect_magic import CLI, SALES, prepare_environment, quiet
from measure import alternately

APPLICATION = "serverless-livy"


class SignedBare:
    """The Livy calls of one session on the endpoint, each signed, with nothing around them."""

    def __init__(self, url: str) -> None:
        session = boto3.Session()
        self.credentials = session.get_credentials()
        self.region = session.region_name
        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = os.environ["AWS_CA_BUNDLE"]
        self.opened: list[int] = []

    def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = b"" if body is None else json.dumps(body).encode()
        request = AWSRequest(method=method, url=self.url + path, data=data,
                             headers={"Content-Type": "application/json"})
        SigV4Auth(self.credentials.get_frozen_credentials(), "emr-serverless",
                  self.region).add_auth(request)
        return self.http.request(method, request.url, data=data, headers=dict(request.headers),
                                 timeout=60)

    def connect(self) -> None:
        conf = {"emr-serverless.session.executionRoleArn": SALES}
        session = self.send("POST", "/sessions", {"kind": "pyspark", "conf": conf}).json()
        while session["state"] in ("not_started", "starting"):
            time.sleep(0.02)
            session = self.send("GET", f"/sessions/{session['id']}").json()
        statements = f"/sessions/{session['id']}/statements"
        statement = self.send("POST", statements, {"code": "spark"}).json()
        while statement["state"] not in ("available", "error", "cancelled"):
            time.sleep(0.02)
            statement = self.send("GET", f"{statements}/{statement['id']}").json()
        self.opened.append(session["id"])

    def clean_up(self) -> None:
        while self.opened:
            self.send("DELETE", f"/sessions/{self.opened.pop()}")


@contextlib.contextmanager
def emulator() -> Iterator[str]:
    """A strict emulator, this process its notebook's; the application's ID."""
    state_dir = tempfile.mkdtemp(prefix="bench-serverless-")
    out = subprocess.run([*CLI, "local", "up", "--detach", "--state-dir", state_dir,
                          "--spark", "fake", "--strict"], check=True, capture_output=True,
                         text=True).stdout
    prepare_environment(dict(shlex.split(line)[1].split("=", 1)
                             for line in out.splitlines()))
    try:
        pages = boto3.client("emr-serverless").get_paginator("list_applications").paginate()
        yield next(app["id"] for page in pages for app in page["applications"]
                   if app["name"] == APPLICATION)
    finally:
        subprocess.run([*CLI, "local", "down", "--state-dir", state_dir], capture_output=True)


def connect_figures(repeat: int) -> tuple[float, float]:
    """(ours, bare) median seconds of one connect on the application's Livy endpoint."""
    with emulator() as application_id:
        from IPython.core.interactiveshell import InteractiveShell

        shell = InteractiveShell.instance()
        quiet(lambda: shell.run_line_magic("load_ext", "jupyter_emr_roles"))()
        connect = quiet(lambda: shell.run_line_magic(
            "connect", f"--application-id {application_id} --engine livy --name bench"))
        disconnect = quiet(lambda: shell.run_line_magic("disconnect", "bench"))
        connect()  # warm-up: imports boto3 and sparkmagic
        bare = SignedBare(os.environ["JUPYTER_EMR_ROLES_SERVERLESS_LIVY_URL"].format(
            application_id=application_id, region=os.environ["AWS_DEFAULT_REGION"]))
        bare.connect()
        bare.clean_up()
        return alternately(connect, disconnect, bare.connect, bare.clean_up, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    options = parser.parse_args()
    ours, baseline = connect_figures(options.repeat)
    print("| figure | ours | baseline | ratio | goal |")
    print("|---|---|---|---|---|")
    print(f"| `%connect --application-id` (Livy endpoint) vs signed bare calls | "
          f"{ours * 1000:.1f} ms | {baseline * 1000:.1f} ms | {ours / baseline:.2f}x | ≤ 1.15 |")


if __name__ == "__main__":
    main()
