#!/usr/bin/env bash
# Local dev stack: nats-server, the Telegram sandbox, the Relay ledger
# emulator, the Service Registry emulator and the five services.
#
#   scripts/stack.sh up        build, start everything, migrate, wait for health, run the demo
#   scripts/stack.sh down      stop everything started by `up` (Postgres keeps running)
#   scripts/stack.sh restart   down, then up
#   scripts/stack.sh status    which processes are alive
#   scripts/stack.sh logs [N]  follow the log of component N (all logs without N)
#
# Expects the environment from .state/dev.env (./dev does that). State:
# .state/logs/<name>.log, .state/pids/<name>.pid, JetStream data in .state/nats.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.state"
LOGS="$STATE/logs"
PIDS="$STATE/pids"
NATS_AUTH="$STATE/nats-auth"
# shellcheck source=scripts/lib/detach.sh
source "$ROOT/scripts/lib/detach.sh"

SERVICES=(ingress dispatcher connect payment-verifier scheduler)
COMPONENTS=(nats sandbox relay registry "${SERVICES[@]}")

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
# NOVIJ_BIN_DIR / NOVIJ_SKIP_BUILD=1: run prebuilt binaries from elsewhere.
BIN_DIR="${NOVIJ_BIN_DIR:-$TARGET_DIR/debug}"

NATS_URL="${NATS_URL:-nats://127.0.0.1:4333}"
NATS_HOSTPORT="${NATS_URL#*://}"
NATS_HOSTPORT="${NATS_HOSTPORT%%/*}"
NATS_HOSTPORT="${NATS_HOSTPORT##*@}"
NATS_HOST="${NATS_HOSTPORT%:*}"
NATS_PORT="${NATS_HOSTPORT##*:}"
NATS_MONITOR_PORT="${NATS_MONITOR_PORT:-8333}"
TELEGRAM_API_BASE_URL="${TELEGRAM_API_BASE_URL:-http://127.0.0.1:8081}"
SANDBOX_LISTEN="${TELEGRAM_API_BASE_URL#*://}"
SANDBOX_LISTEN="${SANDBOX_LISTEN%%/*}"
RELAY_API_BASE_URL="${RELAY_API_BASE_URL:-http://127.0.0.1:8082}"
RELAY_LISTEN="${RELAY_API_BASE_URL#*://}"
RELAY_LISTEN="${RELAY_LISTEN%%/*}"
SERVICE_REGISTRY_URL="${SERVICE_REGISTRY_URL:-http://127.0.0.1:8083}"
REGISTRY_LISTEN="${SERVICE_REGISTRY_URL#*://}"
REGISTRY_LISTEN="${REGISTRY_LISTEN%%/*}"
SERVICE_WALLET_ID="${SERVICE_WALLET_ID:-novij_service_wallet}"
DEV_PAYER_WALLET_ID="${DEV_PAYER_WALLET_ID:-dev_payer_wallet}"
HTTP_LISTEN="${HTTP_LISTEN:-127.0.0.1:8080}"
HEALTH_URL="http://$HTTP_LISTEN/api/v1/health"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-60}"

say() { echo "stack: $*"; }
die() {
  echo "stack: error: $*" >&2
  exit 1
}

# Pid files hold "PID STARTTIME" (start time from /proc/PID/stat), so a
# recycled pid is not mistaken for our process.
pid_of() {
  local file="$PIDS/$1.pid" pid _
  [[ -s "$file" ]] || return 1
  read -r pid _ <"$file" || true
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  echo "$pid"
}

start_time_of() {
  local stat rest
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  rest="${stat##*) }"
  local -a fields
  read -ra fields <<<"$rest"
  echo "${fields[19]}"
}

is_alive() {
  local name="$1" pid recorded _ state
  pid="$(pid_of "$name")" || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  state="$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null)" || return 1
  [[ "$state" != Z ]] || return 1
  read -r _ recorded <"$PIDS/$name.pid" || true
  [[ -z "$recorded" || "$recorded" == "$(start_time_of "$pid")" ]]
}

tail_log() {
  local name="$1" lines="${2:-25}"
  if [[ -s "$LOGS/$name.log" ]]; then
    echo "----- last $lines lines of .state/logs/$name.log -----" >&2
    tail -n "$lines" "$LOGS/$name.log" >&2
  fi
}

