#!/usr/bin/env bash
# `make run`: the local Salesforce (demo CRM) and Airflow (API server + UI, scheduler, DAG
# processor, triggerer) with the demo integrations. State lives under $VAR_DIR (default var/),
# component logs under $VAR_DIR/log/. The address is printed once the UI answers; Ctrl-C or SIGTERM
# stops every process this script started (each runs in its own process group, so the workers
# and servers they start go too), and running it again starts afresh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="$ROOT/.venv/bin"
export PATH="$BIN:$PATH"   # Airflow starts its own helpers as `airflow` from PATH
VAR_DIR=${VAR_DIR:-$ROOT/var}
LOGS="$VAR_DIR/log"
EMULATOR_DIR="$VAR_DIR/emulator"
AIRFLOW_PORT=${AIRFLOW_PORT:-8080}
EMULATOR_PORT=${EMULATOR_PORT:-18443}
STOP_SECONDS=${STOP_SECONDS:-20}
URL="http://127.0.0.1:$AIRFLOW_PORT"
# What the Makefile exports, for running this script on its own too.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export AIRFLOW_HOME=${AIRFLOW_HOME:-$VAR_DIR/airflow}
export AIRFLOW__CORE__DAGS_FOLDER=${AIRFLOW__CORE__DAGS_FOLDER:-$ROOT/dags}
export AIRFLOW__CORE__PLUGINS_FOLDER=${AIRFLOW__CORE__PLUGINS_FOLDER:-$ROOT/plugins}
export AIRFLOW__CORE__LOAD_EXAMPLES=${AIRFLOW__CORE__LOAD_EXAMPLES:-False}
export WALKME_SYNC_INTEGRATIONS_DIR=${WALKME_SYNC_INTEGRATIONS_DIR:-$ROOT/demo/integrations}
mkdir -p "$LOGS" "$EMULATOR_DIR" "$AIRFLOW_HOME"

PIDS=()
STOPPING=0
# Whether any process of our components' groups still runs (exited ones wait as zombies for us).
groups_alive() {
  local groups=" ${PIDS[*]} "
  ps -eo pgid=,stat= | awk -v groups="$groups" \
    'index(groups, " " $1 " ") && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}
stop_all() {
  [ "$STOPPING" = 1 ] && return 0
  STOPPING=1
  trap '' INT TERM   # a second Ctrl-C must not cut the clean-up short
  if [ "${#PIDS[@]}" -gt 0 ]; then
    echo "Stopping the local Salesforce and Airflow..."
    for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2> /dev/null || true; done
    local waited=0
    while [ "$waited" -lt $((STOP_SECONDS * 2)) ] && groups_alive; do
      sleep 0.5
      waited=$((waited + 1))
    done
    # Whatever ignored SIGTERM for that long is hung: it goes now.
    for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2> /dev/null || true; done
    wait 2> /dev/null || true
    echo "Stopped."
  fi
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# start NAME COMMAND...: in its own session and process group, output to $LOGS/NAME.log.
start() {
  local name=$1
  shift
  setsid "$@" > "$LOGS/$name.log" 2>&1 < /dev/null &
  PIDS+=("$!")
}

# Free unless something listens there (connections of a previous run in TIME_WAIT do not count,
# as for the servers themselves, which bind with SO_REUSEADDR).
port_free() {
  "$BIN/python" - "$1" 2> /dev/null << 'PY'
import socket, sys
probe = socket.socket()
probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
probe.bind(("127.0.0.1", int(sys.argv[1])))
PY
}
for port in "$AIRFLOW_PORT" "$EMULATOR_PORT"; do
  if ! port_free "$port"; then
    echo "make run: port $port is in use (another \`make run\`?). Stop it, or choose other ports:" \
      "make run AIRFLOW_PORT=8081 EMULATOR_PORT=18444" >&2
    exit 1
  fi
done

# The emulator's first output line says where it is; an old file from an earlier run must not be
# mistaken for it.
rm -f "$EMULATOR_DIR/emulator.out"
setsid "$BIN/python" -m sf_emulator --port "$EMULATOR_PORT" --data-dir "$EMULATOR_DIR" \
  --seed-file demo/samples/crm/seed.json > "$EMULATOR_DIR/emulator.out" 2> "$LOGS/emulator.log" \
  < /dev/null &
PIDS+=("$!")
if ! PROXY=$("$BIN/python" scripts/airflow_ready.py emulator "$EMULATOR_DIR/emulator.out" 30); then
  tail -20 "$LOGS/emulator.log" >&2
  exit 1
fi
export REQUESTS_CA_BUNDLE="$EMULATOR_DIR/trust-bundle.pem"

export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$AIRFLOW_PORT"
export AIRFLOW__API__BASE_URL="$URL"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="$URL/execution/"
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/passwords.json"
[ -f "$AIRFLOW_HOME/passwords.json" ] || echo '{"admin": "admin"}' > "$AIRFLOW_HOME/passwords.json"
echo "Preparing Airflow's database (log: $LOGS/airflow-migrate.log)..."
"$BIN/airflow" db migrate > "$LOGS/airflow-migrate.log" 2>&1
"$BIN/python" scripts/airflow_settings.py import
# The run-note connection follows the port in use (an environment connection wins over the DB's).
export AIRFLOW_CONN_WALKME_AIRFLOW_API="{\"conn_type\": \"http\", \"host\": \"127.0.0.1\", \"port\": $AIRFLOW_PORT, \"login\": \"admin\", \"password\": \"admin\"}"

echo "Starting Airflow (logs: $LOGS/airflow-*.log)..."
start airflow-api-server "$BIN/airflow" api-server --host 127.0.0.1 --port "$AIRFLOW_PORT"
start airflow-scheduler "$BIN/airflow" scheduler
start airflow-dag-processor "$BIN/airflow" dag-processor
start airflow-triggerer "$BIN/airflow" triggerer
if ! NEXT=$("$BIN/python" scripts/airflow_ready.py airflow "$URL" admin admin 300 "${PIDS[@]}"); then
  for log in "$LOGS"/airflow-*.log; do echo "--- $log"; tail -15 "$log"; done >&2
  exit 1
fi

cat << MSG

  Airflow UI:        $URL   (login: admin / admin)
  Integrations:      $URL/plugin/integrations   (Integrations, in the UI's left navigation)
  Local Salesforce:  $PROXY   (logs: $LOGS/)

  Nothing syncs until you start a run (Integrations page: Run now or Dry run, or the DAG's
  Trigger button) or $NEXT.
  Ctrl-C stops everything.

MSG
# Until Ctrl-C, SIGTERM, or a component stopping on its own (then everything stops, with a note).
set +e
wait -n "${PIDS[@]}"
if [ "$STOPPING" = 0 ]; then
  echo "make run: a component stopped on its own; see $LOGS/. Stopping the rest." >&2
  exit 1
fi
