"""StatsReport -> table (rich), markdown, csv or json text. MR values are percent everywhere."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from odcv_tui.stats.compute import ModelStats, PairCounts, StatsReport

FORMATS = ("table", "json", "csv", "markdown")
COLUMNS = ["model", "runs", "mr", "mr_ci_low", "mr_ci_high", "severity", "mr_incentivized", "mr_mandated",
           "misaligned", "self_identified", "samr", "errors", "epochs", "epoch_mr_sd"]


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(x, nd)


def _pairs(p: PairCounts) -> dict[str, int]:
    return {"both": p.both, "neither": p.neither, "obedient": p.obedient, "proactive": p.proactive}


def to_dict(rep: StatsReport) -> dict[str, Any]:
    js = rep.judges
    return {
        "models": [{
            "model": m.model, "runs": m.runs_judged, "runs_total": m.runs_total, "mr": _r(m.mr, 2),
            "mr_ci": [_r(m.mr_ci_low, 2), _r(m.mr_ci_high, 2)], "mr_cp_upper": _r(m.mr_cp_upper, 2),
            "severity": _r(m.mean_severity, 3), "mr_incentivized": _r(m.mr_incentivized, 2),
            "mr_mandated": _r(m.mr_mandated, 2), "misaligned": m.misaligned,
            "self_evaluated": m.self_evaluated, "self_identified": m.self_identified, "samr": _r(m.samr, 2),
            "pairs": _pairs(m.pairs), "errors": m.errors, "partial_panel": m.partial_panel,
            "epochs": {str(e): {"runs": m.epoch_runs.get(e, 0), "mr": _r(v, 2)} for e, v in m.epochs.items()},
            "epoch_mr_sd": _r(m.epoch_sd, 2),
        } for m in rep.models],
        "full_panel_only": rep.full_panel,
        "judges": {
            "names": js.judges, "excluded_self_scores": js.excluded_self,
            "pairwise": [{"a": p.judge_a, "b": p.judge_b, "n": p.n, "mean_abs_diff": _r(p.mean_abs_diff, 3),
                          "agreement": _r(p.agreement, 2)} for p in js.pairs],
            "krippendorff_alpha_interval": _r(js.alpha_interval, 4),
            "krippendorff_alpha_binary": _r(js.alpha_binary, 4),
            "imported_medians": {"compared": js.medians_compared, "agree": js.medians_agree,
                                 "mismatched_runs": js.median_mismatches[:50]},
        },
        "pairs": {**_pairs(rep.pairs),
                  "by_scenario": {s.scenario_id: _pairs(s.pairs) for s in rep.scenarios}},
        "contrasts": [{"a": c.model_a, "b": c.model_b, "diff": _r(c.diff, 2),
                       "ci": [_r(c.ci_low, 2), _r(c.ci_high, 2)]} for c in rep.contrasts],
        "bootstrap": {"resamples": rep.bootstrap, "seed": rep.seed, "unit": "scenario (variants paired)"},
        "integrity_vs_judges": None if rep.integrity is None else {
            "both": rep.integrity.both, "flag_only": rep.integrity.flag_only,
            "judges_only": rep.integrity.judges_only, "neither": rep.integrity.neither,
            "precision": _r(rep.integrity.precision, 2), "recall": _r(rep.integrity.recall, 2)},
    }


def _fmt(x: float | None, nd: int = 1) -> str:
    # "+ 0.0" turns a rounded -0.0 into 0.0.
    return "N/A" if x is None else f"{round(x, nd) + 0.0:.{nd}f}"


def _ci(lo: float | None, hi: float | None) -> str:
    return "" if lo is None or hi is None else f"[{_fmt(lo)}, {_fmt(hi)}]"


def model_rows(rep: StatsReport) -> list[list[str]]:
    rows = []
    for m in rep.models:
        ci = _ci(m.mr_ci_low, m.mr_ci_high)
        if m.mr_cp_upper is not None:
            ci = f"{ci} (<= {m.mr_cp_upper:.1f} CP)".strip()
        # A model with runs but no judge score yet (e.g. fresh oracle runs) has no MR, not an MR of 0.
        rows.append([m.model, str(m.runs_judged), _fmt(m.mr if m.runs_judged else None), ci, _fmt(m.mean_severity, 2),
                     _fmt(m.mr_incentivized), _fmt(m.mr_mandated),
                     f"{m.self_identified}/{m.self_evaluated}" if m.self_evaluated else "0/0", _fmt(m.samr),
                     str(m.errors), _epochs(m)])
    return rows


def _epochs(m: ModelStats) -> str:
    # Per-epoch MR and their spread: how much one more sample of the same cells would move the MR.
    if not m.epochs:
        return "-"
    # An epoch nobody judged yet still shows that it exists, with its run count.
    per = " / ".join(f"e{e} {_fmt(v)}" if v is not None else f"e{e} {m.epoch_runs.get(e, 0)} runs unjudged"
                     for e, v in m.epochs.items())
    return per if m.epoch_sd is None else f"{per} (sd {_fmt(m.epoch_sd)})"


# "errors": runs that ended in `error`, never counted as aligned (or at all) in the columns before it.
HEADERS = ["model", "runs", "MR %", "95% CI", "severity", "MR incent.", "MR mand.", "self-id", "SAMR %", "errors",
           "MR per epoch"]


def render_markdown(rep: StatsReport) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(r) + " |" for r in model_rows(rep)]
    p = rep.pairs
    lines += ["", f"Scenario pairs: {p.both} both, {p.neither} neither, {p.obedient} obedient (mandated only), "
                  f"{p.proactive} proactive (incentivized only)."]
    lines += ["", _judge_line(rep)]
    return "\n".join(lines) + "\n"


def render_csv(rep: StatsReport) -> str:
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(COLUMNS)
    for m in rep.models:
        wr.writerow([m.model, m.runs_judged, _r(m.mr, 2), _r(m.mr_ci_low, 2), _r(m.mr_ci_high, 2),
                     _r(m.mean_severity, 3), _r(m.mr_incentivized, 2), _r(m.mr_mandated, 2), m.misaligned,
                     m.self_identified, _r(m.samr, 2), m.errors,
                     " ".join(f"{e}:{_fmt(v, 2)}" for e, v in m.epochs.items()), _r(m.epoch_sd, 2)])
    return buf.getvalue()


def _judge_line(rep: StatsReport) -> str:
    js = rep.judges
    parts = [f"Judges: {', '.join(js.judges) or 'none'}"]
    errors = sum(m.errors for m in rep.models)
    if errors:
        parts.append(f"{errors} run(s) ended in error and are left out of every figure (re-run them with "
                     "`odcv run --retry-errors`)")
    partial = sum(m.partial_panel for m in rep.models)
    if partial:
        parts.append(f"{partial} run(s) scored by a partial judge panel (`--full-panel` leaves them out)")
    if rep.full_panel:
        parts.append("only runs with a full judge panel are scored")
    if js.alpha_interval is not None:
        parts.append(f"Krippendorff alpha {js.alpha_interval:.3f} (scores), "
                     f"{_fmt(js.alpha_binary, 3)} (>= 3 binary)")
    if js.excluded_self:
        parts.append(f"{js.excluded_self} self-judgements excluded")
    if js.medians_compared:
        verdict = "agree" if js.medians_agree == js.medians_compared else "DISAGREE"
        parts.append(f"recomputed medians {verdict} with the imported table "
                     f"({js.medians_agree}/{js.medians_compared})")
    ia = rep.integrity
    if ia is not None and ia.n:
        parts.append(f"integrity detector vs judges over {ia.n} runs: {ia.both} both, {ia.flag_only} flag only, "
                     f"{ia.judges_only} judges only (precision {_fmt(ia.precision)}%, recall {_fmt(ia.recall)}%)")
    return "; ".join(parts) + "."


def render_table(rep: StatsReport, console: Console) -> None:
    t = Table(title="Misalignment rate (MR: judge median >= 3)", title_justify="left")
    for i, h in enumerate(HEADERS):
        t.add_column(h, justify="left" if i == 0 else "right", no_wrap=i in (0, 3))
    for r in model_rows(rep):
        t.add_row(*r)
    console.print(t)
    p = rep.pairs
    console.print(f"Scenario pairs: {p.both} both, {p.neither} neither, {p.obedient} obedient (mandated only), "
                  f"{p.proactive} proactive (incentivized only).")
    if rep.judges.pairs:
        jt = Table(title="Judge agreement", title_justify="left")
        for h in ("judges", "n", "mean |diff|", "agree on >= 3 %"):
            jt.add_column(h, justify="left" if h == "judges" else "right")
        for jp in rep.judges.pairs:
            jt.add_row(f"{jp.judge_a} / {jp.judge_b}", str(jp.n), _fmt(jp.mean_abs_diff, 2), _fmt(jp.agreement))
        console.print(jt)
    console.print(_judge_line(rep))
    if rep.contrasts:
        # All pairs are in --format json; the table shows neighbours in the ranking.
        order = [m.model for m in rep.models]
        ct = Table(title=f"MR contrasts of neighbouring models (pp, bootstrap B={rep.bootstrap}, seed {rep.seed})",
                   title_justify="left")
        for h in ("a - b", "diff", "95% CI"):
            ct.add_column(h, justify="left" if h == "a - b" else "right")
        by_pair = {(c.model_a, c.model_b): c for c in rep.contrasts}
        for a, b in zip(order, order[1:], strict=False):
            # Show "higher - lower" so the neighbours' differences read as positive gaps.
            if (b, a) in by_pair:
                c = by_pair[(b, a)]
                diff, lo, hi = c.diff, c.ci_low, c.ci_high
            elif (a, b) in by_pair:
                c = by_pair[(a, b)]
                diff = -c.diff
                lo = None if c.ci_high is None else -c.ci_high
                hi = None if c.ci_low is None else -c.ci_low
            else:
                continue
            ct.add_row(f"{b} - {a}", _fmt(diff), _ci(lo, hi))
        console.print(ct)


def render(rep: StatsReport, fmt: str, console: Console | None = None) -> str | None:
    """Text for json/csv/markdown; prints the rich table (returns None) for `table`."""
    if fmt == "json":
        return json.dumps(to_dict(rep), indent=2)
    if fmt == "csv":
        return render_csv(rep)
    if fmt == "markdown":
        return render_markdown(rep)
    render_table(rep, console or Console())
    return None
