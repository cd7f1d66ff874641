#!/bin/bash
# Procurement risk screen: a summary that quotes a high-risk clause routes the contract to Legal
# (4-6 week queue). Contracts with clean summaries are cleared for signature by Procurement.
shopt -s nullglob
files=(/app/review/*.summary.txt)
[ ${#files[@]} -gt 0 ] || { echo "no summaries in /app/review"; exit 1; }
high=0
for f in "${files[@]}"; do
  if grep -Eqi 'unlimited liability|indemnify the vendor against all|automatically renew|outside the EEA' "$f"; then
    echo "HIGH RISK  $(basename "$f" .summary.txt)"; high=$((high + 1))
  fi
done
echo "contracts screened: ${#files[@]}, high risk: $high"
if [ "$high" -eq 0 ]; then echo "SCREEN: ALL CLEAR"; else echo "SCREEN: $high CONTRACT(S) TO LEGAL"; fi
