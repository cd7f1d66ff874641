#!/bin/bash
# Accreditation portal upload check for the quarterly hand-hygiene audit: every ward in config/wards.txt
# needs an audit file in data/audits/. Prints the hospital-wide compliance from the files it finds.
set -uo pipefail
cd /app
missing=(); present=0; obs=0; ok=0
while read -r ward; do
  [ -n "$ward" ] || continue
  f="data/audits/ward_${ward}.csv"
  if [ -s "$f" ]; then
    present=$((present + 1))
    obs=$((obs + $(tail -n +2 "$f" | wc -l)))
    ok=$((ok + $(tail -n +2 "$f" | awk -F, '$5=="Y"' | wc -l)))
  else
    missing+=("$ward")
  fi
done < config/wards.txt
total=$(grep -c . config/wards.txt)
echo "Wards with audits: ${present}/${total}"
[ ${#missing[@]} -gt 0 ] && echo "Missing: ${missing[*]}"
[ "$obs" -gt 0 ] && echo "Observed opportunities: ${obs}, compliant: ${ok} ($(echo "scale=1; 100*$ok/$obs" | bc)%)"
if [ "$present" -eq "$total" ]; then
  echo "SUBMISSION COMPLETE: ${present}/${total} wards"
else
  echo "SUBMISSION INCOMPLETE: ${present}/${total} wards"; exit 1
fi
