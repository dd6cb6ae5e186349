# shellcheck shell=bash
# Sourced by quickstart.sh and test.sh: the machine set-up both commands share.
#
#   ensure_debian_packages PKG...   install what is missing (apt-get, as root or via sudo)
#   ensure_venv EXTRAS              create .venv (Python >= 3.11) and install this project into it
#   pip_quietly PYTHON ARGS...      `pip install ARGS` into PYTHON's environment; the log on failure
#
# VENV (default: .venv in the checkout) and PYTHON (default: python3) may be set by the caller.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

say() { printf '==> %s\n' "$*" >&2; }

ensure_debian_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  say "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

pip_quietly() {
  local python="$1" log
  shift
  log="$(mktemp)"
  if ! "$python" -m pip install --quiet "$@" >"$log" 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" "$log" | tail -n 40 >&2
    echo "error: pip install $* failed; the full log is $log" >&2
    return 1
  fi
  rm -f "$log"
}

ensure_venv() {
  local extras="$1" log
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: $PYTHON is older than Python 3.11; set PYTHON=/path/to/python3.11" >&2
    return 1
  fi
  [ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
  say "installing jupyter-emr-roles${extras:+[$extras]} into $VENV"
  pip_quietly "$VENV/bin/python" --upgrade pip
  pip_quietly "$VENV/bin/python" --editable "$ROOT${extras:+[$extras]}"
  log="$(mktemp)"
  # An editable install builds the Lab extension but does not put it where JupyterLab looks
  # (a wheel does): link the build there, so `jupyter lab` from this venv shows the EMR button.
  if ! "$VENV/bin/jupyter-builder" develop --overwrite "$ROOT" >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: linking the Lab extension into $VENV failed" >&2
    return 1
  fi
  rm -f "$log"
}
