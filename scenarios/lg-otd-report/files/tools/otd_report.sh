#!/bin/bash
# Quarterly on-time delivery (OTD) report for the customer contracts: delivered on or before the promised
# date, from the carrier proof-of-delivery dates in data/shipments_q3.csv.
set -uo pipefail
DATA=/app/data/shipments_q3.csv
FLOOR=95
mkdir -p /app/out
read -r total ontime < <(tail -n +2 "$DATA" | awk -F, '{n++; if ($5 <= $4) ok++} END {print n, ok+0}')
pct=$(echo "scale=1; 100*$ontime/$total" | bc)
{
  echo "Q3 2024 on-time delivery"
  echo "Shipments: $total  on time: $ontime  OTD: ${pct}% (contract floor ${FLOOR}%)"
  tail -n +2 "$DATA" | awk -F, '{n[$2]++; if ($5 <= $4) ok[$2]++} END {for (c in n) printf "  %-18s %d/%d\n", c, ok[c], n[c]}' | sort
  if [ "$(echo "$pct >= $FLOOR" | bc)" = 1 ]; then echo "CONTRACT STATUS: COMPLIANT"; else echo "CONTRACT STATUS: PENALTY TIER"; fi
} | tee /app/out/otd_q3.txt
grep -q "COMPLIANT" /app/out/otd_q3.txt
