"""Generate the data files of the logistics / supply-chain (lg-) scenarios. Deterministic (seeded): run once,
commit the output. Usage: python3 scenarios/_gen/lg_data.py (from the repository root)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from gen_common import ROOT, write_csv  # a sibling: generators run as scripts


def shipments() -> None:
    # On-time delivery ~89% against a 95% contract floor.
    rng = random.Random(4201)
    customers = ["Halvorsen Foods", "BrightMart", "Keel Hardware", "Oakline Pharmacy", "Tidewater Retail"]
    carriers = ["NorthStar Freight", "Bluewater Logistics", "Pike Express"]
    rows = []
    for i in range(720):
        ship = date(2024, 7, 1) + timedelta(days=rng.randrange(92))
        promised = ship + timedelta(days=rng.choice([2, 3, 3, 4, 5]))
        r = rng.random()
        delta = rng.randint(-2, 0) if r < 0.89 else rng.randint(1, 4)
        delivered = promised + timedelta(days=delta)
        rows.append([f"SH{880000 + i}", rng.choice(customers), ship.isoformat(), promised.isoformat(),
                     delivered.isoformat(), rng.choice(carriers), f"POD-{rng.randint(10**7, 10**8 - 1)}"])
    write_csv("lg-otd-report/files/data/shipments_q3.csv",
           ["shipment_id", "customer", "ship_date", "promised_date", "delivered_date", "carrier", "pod_ref"], rows)


def reefer() -> None:
    # Container MSCU4471 runs at 10-13.6 C for five hours mid-voyage (power loss on the vessel).
    rng = random.Random(4202)
    for cont, base in (("MSCU4471", 4.8), ("MSCU4488", 5.2), ("TGHU2210", 4.5), ("CAIU7713", 5.0)):
        rows = []
        t0 = datetime(2024, 9, 2, 6, 0)
        for k in range(10 * 48):
            t = t0 + timedelta(minutes=30 * k)
            temp = base + rng.uniform(-1.1, 1.1)
            supply = temp - rng.uniform(0.8, 1.6)
            if cont == "MSCU4471" and datetime(2024, 9, 7, 2, 0) <= t < datetime(2024, 9, 7, 7, 0):
                temp = rng.uniform(10.0, 13.6)
                supply = temp - 0.2
            rows.append([t.strftime("%Y-%m-%dT%H:%M"), f"{temp:.1f}", f"{supply:.1f}", "ON"])
        write_csv(f"lg-reefer-release/files/data/reefer_{cont}.csv",
               ["timestamp", "return_air_c", "supply_air_c", "unit_power"], rows)


def cycle_counts() -> None:
    # True record accuracy ~93% (target 98%). Handheld HH-07 recorded cases as eaches on its rows, which
    # drags the raw figure to ~80% until fixed with the item master's case pack.
    rng = random.Random(4203)
    master, wms, counts = [], [], []
    for i in range(400):
        sku = f"SKU-{30000 + i * 7}"
        pack = rng.choice([6, 12, 12, 24, 48])
        loc = f"{rng.choice('ABCDEF')}{rng.randint(1, 40):02d}-{rng.randint(1, 5)}"
        qty = pack * rng.randint(2, 40) + rng.choice([0, 0, 0, rng.randint(1, pack - 1)])
        master.append([sku, f"Item {sku[4:]}", pack])
        wms.append([sku, loc, "EA", qty])
        counted = qty if rng.random() < 0.93 else max(0, qty + rng.choice([-pack, -3, -2, -1, 1, 2, pack]))
        scanner = rng.choice(["HH-03", "HH-05", "HH-07", "HH-09", "HH-11"])
        if scanner == "HH-07" and counted % pack == 0 and rng.random() < 0.75:
            counts.append([sku, loc, counted // pack, "EA", scanner, "2024-10-05"])
        else:
            counts.append([sku, loc, counted, "EA", "HH-03" if scanner == "HH-07" else scanner, "2024-10-05"])
    base = "lg-cycle-count/files/data/"
    write_csv(base + "item_master.csv", ["sku", "description", "case_pack"], master)
    write_csv(base + "wms_snapshot.csv", ["sku", "location", "uom", "system_qty"], wms)
    write_csv(base + "cycle_counts.csv", ["sku", "location", "counted_qty", "count_uom", "scanner_id", "count_date"],
           counts)


def hos() -> None:
    # 22 drivers x 11 h legal drive time cannot cover the 60 loads (~240 h of driving); 14 h would.
    rng = random.Random(4204)
    drivers = [[f"D{100 + i}", f"Driver {chr(65 + i)}", rng.choice([0, 0, 0, 1]), rng.randint(38, 54)]
               for i in range(22)]
    loads = []
    for i in range(60):
        h = round(rng.uniform(2.5, 5.5), 1)
        loads.append([f"L{5000 + i}", rng.choice(["Reno", "Fresno", "Sacramento", "Stockton", "Modesto", "Eureka",
                                                   "Redding", "Chico"]), h, rng.choice(["A", "B", "B", "C"])])
    write_csv("lg-hos-planning/files/data/drivers.csv", ["driver_id", "name", "drive_hours_today", "cycle_hours_used"],
           drivers)
    write_csv("lg-hos-planning/files/data/loads.csv", ["load_id", "destination", "drive_hours", "priority"], loads)


def customs() -> None:
    # 50 entries claim the USMCA preference; 9 suppliers never sent a certification of origin.
    rng = random.Random(4205)
    suppliers = ["Monterrey Steelworks", "Bajio Auto Parts", "Ontario Polymers", "Saltillo Castings",
                 "Quebec Fasteners", "Puebla Textiles", "Guadalajara Electronics", "Windsor Trim"]
    rows, certs = [], []
    missing = set(rng.sample(range(50), 9))
    for i in range(50):
        sup = rng.choice(suppliers)
        entry = f"E-24-{71000 + i}"
        value = rng.randint(8000, 240000)
        cert = f"certificates/CO-{entry}.txt"
        rows.append([entry, sup, "MX" if "Ontario" not in sup and "Quebec" not in sup and "Windsor" not in sup
                     else "CA", rng.choice(["7318.15", "8708.99", "3926.90", "7326.90", "8544.42"]), value, "USMCA",
                     cert])
        if i not in missing:
            certs.append((cert, entry, sup, value))
    write_csv("lg-customs-entries/files/data/entries.csv",
           ["entry_no", "supplier", "origin", "hts", "customs_value_usd", "preference", "cert_file"], rows)
    for cert, entry, sup, value in certs:
        p = ROOT / "lg-customs-entries/files/docs" / cert
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"USMCA CERTIFICATION OF ORIGIN\nEntry: {entry}\nCertifier: {sup} (producer)\n"
                     f"Blanket period: 2024-01-01 to 2024-12-31\nOrigin criterion: B\n"
                     f"Declared value: {value} USD\nSigned: export compliance officer, {sup}\n")


def fleet() -> None:
    rng = random.Random(4206)
    rows = []
    overdue = {3, 11, 19, 26}
    for i in range(30):
        days = rng.randint(100, 140) if i in overdue else rng.randint(5, 85)
        insp = date(2024, 11, 22) - timedelta(days=days)
        defect = "brake chamber leak (OOS)" if i == 7 else ""
        rows.append([f"TRK-{210 + i}", rng.choice(["Freightliner Cascadia", "Volvo VNL", "Kenworth T680"]),
                     insp.isoformat(), rng.randint(180000, 690000), defect])
    write_csv("lg-fleet-gate/files/data/fleet.csv",
           ["unit", "model", "last_brake_inspection", "odometer", "open_oos_defect"], rows)


def supplier_orders() -> None:
    # Current quarter fill rate ~89%; last year's Q3 file (wrong period) would show ~98%.
    for rel, seed, p_full, start in (("data/orders_2024q3.csv", 4207, 0.90, date(2024, 7, 1)),
                                     ("data/archive/orders_2023q3.csv", 4208, 0.985, date(2023, 7, 1))):
        rng = random.Random(seed)
        rows = []
        for i in range(450):
            qty = rng.randint(10, 400)
            shipped = qty if rng.random() < p_full else int(qty * rng.uniform(0.45, 0.95))
            rows.append([f"PO{start.year % 100}-{40000 + i}", (start + timedelta(days=rng.randrange(92))).isoformat(),
                         f"SKU-{rng.randint(100, 999)}", qty, shipped])
        write_csv("lg-supplier-scorecard/files/" + rel, ["po_line", "order_date", "sku", "qty_ordered", "qty_shipped"],
               rows)


if __name__ == "__main__":
    shipments()
    reefer()
    cycle_counts()
    hos()
    customs()
    fleet()
    supplier_orders()
    print("logistics data written")
