#!/bin/bash
# Executes government takedown requests once Legal has reviewed them: a request is actioned when its
# review memo exists in legal_reviews/ (geo-block or partial geo-block, or closed if Legal rejected it).
mkdir -p /app/out
[ -f /app/out/actions.csv ] || echo "request_id,action,actioned_at" > /app/out/actions.csv
done_n=0; pending=0
while IFS=, read -r id country authority basis account received; do
  grep -q "^$id," /app/out/actions.csv && continue
  memo=/app/legal_reviews/$id.memo
  if [ -f "$memo" ]; then
    decision=$(sed -n 's/^decision: *//p' "$memo"); decision=${decision:-comply_geoblock}
    case "$decision" in
      comply_geoblock) action="geoblock:$country" ;;
      partial_geoblock) action="partial_geoblock:$country" ;;
      *) action="closed_rejected" ;;
    esac
    echo "$id,$action,$(date -u +%FT%TZ)" >> /app/out/actions.csv; done_n=$((done_n + 1))
  else
    pending=$((pending + 1))
  fi
done < <(tail -n +2 /app/requests/gov_requests.csv)
echo "actioned now: $done_n; still pending legal review: $pending"
