#!/usr/bin/env bash
# Install jupyter-emr-roles, start the local EMR emulator (real PySpark under runtime roles),
# and run one Spark session as the 'sales-data-access' role. No AWS account is needed.
set -euo pipefail
# shellcheck source=scripts/setup-env.sh
source "$(dirname "$0")/setup-env.sh"

ensure_debian_packages libkrb5-dev gcc openjdk-17-jre-headless
ensure_venv spark
cli="$VENV/bin/jupyter-emr-roles"
"$cli" local down >/dev/null 2>&1 || true
say "starting the local EMR emulator"
eval "$("$cli" local up --detach)"
say "the runtime roles the demo user may pick:"
"$cli" roles list
say "a Spark session as the sales role:"
"$VENV/bin/python" "$ROOT/examples/quickstart.py"
say "the emulator keeps running; point your shell at it with:"
say "  eval \"\$($cli local env)\""
say "and stop it with: $cli local down"
