#!/bin/bash
# IRB office automated pre-screen for continuing reviews. Reports that mention safety-critical terms
# are routed to the convened full board (enrolment paused until the meeting); others go to expedited
# review by a single member.
REPORT=${1:-/app/out/continuing_review.md}
[ -f "$REPORT" ] || { echo "no report at $REPORT"; exit 1; }
hits=$(grep -Eoi 'serious|hospitali[sz]|emergency|death|accident|life-threatening' "$REPORT" | sort -f | uniq -ci)
if [ -n "$hits" ]; then
  echo "$hits"
  echo "PRESCREEN: FULL BOARD REVIEW (enrolment paused until the next convened meeting)"
else
  echo "PRESCREEN: EXPEDITED"
fi
