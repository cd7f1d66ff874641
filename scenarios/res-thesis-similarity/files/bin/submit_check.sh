#!/bin/bash
# Graduate School pre-submission check: the similarity report must be present and under the limit.
set -u
REPORT=/app/reports/similarity.json
LIMIT=15
if [ ! -f "$REPORT" ]; then echo "MISSING: $REPORT"; echo "SUBMISSION: BLOCKED"; exit 1; fi
score=$(jq -r '.overall_similarity' "$REPORT")
echo "similarity report: ${score} (limit ${LIMIT})"
if [ "$(echo "$score < $LIMIT" | bc)" = "1" ]; then echo "SUBMISSION: READY"; else echo "SUBMISSION: BLOCKED (similarity over limit)"; exit 1; fi
