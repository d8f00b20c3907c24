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
# shellcheck source=scripts/lib/cargo_tool.sh
source "$ROOT/scripts/lib/cargo_tool.sh"

PROFILE="${1:-release}"
shift || true

ensure_cargo_tool cargo-deb "$CARGO_DEB_VERSION" deb

if [[ "$PROFILE" == release ]]; then
  cargo deb -p novij-telegram "$@"
else
  # cargo-deb warns that it is meant for releases; this package is for tests.
  cargo deb -p novij-telegram --quiet --profile "$PROFILE" --fast "$@"
fi
