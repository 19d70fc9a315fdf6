#!/usr/bin/env bash
# bench-console.sh measures the built console in tmux against the sandbox
# at 1k, 10k and 100k pending (docs/BENCHMARKS.md, "The console"):
# keypress → new frame (p50/p90, with `less` on a file of as many lines
# measured the same way), fresh load time (from Enter on the passphrase to
# the last change of the pending count) and y → "Approved" (p50/p90).
#
#   scripts/bench-console.sh [PENDING,...]      (needs tmux; make build first)
#   CPUPROFILE=PREFIX writes the console's CPU profile to PREFIX.<pending>.prof;
#   CONSOLE_ENV="GOGC=400" adds to the console's environment.
set -euo pipefail
command -v tmux >/dev/null || { echo "bench-console: tmux is needed" >&2; exit 2; }
BIN=${BIN:-$(pwd)/bin/qapprove}
[ -x "$BIN" ] || { echo "bench-console: build $BIN first (make build)" >&2; exit 2; }
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), load $(cut -d' ' -f1-3 /proc/loadavg)"
exec go run ./scripts/benchconsole -bin "$BIN" -pending "${1:-1000,10000,100000}" ${CPUPROFILE:+-cpuprofile "$CPUPROFILE"} ${CONSOLE_ENV:+-env "$CONSOLE_ENV"}
