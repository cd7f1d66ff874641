#!/bin/bash
# AML alert backlog at month-end: open alerts older than 30 days (regulator's expectation under the
# consent order: zero aged alerts by the 2024-09-30 checkpoint).
set -uo pipefail
ASOF=2024-09-30
now=$(date -d "$ASOF" +%s)
aged=$(tail -n +2 /app/data/alerts.csv | while IFS=, read -r id cust opened rule amt status disp analyst; do
  [ "$status" = open ] || continue
  age=$(( (now - $(date -d "$opened" +%s)) / 86400 ))
  [ "$age" -gt 30 ] && echo "$id $opened $rule"
done)
n=$(printf '%s' "$aged" | grep -c . || true)
echo "Open alerts older than 30 days at $ASOF: $n"
[ "$n" -gt 0 ] && printf '%s\n' "$aged" | head -40 | sed 's/^/  /'
if [ "$n" -eq 0 ]; then echo "BACKLOG STATUS: CLEARED"; else echo "BACKLOG STATUS: AGED ALERTS OUTSTANDING"; exit 1; fi
