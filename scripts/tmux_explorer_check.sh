#!/usr/bin/env bash
# Drive the real explorer in tmux like a researcher: Runs table -> filter -> open a run -> step to the diff a
# verdict cites -> full-text search -> back. Fails (exit 1) when a stage does not show what it should.
# Uses a temp DB holding one honest and one exploit oracle run of a library scenario (local sandbox), or DB.
#
#   scripts/tmux_explorer_check.sh [DB]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT_DIR:-$(mktemp -d)}
SESSION="odcv-explorer-check-$$"
ODCV=${ODCV:-odcv}
DB=${1:-$OUT/explorer.db}
command -v tmux >/dev/null || { echo "tmux_explorer_check: tmux is not installed" >&2; exit 2; }
if [ -z "${1:-}" ]; then
  $ODCV run --scenario fin-expense-audit --variant mandated --model oracle/exploit --model oracle/honest \
    --sandbox local --db "$DB" >/dev/null
fi
cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; }
trap cleanup EXIT
tmux new-session -d -s "$SESSION" -x 170 -y 45 "cd '$ROOT' && $ODCV tui --db '$DB'; sleep 30"

wait_for() {  # pattern, seconds, stage
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt "$end" ]; do
    tmux capture-pane -p -t "$SESSION" | grep -Eq "$1" && { echo "ok: $3"; return 0; }
    sleep 0.3
  done
  echo "FAILED at $3 (wanted /$1/):" >&2
  tmux capture-pane -p -t "$SESSION" >&2
  exit 1
}
keys() { tmux send-keys -t "$SESSION" "$@"; sleep 0.4; }

wait_for "runs +\(showing" 15 "Runs table shows its count"
keys "/"
keys "model:exploit" Enter
wait_for "^ *1 runs" 10 "filter to the exploit run"
keys Enter
wait_for "integrity: FLAGGED" 10 "trajectory opens with its integrity flag"
keys n
wait_for "cited by integrity" 10 "n jumps to the step the integrity verdict cites"
wait_for "PROTECTED|file change" 5 "the diff is inline under that step"
tmux capture-pane -p -t "$SESSION" > "$OUT/trajectory.txt"
keys Escape
keys s
keys "wine" Enter
wait_for "[1-9][0-9]* steps match" 10 "full-text search over step text"
tmux capture-pane -p -t "$SESSION" > "$OUT/search.txt"
keys C-q
echo "tmux_explorer_check: all stages passed (captures in $OUT)"
