# Sourced by the setup scripts (not run): installs from Debian's packages as root or
# through sudo, node/npm, and the project's Python virtualenv (.venv/).
# shellcheck shell=bash

# The repository root.
ADAPTD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The project's Python virtualenv: moto, cfn-lint. Debian's own Python refuses
# `pip install` (PEP 668), so nothing goes into the system's Python.
ADAPTD_VENV="$ADAPTD_ROOT/.venv"

# apt_install PACKAGE...: installs the packages with apt-get (no recommends), as root
# or through sudo; refreshes the package lists when they are old or an install fails.
apt_install() {
  local -a sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "setup: need to install $* (apt), but this is not root and sudo is missing;" \
        "install them as root: apt-get install $*" >&2
      exit 1
    fi
    sudo_cmd=(sudo)
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: need $*, and apt-get is missing: install them with your system's" \
      "package manager" >&2
    exit 1
  fi
  echo "setup: installing $* (apt)" >&2
  local log
  log="$(mktemp)"
  local -a apt=("${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q)
  # Lists younger than six hours and than the sources are used as they are; an
  # install that fails on them (a package removed from the mirror since) refreshes
  # them and tries once more.
  local newest
  newest="$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -360 -printf '%T@ %p\n' 2>/dev/null \
    | sort -rn | head -n 1 | cut -d' ' -f2-)"
  if [ -z "$newest" ] || [ -n "$(find /etc/apt/sources.list /etc/apt/sources.list.d \
    -newer "$newest" 2>/dev/null | head -n 1)" ]; then
    if ! "${apt[@]}" update >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "setup: apt-get update failed (see above)" >&2
      exit 1
    fi
  fi
  if ! "${apt[@]}" install --no-install-recommends "$@" >"$log" 2>&1; then
    if ! { "${apt[@]}" update && "${apt[@]}" install --no-install-recommends "$@"; } >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "setup: apt-get install $* failed (see above)" >&2
      exit 1
    fi
  fi
  rm -f "$log"
  hash -r
}

# need_node: node and npm, from Debian's packages when either is missing.
need_node() {
  local -a need=()
  command -v node >/dev/null 2>&1 || need+=(nodejs)
  command -v npm >/dev/null 2>&1 || need+=(npm)
  if ((${#need[@]})); then
    apt_install "${need[@]}"
  fi
}

# venv_ready: the virtualenv exists and its interpreter runs.
venv_ready() {
  [ -x "$ADAPTD_VENV/bin/python3" ] && "$ADAPTD_VENV/bin/python3" -c '' >/dev/null 2>&1
}

# need_venv: creates .venv with the machine's python3 (Debian's python3 and
# python3-venv when missing); a broken one (its Python gone) is made anew.
need_venv() {
  venv_ready && return 0
  local -a need=()
  command -v python3 >/dev/null 2>&1 || need+=(python3)
  # Debian ships venv's ensurepip in python3-venv; without it `python3 -m venv` fails.
  if ((${#need[@]})) || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    need+=(python3-venv)
    apt_install "${need[@]}"
  fi
  echo "setup: creating the Python virtualenv $ADAPTD_VENV" >&2
  rm -rf "$ADAPTD_VENV"
  if ! python3 -m venv "$ADAPTD_VENV" >&2; then
    echo "setup: python3 -m venv $ADAPTD_VENV failed" >&2
    exit 1
  fi
}

# venv_pip_install REQUIREMENT...: pip install into .venv (which must exist).
venv_pip_install() {
  echo "setup: installing $* into .venv (pip)" >&2
  if ! "$ADAPTD_VENV/bin/python3" -m pip install --quiet --disable-pip-version-check "$@"; then
    echo "setup: pip install $* into $ADAPTD_VENV failed" >&2
    exit 1
  fi
}
