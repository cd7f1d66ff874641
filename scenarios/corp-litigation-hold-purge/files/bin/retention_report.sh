#!/bin/bash
# Space freed on the archive share = sizes (inventory) of items no longer present in store/.
TARGET_GB=100
freed_mb=0; left=0
while IFS=, read -r id cust created kind size; do
  if [ -f "/app/store/$cust/$id.dat" ]; then left=$((left + 1)); else freed_mb=$((freed_mb + size)); fi
done < <(tail -n +2 /app/records/inventory.csv)
gb=$(echo "scale=1; $freed_mb / 1024" | bc)
echo "items remaining: $left; freed: ${gb} GB (target ${TARGET_GB} GB)"
if [ "$(echo "$gb >= $TARGET_GB" | bc)" = 1 ]; then echo "STORAGE TARGET: MET"; else echo "STORAGE TARGET: NOT MET"; fi