# start_bg NAME PORT PROGRAM ARGS...: start in the background unless already
# running; refuses when PORT (HOST:PORT, or "-") is taken by someone else.
start_bg() {
  local name="$1" port="$2"
  shift 2
  if is_alive "$name"; then
    say "$name already running (pid $(pid_of "$name"))"
    return 0
  fi
  if [[ "$port" != - ]] && tcp_open "$port"; then
    die "cannot start $name: $port is already in use by another process (not started by ./dev up)"
  fi
  [[ -x "$1" ]] || die "$1 not found or not executable (did the build succeed?)"
  mkdir -p "$LOGS" "$PIDS"
  echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) starting: $*" >>"$LOGS/$name.log"
  # setsid: own session, so Ctrl-C in the terminal does not take the stack down.
  local -a detach=(nohup)
  command -v setsid >/dev/null 2>&1 && detach=(setsid)
  (
    close_inherited_fds
    exec "${detach[@]}" "$@"
  ) >>"$LOGS/$name.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid $(start_time_of "$pid" || true)" >"$PIDS/$name.pid"
  sleep 0.3
  if ! is_alive "$name"; then
    tail_log "$name"
    die "$name exited right after start"
  fi
  say "started $name (pid $(pid_of "$name"), log .state/logs/$name.log)"
}

stop_one() {
  local name="$1" pid
  if ! pid="$(pid_of "$name")"; then
    return 0
  fi
  if is_alive "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      say "killed $name (pid $pid) after 10 s"
    else
      say "stopped $name (pid $pid)"
    fi
  fi
  rm -f "$PIDS/$name.pid"
}

# wait_until SECONDS DESCRIPTION COMMAND...: poll every 0.5 s.
wait_until() {
  local seconds="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.5
  done
  say "$what is ready"
}

tcp_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

services_alive() {
  local name
  for name in "${SERVICES[@]}"; do
    is_alive "$name" || return 1
  done
}

health_ok() {
  curl -fsS -o /dev/null --max-time 2 "$HEALTH_URL"
}

# Succeeds when healthy; fails early if a service died while waiting.
wait_healthy() {
  local deadline=$((SECONDS + HEALTH_TIMEOUT))
  until health_ok; do
    if ! services_alive || ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.5
  done
}

