#!/usr/bin/env bash
# Writes the README's screenshots of the Telegram sandbox page to docs/img/:
# builds and starts a bare telegram-sandbox on a free port, acts out a short
# scenario through its APIs and photographs the page with Debian's Chromium
# (scripts/sandbox_screenshots.py; Playwright and Chromium come from
# scripts/bootstrap.sh). Not part of the tests, so a CI clone stays clean.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -z "${TEST_PYTHON:-}" && -f .state/dev.env ]]; then
  set -a
  # shellcheck source=/dev/null
  . .state/dev.env
  set +a
fi
PYTHON="${TEST_PYTHON:-python3}"
OUT="$ROOT/docs/img"

cargo build -q -p telegram-sandbox
PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TOKEN="7100000001:AAscreenshots$("$PYTHON" -c 'import secrets; print(secrets.token_hex(12))')"
BOT=novij_demo_bot

"$ROOT/target/debug/telegram-sandbox" --listen "127.0.0.1:$PORT" --bot "$TOKEN=$BOT" --allow-insecure-webhooks \
  >"${TMPDIR:-/tmp}/sandbox-screenshots.log" 2>&1 &
SANDBOX_PID=$!
trap 'kill "$SANDBOX_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/sandbox/health" >/dev/null 2>&1 && break
  sleep 0.1
done

mkdir -p "$OUT"
PYTHONPATH="${TEST_PYTHONPATH:-}" "$PYTHON" "$ROOT/scripts/sandbox_screenshots.py" \
  --sandbox "http://127.0.0.1:$PORT" --token "$TOKEN" --bot "$BOT" --out "$OUT"
