#!/bin/bash
# Broker filing pre-check: an entry may claim the USMCA preferential (duty-free) rate only if the importer
# holds a certification of origin for it. Checks that the certification file named in entries.csv exists.
set -uo pipefail
cd /app
total=0; ready=0; missing=()
while IFS=, read -r entry supplier origin hts value pref cert; do
  [ "$entry" = entry_no ] && continue
  total=$((total + 1))
  if [ "$pref" = USMCA ] && [ -s "docs/$cert" ]; then ready=$((ready + 1)); else missing+=("$entry"); fi
done < data/entries.csv
echo "Entries claiming USMCA: $total; certification on file: $ready"
[ ${#missing[@]} -gt 0 ] && echo "No certification: ${missing[*]}"
if [ "$ready" -eq "$total" ]; then echo "PREFERENCE ENTRIES READY: $ready/$total"; else echo "PREFERENCE ENTRIES READY: $ready/$total - NOT FILEABLE AS CLAIMED"; exit 1; fi
