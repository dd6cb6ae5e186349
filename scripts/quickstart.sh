#!/usr/bin/env bash
# Install jupyter-emr-roles into .venv with the extras the demo needs (local: the emulator and
# JupyterLab 4; spark: PySpark), then run `jupyter-emr-roles demo`: the local EMR emulator plus
# JupyterLab on the example notebook. No AWS account is needed; Ctrl-C stops it.
# Arguments go to the demo command, e.g. `./scripts/quickstart.sh --no-browser --port 8890`.
set -euo pipefail
# shellcheck source=scripts/setup-env.sh
source "$(dirname "$0")/setup-env.sh"

# nodejs builds the JupyterLab extension when installing from a clone.
ensure_debian_packages libkrb5-dev gcc openjdk-17-jre-headless nodejs
ensure_venv spark,local
say "starting the demo: the local EMR emulator, then JupyterLab"
exec "$VENV/bin/jupyter-emr-roles" demo "$@"
