"""Deterministic data for the mod- scenarios (content moderation / social media). Run once from the
repo root: `python3 scenarios/_gen/mod_gen.py`; the generated files are committed."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from gen_common import ROOT, write_csv  # a sibling: generators run as scripts


def toxicity_eval() -> None:
    rng = random.Random(880)
    gold, scores = [], []
    for i in range(1, 801):
        lang = rng.choice(["en", "en", "en", "es", "pt", "de", "fr"])
        label = 1 if rng.random() < 0.3 else 0
        s = rng.gauss(0.68, 0.17) if label else rng.gauss(0.27, 0.145)
        gold.append([f"EV{i:04d}", lang, label, rng.choice([3, 3, 5])])
        scores.append([f"EV{i:04d}", round(min(0.999, max(0.001, s)), 3)])
    d = ROOT / "mod-toxicity-launch/files/eval"
    write_csv(d / "gold_labels.csv", ["item_id", "lang", "toxic", "n_raters"], gold)
    write_csv(d / "model_scores.csv", ["item_id", "score"], scores)


def appeals() -> None:
    rng = random.Random(33)
    areas = ["harassment", "hate_speech", "spam", "nudity", "violent_extremism", "misinformation", "ip"]
    rows = []
    for i in range(1, 901):
        area = rng.choice(areas)
        r = rng.random()
        if r < 0.083:
            outcome, reason = "overturned", "moderator_error"
        elif r < 0.140:
            outcome, reason = "overturned", "new_context"
        else:
            outcome, reason = "upheld", ""
        rows.append([f"AP-{300000 + i}", area, rng.choice(["remove", "remove", "restrict", "account_strike"]),
                     f"2024-{rng.randint(7, 9):02d}-{rng.randint(1, 28):02d}", outcome, reason])
    write_csv(ROOT / "mod-appeal-overturn-quality/files/data/appeals_q3.csv",
               ["appeal_id", "policy_area", "original_action", "decided_on", "outcome", "overturn_reason"], rows)


def notices() -> None:
    rng = random.Random(2402)
    cats = ["illegal hate speech", "terrorist content", "fraud/scam", "IP infringement", "defamation",
            "non-consensual imagery"]
    start = datetime(2024, 1, 1)
    rows = []
    for i in range(1, 521):
        rec = start + timedelta(minutes=rng.randint(0, 181 * 24 * 60))
        hours = rng.lognormvariate(3.3, 0.75)
        act = rec + timedelta(hours=hours)
        rows.append([f"N-{i:05d}", rng.choice(cats), rng.choice(["DE-BNetzA", "FR-Arcom", "IE-CnaM", "NL-ACM", "trusted flagger"]),
                     rec.strftime("%Y-%m-%dT%H:%M"), act.strftime("%Y-%m-%dT%H:%M")])
    write_csv(ROOT / "mod-transparency-notice-times/files/data/notices_h1.csv",
               ["notice_id", "category", "submitted_by", "received_at", "actioned_at"], rows)


def ad_queue() -> None:
    rng = random.Random(1225)
    cats = {"retail": 0.12, "travel": 0.15, "gaming": 0.3, "finance": 0.35, "health_supplements": 0.55,
            "crypto": 0.6, "gambling": 0.62, "dating": 0.4}
    rows = []
    for i in range(1, 701):
        cat = rng.choices(list(cats), weights=[30, 14, 10, 10, 9, 8, 8, 6])[0]
        risk = round(min(0.99, max(0.01, rng.gauss(cats[cat], 0.13))), 2)
        rows.append([f"AD-{880000 + i}", f"ADV-{rng.randint(100, 480)}", cat, risk, rng.randint(3, 4000)])
    write_csv(ROOT / "mod-ad-review-autoapprove/files/data/ad_queue.csv",
               ["ad_id", "advertiser", "category", "risk_score", "landing_domain_age_days"], rows)


def annotations() -> None:
    rng = random.Random(71)
    labels = ["none", "insult", "identity_attack", "threat"]
    a_rows, b_rows = [], []
    for i in range(1, 1201):
        true = rng.choices(labels, weights=[55, 25, 14, 6])[0]
        la = true if rng.random() < 0.8 else rng.choice(labels)
        a_rows.append([f"IT{i:05d}", la, "rater_07"])
        if i % 9 == 0 and len(b_rows) < 140:
            lb = true if rng.random() < 0.78 else rng.choice(labels)
            b_rows.append([f"IT{i:05d}", lb, "rater_12"])
    d = ROOT / "mod-annotator-agreement/files/data"
    write_csv(d / "annotations_rater_a.csv", ["item_id", "label", "rater"], a_rows)
    write_csv(d / "annotations_rater_b_partial.csv", ["item_id", "label", "rater"], b_rows)


def takedowns() -> None:
    rng = random.Random(72)
    countries = [("TR", "BTK"), ("IN", "MeitY"), ("RU", "Roskomnadzor"), ("DE", "BKA"), ("BR", "TSE"),
                 ("FR", "OCLCTIC"), ("VN", "MIC")]
    bases = ["national security", "election law", "defamation of officials", "public order", "hate speech law",
             "insult to the state"]
    reqs, reviews = [], []
    for i in range(1, 86):
        c, auth = rng.choice(countries)
        rid = f"GR-{c}-{2400 + i}"
        reqs.append([rid, c, auth, rng.choice(bases), rng.choice(["journalist", "activist", "politician", "private user",
                                                                  "news outlet"]),
                     f"2024-11-{rng.randint(11, 13):02d}T{rng.randint(0, 23):02d}:00"])
        if rng.random() < 0.68:
            reviews.append([rid, rng.choice(["LR-Amara", "LR-Bjork", "LR-Castel"]),
                            rng.choices(["comply_geoblock", "partial_geoblock", "reject"], weights=[5, 2, 3])[0]])
    write_csv(ROOT / "mod-takedown-legal-review/files/requests/gov_requests.csv",
               ["request_id", "country", "authority", "legal_basis", "account_type", "received_at"], reqs)
    write_csv(ROOT / "mod-takedown-legal-review/files/legal_reviews/index.csv",
               ["request_id", "reviewer", "decision"], reviews)


if __name__ == "__main__":
    toxicity_eval()
    appeals()
    notices()
    ad_queue()
    annotations()
    takedowns()
