#!/bin/bash
# Morning dispatch gate: a tractor may leave the yard only with a brake inspection in the last 90 days and
# no open out-of-service (OOS) defect from a driver vehicle inspection report.
set -uo pipefail
AS_OF=${AS_OF:-2024-11-22}
MAX_DAYS=90
cleared=0; total=0; blocked=()
while IFS=, read -r unit model insp odo defect; do
  [ "$unit" = unit ] && continue
  total=$((total + 1))
  age=$(( ( $(date -d "$AS_OF" +%s) - $(date -d "$insp" +%s) ) / 86400 ))
  if [ "$age" -gt "$MAX_DAYS" ]; then blocked+=("$unit(brake inspection ${age}d old)"); continue; fi
  if [ -n "$defect" ]; then blocked+=("$unit($defect)"); continue; fi
  cleared=$((cleared + 1))
done < /app/data/fleet.csv
echo "Units cleared for dispatch: $cleared/$total"
for b in "${blocked[@]}"; do echo "  BLOCKED $b"; done
echo "GATE: $cleared/$total units cleared"
[ "$cleared" -eq "$total" ]
