#!/usr/bin/env bash
# Builds the Debian package with cargo-deb (pinned; installed into
# .state/tools on first use) and prints its path on the last line.
#
#   scripts/deb.sh [PROFILE] [cargo-deb options...]
#
# PROFILE is `release` (the default: what ships). `dev` packages the debug
# build the tests already made, with fast compression, so the tests need no
# release build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CARGO_DEB_VERSION=3.8.0
TOOLS="$ROOT/.state/tools"
export PATH="$TOOLS/bin:$PATH"

PROFILE="${1:-release}"
shift || true

if ! cargo deb --version 2>/dev/null | grep -q " $CARGO_DEB_VERSION\$"; then
  echo "deb: installing cargo-deb $CARGO_DEB_VERSION into .state/tools" >&2
  cargo install -q --locked --root "$TOOLS" "cargo-deb@$CARGO_DEB_VERSION"
fi

if [[ "$PROFILE" == release ]]; then
  cargo deb -p novij-telegram "$@"
else
  # cargo-deb warns that it is meant for releases; this package is for tests.
  cargo deb -p novij-telegram --quiet --profile "$PROFILE" --fast "$@"
fi
