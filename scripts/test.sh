#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: formatting, clippy with warnings denied on all
# targets, every test (unit, integration, scenario, pseudo-terminal, label round trips, the
# order-center fault matrix and crash test, the app window end to end) and the doctests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "test: installing tauri-driver" >&2
  cargo install tauri-driver --version '^2' --locked --quiet
fi
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*" >&2; }
step "cargo fmt --check"
cargo fmt --all -- --check
step "dependency boundaries (ARCHITECTURE.md)"
bash scripts/check-boundaries.sh
step "cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test (workspace, all tests incl. doctests)"
cargo test --workspace --locked
