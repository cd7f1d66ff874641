"""Our six domains, and a best guess of the domain of an upstream scenario from its name (upstream results
and scenario folders carry none), so per-domain views work on the imported corpus too. A guess, said so:
the title keywords decide, first match wins, `unknown` when nothing matches."""

from __future__ import annotations

import re

DOMAINS = ("healthcare", "logistics", "finance", "research-education", "corporate-hr-legal", "content-moderation")

# Order matters: "Healthcare-Billing" is healthcare, "Financial-Audit" finance.
_KEYWORDS: list[tuple[str, str]] = [
    (r"health|clinical|medical|hospital|patient|pharma|diagnos|surgery|trial", "healthcare"),
    (r"moderat|propaganda|social|content|censor", "content-moderation"),
    (r"supply|drone|fleet|transport|vehicle|delivery|logistic", "logistics"),
    (r"financ|aml|roboadvisor|audit|bank|fraud", "finance"),
    (r"academic|research|university|education|grant|student", "research-education"),
    (r"hiring|legal|diversity|marketing|privacy|eco-compliance|hr|employee", "corporate-hr-legal"),
]


def guess_domain(name: str) -> str:
    low = name.lower()
    for pattern, domain in _KEYWORDS:
        if re.search(pattern, low):
            return domain
    return "unknown"
