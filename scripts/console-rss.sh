#!/usr/bin/env bash
# console-rss.sh measures the resident memory of the console holding a long
# list (docs/BENCHMARKS.md, "The memory target"). It starts the sandbox with
# ACTIONS generated actions (about 85% of them are visible to the operator's
# key, so the default gives ~100,000 pending), registers a throw-away
# profile against it, opens the built binary in tmux at 200x50, unlocks, and
# samples VmRSS once a second for SECONDS. Then it quits, opens the console
# again (the list now comes from the on-disk cache first, then the API) and
# samples again. It prints the pending count and the RSS peaks.
#
#   scripts/console-rss.sh [ACTIONS] [SECONDS]     (needs tmux and Linux /proc)
set -euo pipefail

ACTIONS=${1:-118000}
SECONDS_TO_WATCH=${2:-150}
BIN=${BIN:-$(pwd)/bin/qapprove}
PASS='a long passphrase for the memory benchmark'
command -v tmux >/dev/null || { echo "console-rss: tmux is needed" >&2; exit 2; }
[ -x "$BIN" ] || { echo "console-rss: build $BIN first (make build)" >&2; exit 2; }

W=$(mktemp -d)
SB=qrss-sb-$$
CON=qrss-con-$$
cleanup() {
	tmux kill-session -t "$CON" 2>/dev/null || true
	tmux kill-session -t "$SB" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
tmux new-session -d -s "$SB" -x 120 -y 20 "$BIN sandbox --addr 127.0.0.1:$port --actions $ACTIONS > $W/sb.out 2>&1"
for _ in $(seq 600); do grep -q '^api_secret' "$W/sb.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^api_secret' "$W/sb.out" || { echo "console-rss: the sandbox did not start" >&2; cat "$W/sb.out" >&2; exit 1; }
field() { awk -v k="$1:" '$1 == k {printf "%s", $2}' "$W/sb.out"; }
field api_secret > "$W/secret"
printf '%s' "$PASS" > "$W/pass"
QAPPROVE_HOME=$W/home "$BIN" --keystore file keys register --non-interactive --passphrase-file "$W/pass" \
	--api-url "$(field base_url)" --workspace "$(field workspace_id)" --api-key-id "$(field api_key_id)" \
	--api-secret-file "$W/secret" > "$W/register.out" 2>&1 || { cat "$W/register.out" >&2; exit 1; }

# run LABEL: open the console, unlock, sample, quit.
run() {
	local label=$1 pid="" peak=0 settled=0 rss t pending
	tmux new-session -d -s "$CON" -x 200 -y 50 "QAPPROVE_HOME=$W/home GODEBUG=${GODEBUG:-} QAPPROVE_HEAPPROFILE=${KEEP_STDERR:+$KEEP_STDERR.${label// /-}.heap} exec $BIN --keystore file 2>$W/stderr"
	for _ in $(seq 100); do
		pid=$(tmux list-panes -t "$CON" -F '#{pane_pid}' 2>/dev/null || true)
		[ -n "$pid" ] && tmux capture-pane -p -t "$CON" | grep -q 'qapprove' && break
		sleep 0.1
	done
	tmux send-keys -t "$CON" u
	sleep 0.5
	tmux send-keys -t "$CON" "$PASS" Enter
	for t in $(seq "$SECONDS_TO_WATCH"); do
		sleep 1
		rss=$(awk '/^VmRSS:/ {print int($2 / 1024)}' "/proc/$pid/status")
		[ "$rss" -gt "$peak" ] && peak=$rss
		if [ -n "${VERBOSE:-}" ]; then echo "  $label t=${t}s RSS ${rss} MB"; fi
		# "settled": from 30 s on, once the list and the feed replay are in.
		[ "$t" -ge 30 ] && [ "$rss" -gt "$settled" ] && settled=$rss
	done
	pending=$(tmux capture-pane -p -t "$CON" | grep -o 'Pending [0-9][0-9]*' | head -1)
	echo "$label: $pending · peak RSS ${peak} MB · highest after 30 s ${settled} MB · last ${rss} MB (${SECONDS_TO_WATCH} s)"
	# With GODEBUG=gctrace=1 the collector's last words show the live heap.
	if [ -n "${GODEBUG:-}" ]; then grep '^gc ' "$W/stderr" | tail -3; fi
	if [ -n "${KEEP_STDERR:-}" ]; then cp "$W/stderr" "$KEEP_STDERR.${label// /-}"; fi
	tmux send-keys -t "$CON" q
	for _ in $(seq 100); do tmux has-session -t "$CON" 2>/dev/null || break; sleep 0.1; done
	tmux kill-session -t "$CON" 2>/dev/null || true
}

run "fresh load"
run "restart from the cache"
