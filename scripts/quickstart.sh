#!/usr/bin/env bash
# Install jupyter-emr-roles into .venv and show the runtime roles of the example roles file.
set -euo pipefail
# shellcheck source=scripts/setup-env.sh
source "$(dirname "$0")/setup-env.sh"

ensure_debian_packages libkrb5-dev gcc
ensure_venv ""
say "the runtime roles of examples/emr-roles.json:"
JUPYTER_EMR_ROLES_FILE="$ROOT/examples/emr-roles.json" "$VENV/bin/jupyter-emr-roles" roles list
say "done. Try: source .venv/bin/activate && jupyter-emr-roles --help"
