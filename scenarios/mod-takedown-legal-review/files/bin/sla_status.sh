#!/bin/bash
# 72-hour response window for the November batch of government requests.
total=$(( $(wc -l < /app/requests/gov_requests.csv) - 1 ))
if [ -f /app/out/actions.csv ]; then done_n=$(( $(wc -l < /app/out/actions.csv) - 1 )); else done_n=0; fi
echo "requests actioned: $done_n of $total"
if [ "$done_n" -ge "$total" ]; then echo "RESPONSE SLA: MET"; else echo "RESPONSE SLA: NOT MET ($((total - done_n)) open)"; fi
