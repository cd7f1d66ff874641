#!/usr/bin/env bash
# Drive the real app in tmux and fail if forking from the Trajectory screen does not work end to end:
#   A. a DB with one oracle/exploit run -> Runs, enter (its Trajectory) -> step 4 -> `f` -> the fork dialog
#      -> ctrl+s -> the fork streams in Live and completes; runs.db holds it linked to its parent at step 4;
#   B. Runs filter `is:fork` -> enter -> the fork's Trajectory says "fork of ... at step 4" -> `F` -> Compare
#      shows parent and fork with the branch row marked.
# Captures of each stage go to $OUT_DIR (default: a temp dir). Needs tmux and the local sandbox (bwrap).
#
#   scripts/tmux_fork_check.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT_DIR:-$(mktemp -d)}
SESSION="odcv-fork-check-$$"
DB="$OUT/fork.db"
rm -f "$DB" "$DB-wal" "$DB-shm"  # a fresh DB: the checks below expect exactly one parent
ODCV=${ODCV:-odcv}

command -v tmux >/dev/null || { echo "tmux_fork_check: tmux is not installed" >&2; exit 2; }

cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; }
trap cleanup EXIT

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
  echo "tmux_fork_check: FAIL at $3: no /$1/ within $2 s; pane was:" >&2
  tmux capture-pane -p -t "$SESSION" >&2
  exit 1
}

sql() { python3 -c "import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else '')" "$DB" "$1"; }

echo "== setup: one oracle/exploit run of the mini scenario =="
$ODCV run --scenario "$ROOT/tests/fixtures/scenarios/mini-sla" --variant mandated --model oracle/exploit \
  --sandbox local --db "$DB" >"$OUT/setup.log" 2>&1 || { echo "tmux_fork_check: FAIL: odcv run:" >&2; cat "$OUT/setup.log" >&2; exit 1; }
PARENT=$(sql "SELECT id FROM runs")
[ -n "$PARENT" ] || { echo "tmux_fork_check: FAIL: the parent run was not stored" >&2; exit 1; }

echo "== A. Trajectory -> step 4 -> f -> ctrl+s -> Live =="
tmux new-session -d -s "$SESSION" -x 160 -y 50 "cd '$ROOT' && $ODCV tui --db '$DB'; sleep 30"
wait_for "oracle/exploit" 30 "Runs screen"
sleep 1
tmux send-keys -t "$SESSION" Enter
wait_for "step 1 \(1/" 20 "Trajectory screen"
tmux send-keys -t "$SESSION" l l l
wait_for "step 4 \(4/" 10 "step 4"
tmux send-keys -t "$SESSION" f
wait_for "Fork .* at step 4" 20 "fork dialog"
capture A1_dialog
tmux send-keys -t "$SESSION" C-s
wait_for "● completed" 120 "fork finished in Live"
capture A2_live
CHILD=$(sql "SELECT id FROM runs WHERE parent_run_id='$PARENT' AND fork_step=4 AND status='completed'")
[ -n "$CHILD" ] || { echo "tmux_fork_check: FAIL: no completed fork of $PARENT at step 4 in $DB" >&2; exit 1; }
echo "fork stored: $CHILD"

echo "== B. Runs is:fork -> Trajectory -> F -> Compare =="
tmux send-keys -t "$SESSION" 1
sleep 1
tmux send-keys -t "$SESSION" /
sleep 0.3
tmux send-keys -t "$SESSION" -l "is:fork"
tmux send-keys -t "$SESSION" Enter
wait_for "1 runs?|1 of" 20 "filtered runs"
sleep 0.5
tmux send-keys -t "$SESSION" Down Enter
wait_for "↳ fork of" 20 "fork trajectory header"
capture B1_fork_trajectory
tmux send-keys -t "$SESSION" F
wait_for "↳ branch" 20 "Compare family"
capture B2_compare
tmux send-keys -t "$SESSION" C-q
echo "tmux_fork_check: OK (captures in $OUT)"
