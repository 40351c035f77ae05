#!/usr/bin/env bash
# `make test-distributed`, step 1: what the multi-worker Airflow test needs beyond `make install`.
# Idempotent and non-interactive: the Debian packages are installed only when their binaries are
# missing (PostgreSQL's live in /usr/lib/postgresql/<version>/bin, whatever the version), then the
# Python packages of requirements-distributed.txt go into .venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive

postgres_bin() {
  # The newest installed major version that has the server binaries.
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

missing=()
postgres_bin > /dev/null || missing+=(postgresql)
command -v redis-server > /dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "install.sh: need root to apt-get install ${missing[*]}" >&2; exit 1; }
  echo "Installing ${missing[*]} (apt-get)"
  apt-get update -qq < /dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" < /dev/null > /dev/null
fi
# The Debian packages start their own system-wide servers; the tests start private ones instead
# and never talk to these, so they are left as the package set them up.
echo "PostgreSQL binaries: $(postgres_bin)"
echo "Redis: $(command -v redis-server)"

.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-distributed.txt < /dev/null
