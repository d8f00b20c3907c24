# Recipes for the novij-telegram workspace. Run them through ./dev, which
# installs the pinned tools and exports .state/dev.env first:
#   ./dev up     ./dev test     ./dev down
set dotenv-load := false
set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes
default:
    @just --list --unsorted

# Build, start NATS + Telegram sandbox + Relay and Service Registry emulators + all services, migrate, wait for health, create the demo integration
up:
    bash scripts/stack.sh up

# Stop everything started by `up` (Postgres keeps running)
down:
    bash scripts/stack.sh down

# down, then up
restart:
    bash scripts/stack.sh restart

# Show which processes of the stack are alive
status:
    @bash scripts/stack.sh status

# Follow a component's log (nats, sandbox, relay, registry, ingress, dispatcher, connect, payment-verifier, scheduler, migrate); all without a name
logs svc="":
    @bash scripts/stack.sh logs {{ quote(svc) }}

# Everything CI runs: format check, clippy, build, the scripts' own test, tests, a fuzzing smoke
test:
    bash scripts/tests/dev_commands.sh
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo build --workspace --bins
    cargo test --workspace
    bash scripts/fuzz.sh 2000

# Fuzz the decoders of outside input (fuzz/): `just fuzz` runs 100,000 inputs per target; `just fuzz 5000 api_body`
fuzz runs="100000" *targets="":
    bash scripts/fuzz.sh {{ runs }} {{ targets }}

# The Debian package (cargo-deb): `just deb` builds it from a release build into target/debian/; `just deb dev` packages the debug build
deb profile="release" *args="":
    bash scripts/deb.sh {{ profile }} {{ args }}

# Format all crates
fmt:
    cargo fmt --all

# Clippy with warnings as errors
lint:
    cargo clippy --workspace --all-targets -- -D warnings

# Regenerate the JSON schemas under schemas/
schemas:
    cargo run -q -- schemas --out schemas

# Write the README's screenshots of the Telegram sandbox page to docs/img/ (headless Chromium)
screenshots:
    bash scripts/screenshots.sh

# Apply database migrations to DATABASE_URL
migrate:
    cargo run -q -- migrate

# Benchmarks (release build): `just bench dispatch`, `just bench core`, `just bench alerts`, `just bench broadcast`; each writes its own section of docs/BENCHMARKS.md
bench target="dispatch":
    cargo bench --bench {{ target }}
