#!/usr/bin/env bash
# Install everything the test suite needs on a Debian machine, then run the whole suite.
#   ./scripts/test.sh            all tests
#   ./scripts/test.sh -k roles   extra arguments go to pytest
# Debian packages: libkrb5-dev (sparkmagic -> requests-kerberos -> gssapi builds against it);
# the linter ShellCheck, which checks the lifecycle scripts as a test; util-linux (flock, setpriv);
# openjdk-17-jre-headless for the emulator's real PySpark engine; chromium for the browser tests
# (Playwright drives Debian's Chromium: Playwright's own browser download is not used); jq,
# openssl and zip for examples/admin/demo-stack.sh, which a test runs with the AWS CLI; faketime,
# which runs a kernel whose clock is behind AWS's (a token it thinks good is expired). Node.js
# builds the JupyterLab extension during the install. More environments live in .venv: IPython 8
# for the magics' kernel test, EMR 8's Spark Connect client line (pyspark-client 4.0, the
# `connect` extra's pin) for the client-version warning's test, EMR Serverless's (PySpark 3.5),
# and a JupyterLab 3 one (as Studio Classic images have) that a test installs this checkout's
# freshly built wheel into; the last boto3/botocore without EMR's session calls sits beside them
# for one test.
set -euo pipefail
# shellcheck source=scripts/setup-env.sh
source "$(dirname "$0")/setup-env.sh"

# ensure_jupyterlab3_venv DIR: a venv holding only JupyterLab 3 (pinned), made again if a run
# left another JupyterLab in it. tests/test_install_jupyterlab3.py installs our wheel into it.
ensure_jupyterlab3_venv() {
  local dir="$1"
  "$dir/bin/python" -c 'import importlib.metadata as m, sys
sys.exit(not m.version("jupyterlab").startswith("3."))' 2>/dev/null && return 0
  say "creating $dir: a JupyterLab 3 environment"
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  pip_quietly "$dir/bin/python" --upgrade pip
  pip_quietly "$dir/bin/python" 'jupyterlab>=3.6,<4'
}

ensure_debian_packages libkrb5-dev gcc shellcheck util-linux openjdk-17-jre-headless chromium \
  jq openssl zip faketime
command -v node >/dev/null || ensure_debian_packages nodejs
ensure_venv test
# IPython 8 beside the venv's IPython 9: the magics are tested in a kernel of each.
[ -d "$VENV/ipython8/IPython" ] || "$VENV/bin/python" -m pip install --quiet --no-deps \
  --target "$VENV/ipython8" 'ipython>=8.12,<9'
[ -d "$VENV/pyspark-client-4.0/pyspark" ] || pip_quietly "$VENV/bin/python" --no-deps \
  --target "$VENV/pyspark-client-4.0" 'pyspark-client>=4.0,<4.1'
# EMR Serverless's Spark Connect client line, PySpark 3.5 (it has no client-only package).
[ -d "$VENV/pyspark-3.5/pyspark" ] || pip_quietly "$VENV/bin/python" --no-deps \
  --target "$VENV/pyspark-3.5" 'pyspark>=3.5,<3.6'
# The last boto3/botocore without EMR's session calls, for the test of what %connect says there.
[ -d "$VENV/botocore-1.43.22/botocore" ] || pip_quietly "$VENV/bin/python" --no-deps \
  --target "$VENV/botocore-1.43.22" 'boto3==1.43.22' 'botocore==1.43.22'
ensure_jupyterlab3_venv "$VENV/jupyterlab3"
cd "$ROOT"
say "running the test suite"
# Four workers on two cores, a test module each at a time (--dist loadfile keeps a module's
# emulator in one process), in the order conftest.py gives (modules that mostly wait first):
# most of the suite waits on renewals, JVMs and sessions starting, so the waits overlap.
# pytest exits 5 when it collected nothing, and set -e turns any non-zero status into a failure.
exec "$VENV/bin/python" -m pytest -n "${TEST_WORKERS:-4}" --dist loadfile --no-loadscope-reorder \
  "$@"
