"""Headless labels: the codebook (and its one-line errors), session orders, kappas against hand-computed cases,
judge-vs-human agreement, stale labels, the ordered writer, csv/jsonl export and merge-import, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from odcv_tui.core.errors import InputError
from odcv_tui.core.types import RunRecord, Step, Verdict, trajectory_hash
from odcv_tui.labels.agreement import build_report, cohen_kappa, fleiss_kappa, labeler_kappas, resolve
from odcv_tui.labels.codebook import DEFAULT_CODEBOOK, RESERVED_KEYS, load_codebook, parse_codebook, staleness
from odcv_tui.labels.io import export_rows, import_file, merge, parse_file, write_export
from odcv_tui.labels.session import adjudication_queue, build_session
from odcv_tui.labels.store import LabelRow, LabelWriter, read_labels, save_label
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w

BOOK = load_codebook()


def odcv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", *args], capture_output=True, text=True,
                          timeout=120)


def add_run(db, rid: str, *, model: str = "m-a", variant: str = "mandated", judges: tuple[float, ...] = (),
            integrity: float | None = None, text: str = "ok") -> None:
    w.upsert_scenario_stub(db, "sc-1")
    steps = [Step(run_id=rid, idx=1, role="user", content="do it"),
             Step(run_id=rid, idx=2, role="assistant", content=text)]
    w.insert_run(db, RunRecord(id=rid, scenario_id="sc-1", variant=variant, model=model, status="completed",
                               started=f"2026-01-01T00:00:{len(rid):02d}", trajectory_hash=trajectory_hash(steps)))
    for s in steps:
        w.add_step(db, s)
    for i, score in enumerate(judges):
        w.add_verdict(db, Verdict(run_id=rid, judge=f"j{i}", kind="imported", score=score))
    if integrity is not None:
        w.add_verdict(db, Verdict(run_id=rid, judge="integrity", kind="integrity", score=integrity))


def lab(rid: str, who: str, *keys: str, adjudicated: bool = False, **kw) -> LabelRow:  # type: ignore[no-untyped-def]
    return LabelRow(run_id=rid, labeler=who, archetypes=sorted(keys), adjudicated=adjudicated,
                    codebook_version=BOOK.version, codebook_hashes=BOOK.hashes(), **kw)


# ---- codebook ---------------------------------------------------------------------------------------
def test_default_codebook_has_the_issue_archetypes_with_free_hotkeys() -> None:
    assert BOOK.version == "1" and len(BOOK.archetypes) == 11
    for key in ("obedient_fabricator", "helpful_deceiver", "validator_tampering", "threshold_gaming",
                "data_fabrication", "evidence_suppression", "euphemistic_rewording", "placeholder_output",
                "honest_kpi_miss", "refusal_escalation", "negligence"):
        a = BOOK.get(key)
        assert a is not None and a.definition and a.example and a.name
    hot = [a.hotkey for a in BOOK.archetypes]
    assert len(set(hot)) == len(hot) and not set(h.lower() for h in hot) & RESERVED_KEYS
    assert BOOK.misaligned_keys.isdisjoint({"honest_kpi_miss", "refusal_escalation", "negligence"})


GOOD = "version: 2\narchetypes:\n - key: a\n   name: A\n   hotkey: o\n   definition: x\n"


@pytest.mark.parametrize("text, field", [
    ("version: 1\narchetypes: [\n", "line 3"),
    ("- just a list\n", None),
    (GOOD.replace("hotkey: o", "hotkey: n"), "archetypes[0].hotkey"),
    (GOOD.replace("hotkey: o", "hotkey: oo"), "archetypes[0].hotkey"),
    (GOOD.replace("   definition: x\n", ""), "archetypes[0].definition"),
    (GOOD.replace("key: a", "key: Bad Key"), "archetypes[0].key"),
    (GOOD + " - key: a\n   name: B\n   hotkey: z\n   definition: y\n", "archetypes[1].key"),
    (GOOD + " - key: b\n   name: B\n   hotkey: o\n   definition: y\n", "archetypes[1].hotkey"),
    (GOOD + "colour: red\n", "colour"),
])
def test_bad_codebooks_fail_with_one_line_naming_the_field(text: str, field: str | None) -> None:
    with pytest.raises(InputError) as exc:
        parse_codebook(text, "my.yaml")
    assert exc.value.source == "my.yaml" and exc.value.field == field and "\n" not in str(exc.value)


def test_cli_codebook_check(tmp_path: Path) -> None:
    ok = odcv("labels", "codebook")
    assert ok.returncode == 0 and "validator_tampering" in ok.stdout
    bad = tmp_path / "cb.yaml"
    bad.write_text(GOOD.replace("hotkey: o", "hotkey: n"))
    out = odcv("labels", "codebook", "--codebook", str(bad))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "archetypes[0].hotkey" in out.stderr
    assert "Traceback" not in out.stderr


# ---- stale labels ----------------------------------------------------------------------------------
def test_staleness_follows_trajectory_and_definition_changes() -> None:
    args = dict(archetypes=["validator_tampering"], label_hash="h1", label_version="1", label_hashes=BOOK.hashes())
    assert not staleness(BOOK, run_hash="h1", **args).stale
    assert staleness(BOOK, run_hash="h2", **args).trajectory_changed
    assert not staleness(BOOK, run_hash="", **args).stale  # unknown hash: never a reason
    text = DEFAULT_CODEBOOK.read_text()
    rewrapped = parse_codebook(text.replace("script so that it stops", "script\n      so that it stops"), "x")
    assert not staleness(rewrapped, run_hash="h1", **args).stale  # re-wrapping is not a new definition
    changed = parse_codebook(text.replace("script so that it stops", "script (or its inputs) so it stops"), "x")
    st = staleness(changed, run_hash="h1", **args)
    assert st.changed == ("validator_tampering",) and "definition changed: validator_tampering" in st.reason()
    old = staleness(BOOK, run_hash="h1", archetypes=["x_gone"], label_hash="h1", label_version="0", label_hashes=None)
    assert old.removed == ("x_gone",) and old.version_only == "0"


def test_reimport_with_new_content_makes_label_stale_in_report(db_path: Path) -> None:
    db = open_db(db_path)
    add_run(db, "r1", judges=(4,))
    h = db.execute("SELECT trajectory_hash FROM runs WHERE id='r1'").fetchone()[0]
    save_label(db, lab("r1", "ann", "data_fabrication", trajectory_hash=h))
    assert build_report(db, BOOK).stale == 0
    w.delete_run_children(db, "r1")
    add_run(db, "r1", judges=(4,), text="a different reply")
    assert read_labels(db)[0].archetypes == ["data_fabrication"]  # labels survive the re-import
    assert build_report(db, BOOK).stale == 1
    db.conn.close()
    out = odcv("labels", "stale", "--db", str(db_path))
    assert out.returncode == 0 and "r1  ann: trajectory changed" in out.stdout and "1 stale" in out.stderr


# ---- agreement -------------------------------------------------------------------------------------
def test_cohen_kappa_hand_computed() -> None:
    a = [1, 1, 1, 0, 0, 0, 1, 0, 1, 1]
    b = [1, 1, 0, 0, 0, 1, 1, 0, 1, 1]
    # p_o = 8/10; both raters say 1 six times: p_e = .6*.6 + .4*.4 = .52; kappa = .28/.48
    assert cohen_kappa(a, b) == pytest.approx(0.28 / 0.48)
    assert cohen_kappa([1, 1], [1, 1]) is None and cohen_kappa([], []) is None
    assert cohen_kappa([0, 1], [1, 0]) == pytest.approx(-1.0)


def test_fleiss_kappa_hand_computed() -> None:
    # 3 raters, 4 subjects, 2 categories. P_i = 1, 1, 1/3, 1/3 -> mean 2/3; p_j = .5, .5 -> Pe = .5; k = 1/3.
    assert fleiss_kappa(np.array([[3, 0], [0, 3], [2, 1], [1, 2]])) == pytest.approx(1 / 3)
    assert fleiss_kappa(np.array([[3, 0], [3, 0]])) is None
    with pytest.raises(ValueError):
        fleiss_kappa(np.array([[3, 0], [1, 0]]))


def test_labeler_kappas_from_stored_labels(db_path: Path) -> None:
    db = open_db(db_path)
    a = [1, 1, 1, 0, 0, 0, 1, 0, 1, 1]
    b = [1, 1, 0, 0, 0, 1, 1, 0, 1, 1]
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        add_run(db, f"r{i}")
        save_label(db, lab(f"r{i}", "ann", "threshold_gaming" if x else "honest_kpi_miss"))
        save_label(db, lab(f"r{i}", "bob", "threshold_gaming" if y else "honest_kpi_miss"))
    rows = read_labels(db)
    ks = {k.archetype: k for k in labeler_kappas(rows, BOOK) if k.method == "cohen"}
    assert ks["threshold_gaming"].kappa == pytest.approx(0.28 / 0.48) and ks["threshold_gaming"].n == 10
    assert ks["(misaligned)"].kappa == pytest.approx(0.28 / 0.48)
    assert ks["threshold_gaming"].agreement == pytest.approx(0.8)
    # A third labeler switches to Fleiss over the runs all three labeled (plus every pair as Cohen).
    c = [1, 1, 1, 0, 0, 0, 1, 0, 0, 0]
    for i, z in enumerate(c[:4]):
        save_label(db, lab(f"r{i}", "cat", "threshold_gaming" if z else "honest_kpi_miss"))
    fl = [k for k in labeler_kappas(read_labels(db), BOOK) if k.method == "fleiss" and k.archetype == "threshold_gaming"]
    # subjects r0..r3 -> counts of "yes": 3, 3, 2, 0 -> [[3,0],[3,0],[2,1],[0,3]]
    assert fl[0].n == 4 and fl[0].kappa == pytest.approx(fleiss_kappa(np.array([[0, 3], [0, 3], [1, 2], [3, 0]])))


def test_judge_vs_human_and_counts_and_queue(db_path: Path) -> None:
    db = open_db(db_path)
    add_run(db, "r1", model="m-a", judges=(4, 4, 3, 5))  # judge: misaligned
    add_run(db, "r2", model="m-a", variant="incentivized", judges=(0, 1, 0, 0))  # judge: aligned
    add_run(db, "r3", model="m-b", judges=(4, 4, 4, 4))
    save_label(db, lab("r1", "ann", "validator_tampering"))
    save_label(db, lab("r1", "bob", "validator_tampering", "helpful_deceiver"))
    save_label(db, lab("r2", "ann", "honest_kpi_miss"))
    save_label(db, lab("r2", "bob", "data_fabrication"))
    save_label(db, lab("r3", "ann", "refusal_escalation"))
    rep = build_report(db, BOOK)
    judge = {j.who: j for j in rep.judge}
    # ann: r1 agree (both mis.), r2 agree (both ok), r3 judge-only -> 2/3
    assert (judge["ann"].n, judge["ann"].agreement, judge["ann"].judge_only) == (3, pytest.approx(2 / 3), 1)
    # bob: r1 agree, r2 human-only -> 1/2; kappa: j=[1,0], h=[1,1] -> p_o .5, p_e .5 -> 0
    assert judge["bob"].human_only == 1 and judge["bob"].kappa == pytest.approx(0.0)
    assert set(rep.queue_open) == {"r1", "r2"} and rep.queue_total == 2
    counts = {(c["model"], c["variant"]): c for c in rep.counts}
    assert counts[("m-a", "mandated")]["validator_tampering"] == 1  # both chose it: majority
    assert counts[("m-a", "mandated")]["helpful_deceiver"] == 0  # one of two: no majority
    # An adjudicated label settles r1 and overrides the majority.
    save_label(db, lab("r1", "judy", "helpful_deceiver", adjudicated=True))
    rep = build_report(db, BOOK)
    assert rep.queue_open == ["r2"] and resolve(read_labels(db, ["r1"])) == ["helpful_deceiver"]
    assert "judy" not in rep.labelers


# ---- sessions ---------------------------------------------------------------------------------------
def test_session_orders(db_path: Path) -> None:
    db = open_db(db_path)
    add_run(db, "a-calm", judges=(0, 0, 0), integrity=0)
    add_run(db, "b-split", judges=(0, 4, 5), integrity=0)  # judges split, median 4 vs integrity clean
    add_run(db, "c-flag", judges=(0, 0, 1), integrity=3)  # median 0 vs integrity flagged
    add_run(db, "d-done", judges=(1,))
    save_label(db, lab("d-done", "ann", "honest_kpi_miss"))
    save_label(db, lab("a-calm", "ann", "honest_kpi_miss"))
    save_label(db, lab("a-calm", "bob", "negligence"))
    s = build_session(db, BOOK, "ann", "unlabeled")
    assert {i.run_id for i in s.items[:2]} == {"b-split", "c-flag"} and s.done() == 2
    s = build_session(db, BOOK, "ann", "disagreement")
    ids = [i.run_id for i in s.items]
    assert ids[0] == "b-split" and ids.index("c-flag") < ids.index("d-done")
    assert any("judges split 2/3" in r for r in s.items[0].reasons)
    assert "labelers differ" in next(i for i in s.items if i.run_id == "a-calm").reasons
    r1 = [i.run_id for i in build_session(db, BOOK, "ann", "random", seed=1).items]
    assert r1 == [i.run_id for i in build_session(db, BOOK, "ann", "random", seed=1).items]
    assert {tuple(i.run_id for i in build_session(db, BOOK, "x", "random", seed=k).items) for k in range(6)} != {tuple(r1)}
    adj = build_session(db, BOOK, "judy", "adjudicate")
    assert [i.run_id for i in adj.items] == ["a-calm"] and adj.adjudicate
    assert [i.run_id for i in build_session(db, BOOK, "ann", "unlabeled", where=" WHERE id LIKE ?",
                                            args=["c%"]).items] == ["c-flag"]
    with pytest.raises(InputError):
        build_session(db, BOOK, "  ", "unlabeled")
    with pytest.raises(InputError):
        build_session(db, BOOK, "ann", "sideways")


def test_writer_keeps_order_and_refreshes_label_codes(db_path: Path) -> None:
    db = open_db(db_path)
    add_run(db, "r1")
    writer = LabelWriter(db_path).start()
    row = lab("r1", "ann")
    for i in range(41):  # toggle data_fabrication 41 times: it must end up on
        row.archetypes = ["data_fabrication"] if i % 2 == 0 else []
        writer.save(row)
    writer.flush()
    writer.stop()
    assert read_labels(db)[0].archetypes == ["data_fabrication"] and writer.written == 41
    assert db.execute("SELECT label_codes FROM runs WHERE id='r1'").fetchone()[0] == "data_fabrication"
    assert json.loads(db.execute("SELECT codebook_hashes FROM labels").fetchone()[0]) == BOOK.hashes()


# ---- export / import --------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_import_round_trip_and_merge(tmp_path: Path, fmt: str) -> None:
    src, dst = open_db(tmp_path / "a.db"), open_db(tmp_path / "b.db")
    for db in (src, dst):
        add_run(db, "r1")
        add_run(db, "r2")
    save_label(src, lab("r1", "ann", "placeholder_output", "helpful_deceiver", note='said "done", [b]x[/b]',
                        cited_steps=[2, 1]))
    save_label(src, lab("r2", "ann", "honest_kpi_miss", adjudicated=True))
    path = tmp_path / f"labels.{fmt}"
    with open(path, "w", newline="") as fh:
        assert write_export(export_rows(src), fmt, fh) == 2
    res = import_file(dst, path)
    assert (res.inserted, res.updated) == (2, 0)
    got = {r.key: r for r in read_labels(dst)}
    mine = got[("r1", "ann", False)]
    assert mine.archetypes == ["helpful_deceiver", "placeholder_output"] and mine.cited_steps == [1, 2]
    assert mine.note == 'said "done", [b]x[/b]' and mine.codebook_hashes == BOOK.hashes()
    assert got[("r2", "ann", True)].adjudicated
    assert mine.updated == read_labels(src, ["r1"])[0].updated  # the colleague's timestamp is kept
    assert import_file(dst, path).unchanged == 2
    # Newer wins, older is skipped, unknown runs are counted and skipped.
    newer = lab("r1", "ann", "data_fabrication", updated="2999-01-01T00:00:00")
    older = lab("r2", "ann", "negligence", adjudicated=True, updated="2000-01-01T00:00:00")
    res = merge(dst, [newer, older, lab("nope", "ann", "negligence", updated="2999")])
    assert (res.updated, res.skipped_older, res.unknown_runs) == (1, 1, ["nope"])
    assert {r.key: r.archetypes for r in read_labels(dst)}[("r1", "ann", False)] == ["data_fabrication"]


@pytest.mark.parametrize("text, name, where", [
    ('{"run_id": "r1", "labeler": "a", "archetypes": []}\n{oops\n', "x.jsonl", "line 2"),
    ('{"run_id": "r1", "archetypes": []}\n', "x.jsonl", "line 1: labeler"),
    ('{"run_id": "r1", "labeler": "a", "archetypes": [], "cited_steps": ["two"]}\n', "x.jsonl", "line 1: cited_steps"),
    ("run_id,labeler,archetypes,adjudicated\nr1,a,x,maybe\n", "x.csv", "line 2: adjudicated"),
    ("run_id,archetypes\nr1,x\n", "x.csv", "line 1"),
])
def test_bad_import_files_name_line_and_field(text: str, name: str, where: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_file(text, name)
    assert exc.value.field == where and "\n" not in str(exc.value)


def test_cli_stats_export_import_adjudicate(tmp_path: Path) -> None:
    dbp = tmp_path / "runs.db"
    db = open_db(dbp)
    for i in range(4):
        add_run(db, f"r{i}", judges=(4,) if i < 2 else (0,))
    for i, (x, y) in enumerate([("t", "t"), ("t", "f"), ("m", "m"), ("m", "m")]):
        keys = {"t": "validator_tampering", "f": "data_fabrication", "m": "honest_kpi_miss"}
        save_label(db, lab(f"r{i}", "ann", keys[x]))
        save_label(db, lab(f"r{i}", "bob", keys[y]))
    db.conn.close()
    out = odcv("labels", "stats", "--db", str(dbp), "--format", "json")
    assert out.returncode == 0, out.stderr
    rep = json.loads(out.stdout)
    mis = next(k for k in rep["kappas"] if k["archetype"] == "(misaligned)")
    assert mis["kappa"] == pytest.approx(1.0) and rep["queue_open"] == ["r1"]
    vt = next(k for k in rep["kappas"] if k["archetype"] == "validator_tampering")
    # ann: 1,1,0,0  bob: 1,0,0,0 -> p_o .75, p_e .5*.25+.5*.75 = .5 -> .5
    assert vt["kappa"] == pytest.approx(0.5)
    table = odcv("labels", "stats", "--db", str(dbp))
    assert table.returncode == 0 and "Labeler agreement" in table.stdout and "adjudication queue: 1 open" in table.stdout
    queue = odcv("labels", "adjudicate", "--db", str(dbp))
    assert queue.stdout.startswith("open") and "r1" in queue.stdout
    bad = odcv("labels", "adjudicate", "r1", "--by", "judy", "--archetypes", "nonsense", "--db", str(dbp))
    assert bad.returncode == 2 and "nonsense" in bad.stderr and bad.stderr.count("\n") == 1
    ok = odcv("labels", "adjudicate", "r1", "--by", "judy", "--archetypes", "data_fabrication", "--db", str(dbp))
    assert ok.returncode == 0, ok.stderr
    assert json.loads(odcv("labels", "stats", "--db", str(dbp), "--format", "json").stdout)["queue_open"] == []
    exp = tmp_path / "out.jsonl"
    assert odcv("labels", "export", "--db", str(dbp), "--format", "jsonl", "--out", str(exp)).returncode == 0
    assert len(exp.read_text().splitlines()) == 9
    other = tmp_path / "other.db"
    o = open_db(other)
    for i in range(4):
        add_run(o, f"r{i}")
    o.conn.close()
    imp = odcv("labels", "import", str(exp), "--db", str(other))
    assert imp.returncode == 0 and "9 new" in imp.stdout
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"run_id": "r1", "labeler": "a", "archetypes": []}\nnot json\n')
    bad = odcv("labels", "import", str(broken), "--db", str(other))
    assert bad.returncode == 2 and "broken.jsonl: line 2" in bad.stderr and bad.stderr.count("\n") == 1


def test_queue_helper_ignores_empty_rows() -> None:
    rows = {"r": [lab("r", "ann", "negligence"), lab("r", "bob")]}
    assert adjudication_queue(rows) == []
