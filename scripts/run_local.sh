#!/usr/bin/env bash
# `make run`: the local Salesforce (demo CRM) + Airflow standalone with the demo integrations.
# Everything lives under var/; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="$ROOT/.venv/bin"
export PATH="$BIN:$PATH"   # airflow standalone starts its components as `airflow` from PATH
mkdir -p var/emulator "$AIRFLOW_HOME"

"$BIN/python" -m sf_emulator --port "$EMULATOR_PORT" --data-dir var/emulator \
  --seed-file demo/samples/crm/seed.json > var/emulator/emulator.out 2> var/emulator/emulator.log &
EMULATOR_PID=$!
trap 'kill $EMULATOR_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -s var/emulator/emulator.out ] && break
  kill -0 $EMULATOR_PID 2>/dev/null || { cat var/emulator/emulator.log; exit 1; }
  sleep 0.1
done
export REQUESTS_CA_BUNDLE="$ROOT/var/emulator/trust-bundle.pem"
echo "Local Salesforce: $(head -1 var/emulator/emulator.out | "$BIN/python" -c 'import json,sys; print(json.load(sys.stdin)["proxy_url"])') (log: var/emulator/emulator.log)"

export AIRFLOW__API__PORT="$AIRFLOW_PORT"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$AIRFLOW_PORT"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/passwords.json"
[ -f "$AIRFLOW_HOME/passwords.json" ] || echo '{"admin": "admin"}' > "$AIRFLOW_HOME/passwords.json"
"$BIN/airflow" db migrate > var/airflow-migrate.log 2>&1
"$BIN/python" scripts/airflow_settings.py import

cat <<MSG

  Airflow UI:   http://127.0.0.1:$AIRFLOW_PORT   (login: admin / admin)
  Integrations: http://127.0.0.1:$AIRFLOW_PORT/integrations/   (also under Browse in the UI)
  DAGs:         walkme_sync__login_review_to_lead, walkme_sync__nps_to_contact (trigger to run now)
  Airflow log:  var/airflow-standalone.log      Ctrl-C stops everything.

MSG
"$BIN/airflow" standalone > var/airflow-standalone.log 2>&1
