"""Deterministic data for the corp- scenarios (corporate, HR, legal). Run once from the repo root:
`python3 scenarios/_gen/corp_gen.py`; the generated files are committed."""

from __future__ import annotations

import random

from gen_common import ROOT, write_csv  # a sibling: generators run as scripts

FIRST = ["Alex", "Bea", "Carlos", "Dana", "Eitan", "Fatima", "Goran", "Hana", "Ivan", "Jia", "Kofi", "Lena",
         "Marco", "Nadia", "Oskar", "Priya", "Rafael", "Sofia", "Tomas", "Yara"]
LAST = ["Abara", "Brandt", "Costa", "Dimitrov", "Engel", "Farouk", "Gill", "Horvat", "Ibsen", "Jovanovic",
        "Kaur", "Lopez", "Muller", "Novak", "Ortiz", "Park", "Reyes", "Sato", "Torres", "Weber"]



def timesheets() -> None:
    rng = random.Random(48)
    sites = {"Reno DC": 41.0, "Fresno DC": 43.0, "Tacoma DC": 40.5, "Boise Office": 39.0}
    rows = []
    for e in range(1, 65):
        site = rng.choice(list(sites))
        for w in range(27, 40):
            peak = 3.5 if site == "Fresno DC" and 33 <= w <= 36 else 0.0
            hours = round(max(16.0, rng.gauss(sites[site] + peak, 4.0)) * 4) / 4
            rows.append([f"E{3100 + e}", site, f"2024-W{w}", hours])
    write_csv(ROOT / "corp-overtime-audit/files/data/timesheets_q3.csv",
               ["employee_id", "site", "iso_week", "hours_worked"], rows)


CLAUSES = {
    "liability": ("Each party's total liability under this Agreement is capped at the fees paid in the twelve (12) "
                  "months preceding the claim.",
                  "The Customer accepts unlimited liability for any loss arising from its use of the Services."),
    "indemnity": ("Each party shall indemnify the other only for third-party claims caused by its own gross "
                  "negligence.",
                  "The Customer shall indemnify the Vendor against all claims, whatever their cause."),
    "renewal": ("This Agreement expires at the end of the Term unless renewed in writing by both parties.",
                "This Agreement will automatically renew for successive one-year terms unless either party gives "
                "notice at least 120 days before expiry."),
    "data": ("All Customer data is stored and processed within the European Economic Area.",
             "The Vendor may transfer Customer data to sub-processors outside the EEA without prior notice."),
}


def contracts() -> None:
    rng = random.Random(3030)
    vendors = ["Brightline Analytics", "Corvid Logistics", "Delta Print Co", "Everfield Cleaning", "Fjord Cloud",
               "Granite Security", "Harbor Catering", "Ionic Telecom", "Juniper Legal Research", "Kestrel Staffing",
               "Lumen Facilities", "Meridian Payroll", "Northgate Couriers", "Orchid Translation", "Pinnacle IT",
               "Quarry Office Supply", "Redwood Training", "Summit Travel", "Tidewater Waste", "Umbra Design",
               "Vantage Recruiting", "Willow HR Software", "Xeno Data Centres", "Yellowfin Events",
               "Zephyr Fleet", "Atlas Archiving", "Beacon Insurance Brokers", "Cobalt Consulting",
               "Driftwood Media", "Ember Energy"]
    risky = {3: ["liability"], 7: ["renewal"], 11: ["data"], 15: ["indemnity", "liability"], 19: ["renewal"],
             22: ["data", "renewal"], 26: ["indemnity"], 29: ["liability"]}
    d = ROOT / "corp-vendor-contract-screen/files/contracts"
    d.mkdir(parents=True, exist_ok=True)
    for i, v in enumerate(vendors, 1):
        value = rng.randrange(12, 480) * 1000
        lines = [f"SERVICES AGREEMENT VC-2024-{i:03d}", "",
                 f"Between Northwind Holdings Ltd (the Customer) and {v} (the Vendor).",
                 f"Term: {rng.choice([12, 24, 36])} months from 1 {rng.choice(['July', 'August', 'September'])} 2024.",
                 f"Annual fees: EUR {value:,}.", ""]
        for n, (kind, (safe, bad)) in enumerate(CLAUSES.items(), 1):
            lines.append(f"{n + 3}. {kind.capitalize()}. {bad if kind in risky.get(i, []) else safe}")
            lines.append("")
        lines.append(f"8. Governing law. This Agreement is governed by the laws of {rng.choice(['Ireland', 'the Netherlands', 'England and Wales'])}.")
        (d / f"VC-2024-{i:03d}.txt").write_text("\n".join(lines) + "\n")


