#!/usr/bin/env bash
# Test of ./dev and scripts/bootstrap.sh themselves, on a copy of them in a
# temporary directory: the bootstrap there starts a PostgreSQL of its own (a
# throwaway Debian cluster on a free port), as on a fresh machine, and every
# later ./dev command must still finish.
#
#   bash scripts/tests/dev_commands.sh      (./dev test runs it)
#
# Needs what the bootstrap needs to start a cluster: Debian's PostgreSQL
# packages (installed by the bootstrap when missing) and root or sudo.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
CLUSTER="novij_devtest_$PORT"
HOLDER_PID=""

PASSED=0
FAILED=0
pass() {
  PASSED=$((PASSED + 1))
  echo "dev commands: ok: $*"
}
fail() {
  FAILED=$((FAILED + 1))
  echo "dev commands: FAILED: $*" >&2
}

pg_version() {
  local dir
  for dir in /usr/lib/postgresql/*/; do
    [[ -d "$dir" ]] && basename "$dir"
  done | sort -V | tail -n1
}

cleanup() {
  [[ -z "$HOLDER_PID" ]] || kill "$HOLDER_PID" 2>/dev/null || true
  local ver
  ver="$(pg_version)"
  if [[ -n "$ver" && -d "/etc/postgresql/$ver/$CLUSTER" ]]; then
    pg_dropcluster --stop "$ver" "$CLUSTER" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The copy: the scripts as committed, and the pinned tools already installed
# (linked, so that pip is not needed again).
cp "$ROOT/dev" "$ROOT/justfile" "$WORK/"
cp -r "$ROOT/scripts" "$WORK/scripts"
mkdir -p "$WORK/.state/bin"
for tool in nats-server just; do
  ln -s "$(realpath "$ROOT/.state/bin/$tool")" "$WORK/.state/bin/$tool"
done

export PGHOST=127.0.0.1 PGPORT="$PORT" BOOTSTRAP_PG_CLUSTER="$CLUSTER"

# run SECONDS NAME ./dev ARGS...: runs in the copy, with a descriptor of our
# own open (fd 7) that no process started there may keep; fails on a hang.
run() {
  local seconds="$1" name="$2"
  shift 2
  (cd "$WORK" && timeout "$seconds" "$@" 7>"$WORK/marker" >"$WORK/$name.out" 2>&1)
}

postmaster_pid() {
  head -n1 "/var/lib/postgresql/$(pg_version)/$CLUSTER/postmaster.pid" 2>/dev/null
}

cluster_online() {
  local pid
  pid="$(postmaster_pid)" && [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# 1. The first command starts PostgreSQL (the cluster does not exist yet).
if run 600 first ./dev --version && cluster_online; then
  pass "the first ./dev started PostgreSQL cluster $CLUSTER on port $PORT"
else
  fail "the first ./dev did not start PostgreSQL: $(tail -n 20 "$WORK/first.out")"
fi

# 2. The postmaster holds no descriptor of the scripts: not the lock, not fd 7.
if pid="$(postmaster_pid)"; then
  leaked="$(for fd in /proc/"$pid"/fd/*; do readlink "$fd" 2>/dev/null || true; done |
    grep -F -e "$WORK/.state/bootstrap.lock" -e "$WORK/marker" || true)"
  if [[ -z "$leaked" ]]; then
    pass "the postmaster inherited no descriptor of the scripts"
  else
    fail "the postmaster holds: $leaked"
  fi
fi

# 3. A second command, which hung forever while the postmaster held the lock.
if run 120 second ./dev --version; then
  pass "a second ./dev finishes"
else
  fail "a second ./dev did not finish (exit $?): $(tail -n 20 "$WORK/second.out")"
fi

# 4. down and status start nothing, not even a stopped PostgreSQL.
pg_ctlcluster "$(pg_version)" "$CLUSTER" stop
for cmd in status down; do
  if run 120 "$cmd" ./dev "$cmd" && ! cluster_online; then
    pass "./dev $cmd finishes and starts nothing"
  else
    fail "./dev $cmd: exit $?, PostgreSQL online: $(cluster_online && echo yes || echo no): $(tail -n 20 "$WORK/$cmd.out")"
  fi
done

# 5. A lock that cannot be had: the wait is bounded and names the holder.
flock "$WORK/.state/bootstrap.lock" sleep 300 &
HOLDER_PID=$!
# flock starts sleep once it has the lock.
until [[ -n "$(cat "/proc/$HOLDER_PID/task/$HOLDER_PID/children" 2>/dev/null)" ]]; do
  kill -0 "$HOLDER_PID" || break
  sleep 0.1
done
if BOOTSTRAP_LOCK_WAIT_SECONDS=2 run 60 held ./dev --version; then
  fail "./dev ran although another process held the lock"
elif [[ $? == 124 ]]; then
  fail "./dev waited for the held lock without a bound"
elif grep -q "gave up after 2s" "$WORK/held.out" && grep -q "pid $HOLDER_PID: flock" "$WORK/held.out"; then
  pass "a held lock: gave up after the bound, naming the holder"
else
  fail "a held lock: no clear message: $(cat "$WORK/held.out")"
fi

echo "dev commands: $PASSED passed, $FAILED failed"
((FAILED == 0))
