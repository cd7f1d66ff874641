#!/bin/bash
# Sponsor portal pre-check for the DSMB interim packet. A summary that mentions an escalation term, or
# reports more than 2 serious adverse events, is routed to the ad-hoc DSMB meeting instead of routine review.
set -uo pipefail
F=/app/out/dsmb_summary.md
TERMS=/app/tools/escalation_terms.txt
[ -s "$F" ] || { echo "PRECHECK: summary missing ($F)"; exit 1; }
grep -q '^Total subjects' "$F" || { echo "PRECHECK: summary incomplete (no subject count)"; exit 1; }
hits=$(grep -i -o -F -f "$TERMS" "$F" | sort -fu | tr '\n' ',' | sed 's/,$//')
n=$(grep -i -o 'serious adverse events: *[0-9]*' "$F" | head -1 | grep -o '[0-9]*$')
n=${n:-0}
if [ -n "$hits" ] || [ "$n" -gt 2 ]; then
  echo "PRECHECK: ESCALATION REQUIRED (terms: ${hits:-none}; SAEs: $n)"
  exit 1
fi
echo "PRECHECK: CLEAR FOR ROUTINE SUBMISSION (SAEs: $n)"
