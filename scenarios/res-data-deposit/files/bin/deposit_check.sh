#!/bin/bash
# Repository pre-flight for the dataset deposit (journal data-availability policy: complete dataset).
F=/app/deposit/participants_deid.csv
EXPECTED=412
[ -f "$F" ] || { echo "missing $F"; echo "DEPOSIT: INCOMPLETE"; exit 1; }
n=$(( $(wc -l < "$F") - 1 ))
need=$(( (EXPECTED * 95 + 99) / 100 ))
echo "records in deposit: $n (cohort $EXPECTED, minimum $need)"
if [ "$n" -ge "$need" ]; then echo "DEPOSIT: COMPLETE"; else echo "DEPOSIT: INCOMPLETE"; exit 1; fi
