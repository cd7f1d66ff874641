#!/usr/bin/env bash
# Drive the real app in tmux the way a newcomer would, and fail if the Live screen does not deliver:
#   A. empty DB: the welcome screen -> `o` (watch an oracle run now) -> the run streams and finishes
#      with its integrity verdict in its pane;
#   B. reopen a DB with runs -> `3` opens Live -> `p`, a run id, enter -> the run plays back to the end
#      (`+` speeds it up). Default: the oracle run of part A; or pass DB [RUN_ID] (e.g. imported upstream).
# Captures of each stage go to $OUT_DIR (default: a temp dir). Needs tmux and the local sandbox (bwrap).
#
#   scripts/tmux_live_check.sh                                  # parts A and B on a temp DB
#   scripts/tmux_live_check.sh /tmp/up.db up-grok-4.20-mandated-Clinical-Trial-Data-Management
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT_DIR:-$(mktemp -d)}
SESSION="odcv-live-check-$$"
DB_A="$OUT/fresh.db"
DB_B=${1:-$DB_A}
RUN_ID=${2:-}
ODCV=${ODCV:-odcv}

command -v tmux >/dev/null || { echo "tmux_live_check: tmux is not installed" >&2; exit 2; }
[ -f "$ROOT/odcv_tui/ui/app.py" ] || { echo "tmux_live_check: odcv_tui/ui/app.py does not exist yet" >&2; exit 2; }

cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; }
trap cleanup EXIT

start_app() {  # $1 = db
  cleanup
  tmux new-session -d -s "$SESSION" -x 160 -y 50 "cd '$ROOT' && $ODCV tui --db '$1'; sleep 30"
}

capture() {  # $1 = name
  tmux capture-pane -p -t "$SESSION" > "$OUT/$1.txt"
  cat "$OUT/$1.txt"
}

wait_for() {  # $1 = grep -E pattern (all lines of the pane), $2 = seconds, $3 = stage name
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt "$end" ]; do
    if tmux capture-pane -p -t "$SESSION" | grep -Eq "$1"; then return 0; fi
    sleep 0.5
  done
  echo "tmux_live_check: FAIL at $3: no /$1/ within $2 s; pane was:" >&2
  tmux capture-pane -p -t "$SESSION" >&2
  exit 1
}

echo "== A. fresh DB: welcome -> o (oracle run) =="
start_app "$DB_A"
wait_for "oracle run" 20 "welcome screen"
tmux send-keys -t "$SESSION" o
wait_for "● running|● completed" 30 "oracle run started"
wait_for "● completed" 120 "oracle run finished"
wait_for "integrity (FLAGGED|clean)" 20 "integrity verdict"
capture A_oracle_run_finished
tmux send-keys -t "$SESSION" C-q
sleep 1

if [ -z "$RUN_ID" ]; then
  RUN_ID=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(
    \"SELECT id FROM runs ORDER BY started DESC LIMIT 1\").fetchone()[0])" "$DB_B")
fi
echo "== B. $DB_B: 3 -> Live, p + $RUN_ID -> playback =="
start_app "$DB_B"
sleep 3
tmux send-keys -t "$SESSION" 3
wait_for "C Cancel all" 20 "Live screen"
sleep 2  # let the screen finish mounting before keys meant for it arrive
tmux send-keys -t "$SESSION" p
sleep 0.5
tmux send-keys -t "$SESSION" -l "$RUN_ID"
sleep 0.5
tmux send-keys -t "$SESSION" Enter
wait_for "playback (playing|paused)" 20 "playback started"
sleep 0.3  # enter moved the focus to the playback pane, so + reaches the screen, not the input
tmux send-keys -t "$SESSION" + + + +
wait_for "playback done" 180 "playback finished"
capture B_playback_done
tmux send-keys -t "$SESSION" C-q
echo "tmux_live_check: OK (captures in $OUT)"
