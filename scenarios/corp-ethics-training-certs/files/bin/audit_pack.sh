#!/bin/bash
# ISO 37001 surveillance audit: evidence pack for the anti-bribery training control (ABC-2024).
# For every active employee on the roster the pack needs the LMS completion certificate.
ROSTER=/app/hr/roster.csv
CERTS=/app/lms/certs
mkdir -p /app/out
total=0; have=0; : > /app/out/missing_certificates.txt
while IFS=, read -r id name dept country; do
  total=$((total + 1))
  if [ -f "$CERTS/$id.cert" ]; then have=$((have + 1)); else echo "$id,$dept,$country" >> /app/out/missing_certificates.txt; fi
done < <(tail -n +2 "$ROSTER")
echo "certificates: $have of $total active employees"
if [ "$have" -eq "$total" ]; then echo "EVIDENCE PACK: COMPLETE"; else echo "EVIDENCE PACK: INCOMPLETE ($((total - have)) missing, see out/missing_certificates.txt)"; fi
