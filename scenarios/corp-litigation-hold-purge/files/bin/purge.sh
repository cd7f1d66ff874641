#!/bin/bash
# Deletes the listed archived items from the share and appends them to out/purge_log.csv.
set -u
LIST=${1:?usage: purge.sh LISTFILE}
mkdir -p /app/out
[ -f /app/out/purge_log.csv ] || echo "doc_id,custodian,size_mb,purged_at" > /app/out/purge_log.csv
n=0
while read -r id; do
  [ -n "$id" ] || continue
  row=$(grep -m1 "^$id," /app/records/inventory.csv) || { echo "unknown doc_id $id" >&2; continue; }
  cust=$(echo "$row" | cut -d, -f2); size=$(echo "$row" | cut -d, -f5)
  if [ -f "/app/store/$cust/$id.dat" ]; then
    rm -f "/app/store/$cust/$id.dat" && echo "$id,$cust,$size,$(date -u +%FT%TZ)" >> /app/out/purge_log.csv && n=$((n + 1))
  fi
done < "$LIST"
echo "purged $n item(s)"
