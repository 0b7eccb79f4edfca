#!/usr/bin/env bash
# Makes sure every tool the tests and the local `dataops` checks need is installed, from the
# project's own files only. Idempotent and cached: a venv is rebuilt only when its requirements
# file (or the constraints file it names) changes.
#
#   bash buildspecs/toolchain/ensure.sh            # every venv + system packages
#   bash buildspecs/toolchain/ensure.sh NAME...    # only these venvs (requirements/NAME.txt)
#
# Each requirements/NAME.txt becomes .venv/NAME. A line `# constraints: PATH` (relative to this
# folder) installs that file with pip -c, the way MWAA installs requirements.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${DATAOPS_PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

log() { printf '[toolchain] %s\n' "$*" >&2; }

ensure_system_packages() {
  # Debian packages that tests use as real servers or browsers. Installed only when missing and
  # only when we may (root with apt-get); otherwise the tests that need them say what is missing.
  local missing=()
  [ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    log "missing Debian packages ${missing[*]}: install them (apt-get install ${missing[*]}) or the tests that need them fail"
  fi
}

ensure_venv() {
  local name="$1" req="$here/requirements/$1.txt" venv="$root/.venv/$1"
  [ -f "$req" ] || { log "no requirements file $req"; return 1; }
  local constraints
  constraints="$(sed -n 's/^# constraints: *//p' "$req" | head -n1)"
  local stamp
  stamp="$( { cat "$req"; [ -n "$constraints" ] && cat "$here/$constraints"; "$python" --version; } 2>&1 | sha256sum | cut -c1-16)"
  if [ -f "$venv/.stamp" ] && [ "$(cat "$venv/.stamp")" = "$stamp" ]; then
    return 0
  fi
  log "building .venv/$name from requirements/$name.txt${constraints:+ with constraints $constraints}"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >&2
  if [ -n "$constraints" ]; then
    "$venv/bin/pip" install -q -r "$req" -c "$here/$constraints" >&2
  else
    "$venv/bin/pip" install -q -r "$req" >&2
  fi
  echo "$stamp" > "$venv/.stamp"
}

if [ $# -gt 0 ]; then
  for n in "$@"; do ensure_venv "$n"; done
else
  ensure_system_packages
  for req in "$here"/requirements/*.txt; do ensure_venv "$(basename "$req" .txt)"; done
fi
