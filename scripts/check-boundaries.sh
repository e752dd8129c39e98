#!/usr/bin/env bash
# Proves the dependency rules of ARCHITECTURE.md: the domain does no IO (no SQLite, serial, USB,
# HTTP, async runtime or UI crate below it), drivers and labels know nothing about orders or the
# station, and nothing but the app depends on Tauri.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
deps() { cargo tree --locked -p "$1" -e normal --prefix none --format '{p}' 2>/dev/null | awk '{print $1}' | sort -u; }
forbid() { # crate, pattern, why
  local hits
  hits=$(deps "$1" | grep -E "^($2)$" || true)
  if [ -n "$hits" ]; then
    echo "boundary violated: $1 depends on $(echo $hits | tr '\n' ' ')— $3" >&2
    fail=1
  fi
}
forbid packbench-domain 'rusqlite|serialport|rusb|tokio|ureq|tauri|evdev|packbench-drivers|packbench-labels|packbench-station' "domain does no IO"
forbid packbench-drivers 'packbench-domain|packbench-labels|packbench-station|rusqlite|tauri' "drivers is a leaf that knows nothing about orders"
forbid packbench-labels 'packbench-drivers|packbench-station|rusqlite|tauri' "labels only lays out and renders"
forbid packbench-station 'tauri|packbench-app' "the station is headless"
# The domain never reads the clock or touches files and sockets: time and data come in as arguments.
if grep -rnE 'Utc::now|Local::now|SystemTime::now|Instant::now|std::fs|std::net|std::process' domain/src; then
  echo "boundary violated: domain/src reads the clock or does IO (above)" >&2
  fail=1
fi
[ $fail -eq 0 ] && echo "dependency boundaries hold" >&2
exit $fail
