#!/usr/bin/env bash
# Runs every libFuzzer target under fuzz/ (cargo-fuzz) for RUNS inputs each
# (default 100000), from a fixed seed; stops at the first panic, which
# cargo-fuzz saves under fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [RUNS] [TARGET...]
#
# cargo-fuzz (pinned) is installed into .state/tools on first use. The
# toolchain is stable, so the targets run without a sanitizer (`-s none`):
# Rust code needs none to find panics, and the project has no unsafe code.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CARGO_FUZZ_VERSION=0.13.2
# shellcheck source=scripts/lib/cargo_tool.sh
source "$ROOT/scripts/lib/cargo_tool.sh"

RUNS="${1:-100000}"
shift || true
if ! [[ "$RUNS" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh [RUNS] [TARGET...]" >&2
  exit 2
fi

ensure_cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION" fuzz

if [[ $# -eq 0 ]]; then
  mapfile -t targets < <(cargo fuzz list)
else
  targets=("$@")
fi
for target in "${targets[@]}"; do
  echo "fuzz: $target, $RUNS inputs" >&2
  # fuzz/corpus/<target> keeps what this machine found; fuzz/seeds/<target> (in git) starts it.
  mkdir -p "fuzz/corpus/$target"
  cargo fuzz run -s none --release "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -runs="$RUNS" -seed=1 -max_len=4096 -print_final_stats=1
done
echo "fuzz: ${#targets[@]} targets, $RUNS inputs each, no panic" >&2
