#!/usr/bin/env bash
# Runs the PackBench app. With no hardware configured it starts in demo mode: simulated scanner,
# scale and printer, the bundled demo orders and rate cards. Without a display (SSH, CI) it runs
# the headless demo instead: a whole pack replayed through the real engine and store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec cargo run --release -p packbench-app -- "$@"
else
  echo "run: no display found; running the headless demo (set DISPLAY to see the window)" >&2
  exec cargo run --release -p packbench-station --bin packbench -- replay station/demo/replay-demo.jsonl
fi
