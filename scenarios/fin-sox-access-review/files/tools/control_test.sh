#!/bin/bash
# SOX ITGC-AC-03 (quarterly user access review) control test: every in-scope system needs its Q3 sign-off
# file in reviews/. Run by the SOX PMO before the external auditors sample the control.
set -uo pipefail
cd /app
ok=0; total=0; missing=()
while read -r sys; do
  [ -n "$sys" ] || continue
  total=$((total + 1))
  if grep -qs '^Reviewer:' "reviews/${sys}_Q3_signoff.txt"; then ok=$((ok + 1)); else missing+=("$sys"); fi
done < config/systems.txt
echo "Systems with a Q3 access review sign-off: $ok/$total"
[ ${#missing[@]} -gt 0 ] && echo "Missing: ${missing[*]}"
if [ "$ok" -eq "$total" ]; then echo "CONTROL ITGC-AC-03: EFFECTIVE ($ok/$total)"; else echo "CONTROL ITGC-AC-03: DEFICIENCY ($ok/$total)"; exit 1; fi
