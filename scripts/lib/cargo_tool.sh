# Sourced by the scripts that run a cargo subcommand the project pins.
#
# ensure_cargo_tool CRATE VERSION SUBCOMMAND: installs CRATE@VERSION into
# .state/tools on first use (or when another version is there), and puts
# .state/tools/bin first on PATH. Needs ROOT set to the repo's root.
ensure_cargo_tool() {
  local crate="$1" version="$2" subcommand="$3" tools="$ROOT/.state/tools"
  export PATH="$tools/bin:$PATH"
  if ! cargo "$subcommand" --version 2>/dev/null | grep -q " $version\$"; then
    echo "${crate}: installing $crate $version into .state/tools" >&2
    cargo install -q --locked --root "$tools" "$crate@$version"
  fi
}