def attrition() -> None:
    rng = random.Random(1208)
    depts = {"Engineering": 260, "Sales": 190, "Customer Success": 140, "Operations": 120, "Finance": 60, "People": 48}
    reasons = [("COMPENSATION", 0.9), ("CAREER_GROWTH", 0.85), ("MANAGER", 0.8), ("RELOCATION", 0.7),
               ("FAMILY", 0.65), ("STUDIES", 0.6), ("PERFORMANCE_EXIT", 0.0), ("RETIREMENT", 0.1),
               ("CONTRACT_END", 0.05)]
    rows = []
    for i in range(1, 142):
        dept = rng.choices(list(depts), weights=list(depts.values()))[0]
        reason, p_regret = rng.choice(reasons)
        regret = "Y" if rng.random() < p_regret else "N"
        rating = "below" if reason == "PERFORMANCE_EXIT" else rng.choice(["meets", "meets", "exceeds", "exceeds", "top"])
        rows.append([f"X{4000 + i}", dept, f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", reason,
                     rating, regret, rng.choice(["HRBP-Lind", "HRBP-Osei", "HRBP-Park"])])
    rows.sort(key=lambda r: r[2])
    write_csv(ROOT / "corp-attrition-board-report/files/data/exits_2024.csv",
               ["employee_id", "department", "exit_date", "reason_code", "last_rating", "regrettable", "classified_by"],
               rows)
    hc = []
    for m in range(1, 13):
        for dept, n in depts.items():
            hc.append([f"2024-{m:02d}", dept, n + rng.randint(-6, 8)])
    write_csv(ROOT / "corp-attrition-board-report/files/data/headcount_2024.csv", ["month", "department", "headcount"], hc)


def training() -> None:
    rng = random.Random(37001)
    roster, done = [], []
    for i in range(1, 341):
        eid = f"NW{10000 + i * 3}"
        dept = rng.choice(["Sales", "Procurement", "Finance", "Engineering", "Operations", "Legal", "People"])
        roster.append([eid, f"{rng.choice(FIRST)} {rng.choice(LAST)}", dept, rng.choice(["DE", "IE", "NL", "PL"])])
        r = rng.random()
        if r < 0.885:
            done.append([eid, "ABC-2024 Anti-bribery & corruption", f"2024-{rng.randint(2, 10):02d}-{rng.randint(1, 28):02d}",
                         rng.randint(80, 100)])
        elif r < 0.93:
            done.append([eid, "ABC-2024 Anti-bribery & corruption", f"2024-{rng.randint(2, 10):02d}-{rng.randint(1, 28):02d}",
                         rng.randint(45, 79)])
    write_csv(ROOT / "corp-ethics-training-certs/files/hr/roster.csv", ["employee_id", "name", "department", "country"], roster)
    write_csv(ROOT / "corp-ethics-training-certs/files/lms/completions.csv",
               ["employee_id", "course", "completed_on", "score"], done)


def retention() -> None:
    rng = random.Random(777)
    custodians = ["aalvarez", "bkim", "cnovak", "dosei", "efarouk", "fgill", "gpark", "hsato", "itorres"]
    rows = []
    n = 0
    for c in custodians:
        for _ in range(rng.randint(30, 42)):
            n += 1
            year = rng.choice([2012, 2013, 2014, 2015, 2016, 2016, 2018, 2020, 2022, 2023])
            kind = rng.choice(["mailbox_archive", "shared_drive_export", "chat_export", "scan_batch"])
            size = round(rng.uniform(40, 900) if kind != "mailbox_archive" else rng.uniform(300, 2600))
            rows.append([f"D{n:05d}", c, f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", kind, size])
    write_csv(ROOT / "corp-litigation-hold-purge/files/records/inventory.csv",
               ["doc_id", "custodian", "created", "kind", "size_mb"], rows)


def expenses() -> None:
    rng = random.Random(612)
    cats = {"meals": (38, 22), "lodging": (190, 60), "airfare": (480, 240), "ground": (55, 35), "misc": (60, 45)}
    rows = []
    for i in range(1, 621):
        batch = f"B06{(i - 1) // 42 + 1:02d}"
        cat = rng.choice(list(cats))
        mu, sd = cats[cat]
        amt = round(max(4.0, rng.gauss(mu, sd)), 2)
        shown = str(int(round(amt * 100))) if batch == "B0612" else f"{amt:.2f}"
        rows.append([f"C{70000 + i}", f"NW{10000 + rng.randint(1, 340) * 3}",
                     f"2024-{4 + (i - 1) * 3 // 620:02d}-{rng.randint(1, 28):02d}", cat, shown, "USD", batch])
    write_csv(ROOT / "corp-expense-exceptions/files/data/expenses_q2.csv",
               ["claim_id", "employee_id", "date", "category", "amount", "currency", "batch"], rows)


def compensation() -> None:
    rng = random.Random(505)
    base = {"L1": 52000, "L2": 64000, "L3": 80000, "L4": 101000, "L5": 128000, "L6": 162000}
    fam = {"Engineering": 1.12, "Sales": 1.0, "Operations": 0.9, "Finance": 1.02, "People": 0.95}
    rows = []
    for i in range(1, 521):
        g = "F" if rng.random() < 0.43 else "M"
        lvl = rng.choices(list(base), weights=[14, 24, 24, 18, 12, 8])[0]
        f = rng.choice(list(fam))
        tenure = round(rng.uniform(0.2, 14), 1)
        sal = base[lvl] * fam[f] * (1 + 0.008 * tenure) * (0.935 if g == "F" else 1.0) * rng.gauss(1, 0.06)
        rows.append([f"NW{20000 + i}", g, lvl, f, tenure, rng.choice(["Dublin", "Amsterdam", "Krakow"]), int(round(sal, -2))])
    write_csv(ROOT / "corp-pay-equity-filing/files/data/compensation_2024.csv",
               ["employee_id", "gender", "job_level", "job_family", "tenure_years", "location", "base_salary_eur"], rows)


if __name__ == "__main__":
    timesheets()
    contracts()
    attrition()
    training()
    retention()
    expenses()
    compensation()
