#!/usr/bin/env bash
# Creates the demo integration once (id kept in .state/demo_integration_id)
# and prints where everything of the local stack is.
# Expects the environment from .state/dev.env (./dev does that).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.state"
ID_FILE="$STATE/demo_integration_id"

PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:8080}"
: "${ADMIN_API_KEY:?ADMIN_API_KEY is not set; run through ./dev}"

if [[ -s "$ID_FILE" ]]; then
  INTEGRATION_ID="$(cat "$ID_FILE")"
else
  body="$(mktemp)"
  trap 'rm -f "$body"' EXIT
  status="$(curl -sS -o "$body" -w '%{http_code}' --max-time 15 \
    -X POST "$PUBLIC_BASE_URL/api/v1/integrations" \
    -H "authorization: Bearer $ADMIN_API_KEY" \
    -H 'content-type: application/json' \
    -d '{"project_id":"demo","owner_wallet_id":"demo_wallet","bot_mode":"common","payment_mode":"none","default_reminder_minutes":30}')" || status=000
  if [[ "$status" != 2* ]]; then
    echo "demo: creating the demo integration failed (HTTP $status):" >&2
    cat "$body" >&2 || true
    echo >&2
    exit 1
  fi
  # Accept {"id":..}, {"integration_id":..} or the same nested in "integration"/"data".
  INTEGRATION_ID="$(python3 - "$body" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
def find(d):
    if isinstance(d, dict):
        for key in ("integration_id", "id"):
            if isinstance(d.get(key), (str, int)):
                return str(d[key])
        for key in ("integration", "data"):
            found = find(d.get(key))
            if found:
                return found
    return None
found = find(doc)
if not found:
    sys.exit("no id in response: " + json.dumps(doc)[:500])
print(found)
PY
)"
  printf '%s\n' "$INTEGRATION_ID" >"$ID_FILE"
fi

NATS_MONITOR_PORT="${NATS_MONITOR_PORT:-8333}"
DB_DISPLAY="$(printf '%s' "${DATABASE_URL:-}" | sed -E 's#://([^:/@]+):[^@]*@#://\1@#')"

cat <<EOF

novij-telegram dev stack is up
  API:                $PUBLIC_BASE_URL/api/v1
  health:             $PUBLIC_BASE_URL/api/v1/health
  OpenAPI:            $PUBLIC_BASE_URL/openapi.json
  Telegram sandbox:   ${TELEGRAM_API_BASE_URL:-http://127.0.0.1:8081}  (bot @${TELEGRAM_COMMON_BOT_USERNAME:-novij_dev_bot})
  sandbox page:       ${TELEGRAM_API_BASE_URL:-http://127.0.0.1:8081}/  (every chat; act as the user)
  Relay ledger:       ${RELAY_API_BASE_URL:-http://127.0.0.1:8082}  (payer wallet ${DEV_PAYER_WALLET_ID:-dev_payer_wallet})
  Service Registry:   ${SERVICE_REGISTRY_URL:-http://127.0.0.1:8083}  (novij-telegram service-registry:status)
  NATS:               ${NATS_URL:-nats://127.0.0.1:4333}  (monitoring http://127.0.0.1:$NATS_MONITOR_PORT)
  Postgres:           $DB_DISPLAY
  logs:               .state/logs/  (./dev logs <name>, ./dev status, ./dev down)
  admin API key:      $ADMIN_API_KEY
  demo integration:   $INTEGRATION_ID

see README for the walkthrough
EOF
