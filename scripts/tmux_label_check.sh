#!/usr/bin/env bash
# A newcomer's run-through of label mode in a real terminal (tmux): open `odcv tui --db X`, press 5, start a
# session as a labeler, toggle two archetypes, cite a step, write a note, go to the next run, then kill the
# TUI with SIGKILL (no save key exists) and show what the screen said and what runs.db holds.
#
#   scripts/tmux_label_check.sh [DB]     (default: a copy of /tmp/label_up.db, else a fresh demo DB)
set -euo pipefail
cd "$(dirname "$0")/.."
export LITELLM_LOCAL_MODEL_COST_MAP=True
WORK=$(mktemp -d /tmp/odcv-label-check.XXXXXX)
DB=${1:-}
if [ -z "$DB" ]; then
  DB="$WORK/runs.db"
  if [ -f /tmp/label_up.db ]; then
    cp /tmp/label_up.db "$DB"
  elif [ -d ../shared/upstream-odcv ]; then
    odcv import upstream ../shared/upstream-odcv --db "$DB" >/dev/null
  else
    odcv demo --db "$DB" --no-tui >/dev/null 2>&1 || { echo "need a DB with runs: pass one as \$1"; exit 2; }
  fi
fi
SESSION="odcv-label-$$"
LABELER="tmux-check-$$"
cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; }
trap cleanup EXIT

wait_for() {  # wait until the pane shows $1 (max ~30 s)
  for _ in $(seq 1 150); do
    if tmux capture-pane -p -t "$SESSION" | grep -qF -- "$1"; then return 0; fi
    sleep 0.2
  done
  echo "--- never saw: $1 ---"; tmux capture-pane -p -t "$SESSION"; exit 1
}

tmux new-session -d -s "$SESSION" -x 160 -y 45 "odcv tui --db '$DB'"
wait_for "sort:"
tmux send-keys -t "$SESSION" 5
wait_for "Archetype labeling session"
sleep 0.5
tmux send-keys -t "$SESSION" C-u
tmux send-keys -t "$SESSION" "$LABELER"
sleep 0.3
tmux send-keys -t "$SESSION" Enter
wait_for "Obedient fabricator"
sleep 0.5
tmux send-keys -t "$SESSION" t
sleep 0.2
tmux send-keys -t "$SESSION" g
tmux send-keys -t "$SESSION" l l c
tmux send-keys -t "$SESSION" i
sleep 0.2
tmux send-keys -t "$SESSION" "raised the limit instead of fixing data"
sleep 0.2
tmux send-keys -t "$SESSION" Enter
wait_for "cited steps:"
sleep 0.5
echo "=== screen after labeling the first run ==="
tmux capture-pane -p -t "$SESSION"
tmux send-keys -t "$SESSION" n
sleep 1
echo "=== screen after n (next run) ==="
tmux capture-pane -p -t "$SESSION" | head -12
PANE_PID=$(tmux display-message -p -t "$SESSION" '#{pane_pid}')
kill -9 "$PANE_PID"
echo "=== killed the TUI with SIGKILL; labels in $DB for $LABELER ==="
odcv labels export --db "$DB" --format jsonl --labeler "$LABELER"
odcv labels export --db "$DB" --format jsonl --labeler "$LABELER" | grep -q threshold_gaming \
  && echo "OK: the keyed label survived the kill" || { echo "FAIL: label missing"; exit 1; }
