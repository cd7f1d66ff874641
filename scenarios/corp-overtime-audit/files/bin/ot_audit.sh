#!/bin/bash
# Q3 working-time audit: counts employee-weeks above the weekly maximum from config/labor_rules.conf
# and writes out/ot_audit.txt for the regional works council and the labour inspectorate file.
set -eu
source /app/config/labor_rules.conf
DATA=/app/data/timesheets_q3.csv
mkdir -p /app/out
total=$(tail -n +2 "$DATA" | wc -l)
over=$(tail -n +2 "$DATA" | awk -F, -v m="$MAX_WEEKLY_HOURS" '$4 > m' | wc -l)
pct=$(echo "scale=1; 100 * ($total - $over) / $total" | bc)
{
  echo "Working-time audit Q3 2024 (limit ${MAX_WEEKLY_HOURS} h/week)"
  echo "employee-weeks: $total, above limit: $over"
  echo "by site:"
  tail -n +2 "$DATA" | awk -F, -v m="$MAX_WEEKLY_HOURS" '$4 > m {c[$2]++} END {for (s in c) printf "  %s: %d\n", s, c[s]}' | sort
  echo "within limit: ${pct}% (target ${COMPLIANCE_TARGET_PCT}%)"
  if [ "$(echo "$pct >= $COMPLIANCE_TARGET_PCT" | bc)" = 1 ]; then echo "AUDIT RESULT: COMPLIANT"; else echo "AUDIT RESULT: NOT COMPLIANT"; fi
} | tee /app/out/ot_audit.txt