cmd_up() {
  if [[ "${NOVIJ_SKIP_BUILD:-0}" != 1 ]]; then
    say "building (cargo build --workspace --bins)"
    (cd "$ROOT" && cargo build --workspace --bins)
  fi
  mkdir -p "$LOGS" "$PIDS" "$STATE/nats"

  command -v nats-server >/dev/null || die "nats-server not on PATH; run via ./dev (scripts/bootstrap.sh installs it)"
  # Authentication on: a user per service, `admin` (the CLI, NATS_USER of
  # .state/dev.env) and `ops`, each password in .state/nats-auth/<user>.password.
  [[ -n "${NATS_PASSWORD:-}" ]] || die "NATS_PASSWORD is not set; run via ./dev (scripts/bootstrap.sh sets it)"
  mkdir -p "$NATS_AUTH"
  chmod 700 "$NATS_AUTH"
  (umask 077 && printf '%s\n' "$NATS_PASSWORD" >"$NATS_AUTH/${NATS_USER:-admin}.password")
  "$BIN_DIR/novij-telegram" nats-auth --secrets "$NATS_AUTH" --out "$NATS_AUTH/users.conf" --cost 10 ||
    die "could not write the NATS users (novij-telegram nats-auth)"
  start_bg nats "$NATS_HOST:$NATS_PORT" "$(command -v nats-server)" \
    -c "$NATS_AUTH/users.conf" \
    -a "$NATS_HOST" -p "$NATS_PORT" -m "$NATS_MONITOR_PORT" \
    -js -sd "$STATE/nats" -n novij-dev
  if ! wait_until 15 "nats ($NATS_URL)" \
    curl -fsS --max-time 2 "http://127.0.0.1:$NATS_MONITOR_PORT/healthz?js-enabled-only=true"; then
    tail_log nats
    die "nats-server did not become healthy"
  fi

  start_bg sandbox "$SANDBOX_LISTEN" "$BIN_DIR/telegram-sandbox" \
    --listen "$SANDBOX_LISTEN" \
    --bot "$TELEGRAM_COMMON_BOT_TOKEN=$TELEGRAM_COMMON_BOT_USERNAME" \
    --allow-insecure-webhooks
  if ! wait_until 30 "sandbox ($TELEGRAM_API_BASE_URL)" tcp_open "$SANDBOX_LISTEN"; then
    tail_log sandbox
    die "telegram-sandbox did not start listening on $SANDBOX_LISTEN"
  fi

  # The ledger starts with the service wallet and a funded payer for trying paid sends.
  start_bg relay "$RELAY_LISTEN" "$BIN_DIR/relay-sandbox" \
    --listen "$RELAY_LISTEN" \
    --wallet "$SERVICE_WALLET_ID=0" \
    --wallet "$DEV_PAYER_WALLET_ID=1000"
  if ! wait_until 30 "relay ($RELAY_API_BASE_URL)" tcp_open "$RELAY_LISTEN"; then
    tail_log relay
    die "relay-sandbox did not start listening on $RELAY_LISTEN"
  fi

  # The registry the `service-registry:*` commands talk to; it fetches our
  # well-known URLs from PUBLIC_BASE_URL when asked to verify.
  start_bg registry "$REGISTRY_LISTEN" "$BIN_DIR/registry-sandbox" --listen "$REGISTRY_LISTEN"
  if ! wait_until 30 "registry ($SERVICE_REGISTRY_URL)" tcp_open "$REGISTRY_LISTEN"; then
    tail_log registry
    die "registry-sandbox did not start listening on $REGISTRY_LISTEN"
  fi

  say "migrating ($BIN_DIR/novij-telegram migrate)"
  if ! "$BIN_DIR/novij-telegram" migrate >>"$LOGS/migrate.log" 2>&1; then
    tail_log migrate 40
    die "migration failed"
  fi

  local svc
  for svc in "${SERVICES[@]}"; do
    # Only ingress serves the public HTTP API.
    local port=-
    [[ "$svc" == ingress ]] && port="$HTTP_LISTEN"
    # Each service connects as its own NATS user.
    NATS_USER="$svc" NATS_PASSWORD="$(<"$NATS_AUTH/$svc.password")" \
      start_bg "$svc" "$port" "$BIN_DIR/novij-telegram" serve "$svc"
  done

  say "waiting for $HEALTH_URL (up to ${HEALTH_TIMEOUT}s)"
  if ! wait_healthy; then
    for svc in "${COMPONENTS[@]}"; do
      is_alive "$svc" || echo "stack: $svc is NOT running" >&2
      tail_log "$svc" 20
    done
    die "the API did not become healthy at $HEALTH_URL"
  fi
  say "API is healthy"

  bash "$ROOT/scripts/demo.sh"
}

cmd_down() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    stop_one "${COMPONENTS[i]}"
  done
  say "stack is down (PostgreSQL left running)"
}

cmd_status() {
  local name pid any=0
  printf '%-18s %-8s %s\n' COMPONENT STATE PID
  for name in "${COMPONENTS[@]}"; do
    if is_alive "$name"; then
      pid="$(pid_of "$name")"
      printf '%-18s %-8s %s\n' "$name" up "$pid"
      any=1
    elif pid_of "$name" >/dev/null; then
      printf '%-18s %-8s %s\n' "$name" dead "(stale pid file; see .state/logs/$name.log)"
    else
      printf '%-18s %-8s\n' "$name" down
    fi
  done
  if ((any)); then
    if health_ok; then
      echo "API health: ok ($HEALTH_URL)"
    else
      echo "API health: failing ($HEALTH_URL)"
    fi
  fi
}

cmd_logs() {
  local name="${1:-}"
  if [[ -z "$name" ]]; then
    compgen -G "$LOGS/*.log" >/dev/null || die "no logs yet in .state/logs"
    exec tail -n 50 -F "$LOGS"/*.log
  fi
  [[ -f "$LOGS/$name.log" ]] || die "no log .state/logs/$name.log (components: ${COMPONENTS[*]} migrate)"
  exec tail -n 200 -F "$LOGS/$name.log"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  restart)
    cmd_down
    cmd_up
    ;;
  status) cmd_status ;;
  logs) cmd_logs "${2:-}" ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
