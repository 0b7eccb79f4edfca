#!/usr/bin/env bash
# Makes sure every tool the tests and the local `dataops` checks need is installed, from the
# project's own files only. Idempotent and cached: a venv is rebuilt only when its requirements
# file (or the constraints file it names) changes.
#
#   bash buildspecs/toolchain/ensure.sh            # every venv + system packages + terraform
#   bash buildspecs/toolchain/ensure.sh NAME...    # only these venvs (requirements/NAME.txt)
#
# Each requirements/NAME.txt becomes .venv/NAME. A line `# constraints: PATH` (relative to this
# folder) installs that file with pip -c, the way MWAA installs requirements. Airflow 2.10.3 is
# .venv/airflow; every other supported Airflow version V is .venv/airflow-V (requirements/airflow-V.txt).
#
# The `terraform` venv also gets the terraform CLI ($TERRAFORM_VERSION, for `terraform fmt -check`) in
# .venv/terraform/bin: a link to that version where it is on PATH, else built with Go from the Go module
# proxy (see ensure_terraform). DATAOPS_TERRAFORM_FROM_SOURCE=1 builds it even when PATH has it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${DATAOPS_PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# Same version as the toolchain image (Dockerfile ARG TERRAFORM_VERSION).
TERRAFORM_VERSION=1.11.4

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

# Prints the version of the terraform binary $1 (e.g. 1.11.4), or nothing.
terraform_version_of() {
  CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null "$1" version 2>/dev/null | sed -n '1s/^Terraform v\([0-9][0-9.]*\).*/\1/p'
}

# Builds terraform $TERRAFORM_VERSION from its Go module (github.com/hashicorp/terraform, through the Go
# module proxy) into $1. `go install ...@version` refuses the module because its go.mod replaces the
# remote-state backends (azurerm, consul, cos, gcs, kubernetes, oss, pg, s3) and internal/legacy with
# nested modules, which a module zip leaves out; the build drops those (backend "s3" etc. blocks then
# fail at `terraform init`: this binary is for fmt and validate, not for plans). Module and build
# caches stay under .cache/go (DATAOPS_GO_CACHE) so that a rebuild takes seconds.
build_terraform() {
  local out="$1" v="$TERRAFORM_VERSION"
  command -v go >/dev/null 2>&1 || {
    log "terraform $v: not on PATH and no Go to build it (install Go, or terraform $v, then run 'bash buildspecs/toolchain/ensure.sh terraform'); 'terraform fmt -check' will not run"
    return 0
  }
  log "building terraform $v from the Go module github.com/hashicorp/terraform@v$v"
  local cache="${DATAOPS_GO_CACHE:-$root/.cache/go}"
  export GOMODCACHE="$cache/mod" GOCACHE="$cache/build" GOFLAGS=-modcacherw GOTOOLCHAIN=local CGO_ENABLED=0
  local mod src
  mod="$(go mod download -json "github.com/hashicorp/terraform@v$v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$mod" ] || { log "go mod download github.com/hashicorp/terraform@v$v gave no source folder"; return 1; }
  src="$(mktemp -d)"
  cp -R "$mod/." "$src"
  chmod -R u+w "$src"
  (
    cd "$src"
    # Go 1.26 knows no `godebug tlskyber` (HashiCorp builds 1.11.4 with Go 1.23); fmt makes no TLS call.
    go mod edit -dropgodebug=tlskyber
    local nested
    nested="$(sed -n 's/^replace \(github.com\/hashicorp\/terraform\/[^ ]*\) => \.\/.*/\1/p' go.mod)"
    for m in $nested; do
      go mod edit -dropreplace="$m" -droprequire="$m"
      # the import of that package in the backend list, and every line that uses its alias
      local alias
      alias="$(sed -n "s|^[[:space:]]*\([A-Za-z0-9_]*\) \"$m\"\$|\1|p" internal/backend/init/init.go)"
      if [ -n "$alias" ]; then sed -i "/\b$alias\b/d" internal/backend/init/init.go; fi
    done
    go build -trimpath -ldflags "-s -w -X github.com/hashicorp/terraform/version.dev=no" -o "$out.tmp" .
  )
  rm -rf "$src"
  mv "$out.tmp" "$out"
}

# .venv/terraform/bin/terraform at $TERRAFORM_VERSION: a link to that version on PATH, else a build.
ensure_terraform() {
  local bin="$root/.venv/terraform/bin" built="$root/.cache/terraform/$TERRAFORM_VERSION/terraform"
  if [ "$(terraform_version_of "$bin/terraform")" = "$TERRAFORM_VERSION" ] && { [ -z "${DATAOPS_TERRAFORM_FROM_SOURCE:-}" ] || [ "$(readlink "$bin/terraform")" = "$built" ]; }; then
    return 0
  fi
  mkdir -p "$bin"
  local on_path
  on_path="$(PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$bin" | paste -sd: -)" command -v terraform || true)"
  if [ -z "${DATAOPS_TERRAFORM_FROM_SOURCE:-}" ] && [ -n "$on_path" ] && [ "$(terraform_version_of "$on_path")" = "$TERRAFORM_VERSION" ]; then
    ln -sfn "$on_path" "$bin/terraform"
    return 0
  fi
  if [ ! -x "$built" ]; then
    mkdir -p "$(dirname "$built")"
    build_terraform "$built"
  fi
  [ -x "$built" ] && ln -sfn "$built" "$bin/terraform"
  return 0
}

if [ $# -gt 0 ]; then
  for n in "$@"; do
    ensure_venv "$n"
    if [ "$n" = terraform ]; then ensure_terraform; fi
  done
else
  ensure_system_packages
  for req in "$here"/requirements/*.txt; do ensure_venv "$(basename "$req" .txt)"; done
  ensure_terraform
fi
