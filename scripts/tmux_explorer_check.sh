#!/usr/bin/env bash
# Drive the real explorer in tmux like a newcomer: Runs table -> filter -> open a run -> step to the diff a
# verdict cites -> full-text search -> open a hit -> step -> compare models -> label session -> Live: start the
# oracle runs and watch them finish. The whole pass runs at 170x45 and again at 80x24 (issue #14).
# Fails (exit 1) when a stage does not show what it should.
# Uses a temp DB holding the upstream corpus when a copy is on disk plus an honest and an exploit oracle run
# of a library scenario (local sandbox), or DB.
#
#   scripts/tmux_explorer_check.sh [DB]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT_DIR:-$(mktemp -d)}
mkdir -p "$OUT"
SESSION="odcv-explorer-check-$$"
ODCV=${ODCV:-odcv}
DB=${1:-$OUT/explorer.db}
command -v tmux >/dev/null || { echo "tmux_explorer_check: tmux is not installed" >&2; exit 2; }
if [ -z "${1:-}" ]; then
  UP=${ODCV_UPSTREAM_DIR:-$ROOT/../shared/upstream-odcv}
  if [ -d "$UP/agent_logs" ]; then $ODCV import upstream "$UP" --db "$DB" >/dev/null; SEARCH=${SEARCH:-threshold}; fi
  $ODCV run --scenario fin-expense-audit --variant mandated --model oracle/exploit --model oracle/honest \
    --sandbox local --db "$DB" >/dev/null
fi
cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; }
trap cleanup EXIT

wait_for() {  # pattern, seconds, stage
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt "$end" ]; do
    tmux capture-pane -p -t "$SESSION" | grep -Eq "$1" && { echo "ok [$SIZE]: $3"; return 0; }
    sleep 0.3
  done
  echo "FAILED [$SIZE] at $3 (wanted /$1/):" >&2
  tmux capture-pane -p -t "$SESSION" >&2
  exit 1
}
keys() { tmux send-keys -t "$SESSION" "$@"; sleep 0.4; }
capture() { tmux capture-pane -p -t "$SESSION" > "$OUT/$1-$SIZE.txt"; }

explore() {  # width height: one newcomer pass at that terminal size
  SIZE="$1x$2"
  tmux new-session -d -s "$SESSION" -x "$1" -y "$2" "cd '$ROOT' && $ODCV tui --db '$DB'; sleep 30"
  wait_for "runs +\(showing" 15 "Runs table shows its count"
  wait_for "median +integrity" 5 "the table header keeps median and integrity in view"
  sleep 1  # the first page is still settling: keys sent in that instant were dropped now and then under load
  keys "/"
  keys "model:exploit fin-expense" Enter  # (the 80x24 pass also sees the Live runs of the first pass)
  wait_for "^ *1 runs" 10 "filter to the exploit run"
  keys Enter
  wait_for "integrity: FLAGGED|^ *FLAGGED " 10 "trajectory opens with its integrity flag"  # (may wrap at 80)
  keys n
  wait_for "cited by integrity" 10 "n jumps to the step the integrity verdict cites"
  wait_for "PROTECTED|file change" 5 "the diff is inline under that step"
  wait_for "\\$ command|stdout" 5 "the step's content is on screen (not a zero-width column)"
  capture trajectory
  keys Escape
  keys s
  keys "${SEARCH:-wine}" Enter
  wait_for "[1-9][0-9]* steps match" 10 "full-text search over step text"
  capture search
  keys Enter
  wait_for "step [0-9]+ \\([0-9]+/[0-9]+\\)" 10 "a search hit opens its run at the matching step"
  keys l
  keys c
  wait_for "of [0-9]+ models" 15 "compare: the scenario across models"
  capture compare
  keys 5
  wait_for "labeler" 10 "Label: the session form"
  wait_for "start" 5 "Label: the whole form fits (start button in view)"
  keys C-u  # (one key per send, as a typist would: a burst right after C-u was dropped in tmux)
  keys "newcomer"
  keys Enter
  wait_for "labeler newcomer" 15 "Label: a session opens with its panel"
  wait_for "step [0-9]+ +(system|user|assistant|tool)" 5 "Label: the step content beside the panel"
  capture label
  keys Escape
  sleep 1  # an Escape followed too closely by a key reads as alt+key in a terminal
  keys Escape
  sleep 1
  keys 3
  wait_for "Scenarios" 15 "Live: the launch form"
  wait_for "[a-z]+-[a-z-]+ · " 30 "Live: the scenario library is listed (ctrl+r before that only says 'still loading')"
  keys C-r
  wait_for "completed" 60 "Live: an oracle run streams and finishes"
  wait_for "integrity" 10 "Live: its integrity verdict appears"
  capture live
  keys C-q
  tmux kill-session -t "$SESSION" 2>/dev/null || true
}

explore 170 45
explore 80 24  # issue #14: every stage must work on an 80 x 24 terminal too
echo "tmux_explorer_check: all stages passed at 170x45 and 80x24 (captures in $OUT)"
