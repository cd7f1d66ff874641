"""The judge panel: several LLM judges over many runs, with a verdict cache, a concurrency limit,
self-exclusion (a judge never scores its own model), self-evaluation, and the panel median.

`judge_runs` is what both `odcv judge` and the TUI call. Model calls run in worker threads; every
database read and write happens on the calling thread, so one SQLite connection suffices and each
verdict is persisted before `on_verdict` hears about it."""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

from odcv_tui.core.errors import InputError, OdcvError
from odcv_tui.core.judges import DEFAULT_JUDGE_MODELS, is_self_judgement, judge_model
from odcv_tui.core.types import MISALIGNED_THRESHOLD, RunRecord, Verdict
from odcv_tui.judge.integrity_fill import fill_integrity, stored_scenario
from odcv_tui.judge.llm_judge import Completer, JudgeSettings, JudgeSpec, cache_key, judge_one
from odcv_tui.judge.rubric import Rubric, load_rubric
from odcv_tui.llm.settings import ModelOptions
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from odcv_tui.storage import writes as w

# litellm routes for the default judges (DEFAULT_JUDGE_MODELS names the models; the provider prefix
# tells litellm where to send the call). Override with `--judge NAME=provider/model`.
DEFAULT_ROUTES: dict[str, str] = {
    "claude47": "anthropic/claude-opus-4.7",
    "gpt55": "openai/gpt-5.5",
    "grok": "xai/grok-4.20",
    "gemini": "gemini/gemini-3.1-pro-preview",
}
# Runs by these models were not produced by an LLM, so there is nothing to self-evaluate.
_NOT_LLM = re.compile(r"^(oracle|scripted)/")

Status = Literal["new", "cached", "failed", "skipped"]
# After this many consecutive provider failures (each already retried) a judge's remaining jobs fail at
# once: an outage or a bad key should not cost minutes of backoff per run.
CIRCUIT_BREAK = 5


@dataclass
class JudgeOutcome:
    run_id: str
    judge: str
    kind: str
    status: Status
    verdict: Verdict | None = None  # None only when skipped
    note: str = ""


@dataclass
class JudgeReport:
    outcomes: list[JudgeOutcome] = field(default_factory=list)
    integrity_added: int = 0
    calls: int = 0  # model calls made (0 on a fully cached re-run)
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def tokens(self) -> int:
        return sum(o.verdict.tokens for o in self.outcomes if o.verdict and o.status in ("new", "failed"))

    @property
    def cost(self) -> float:
        return sum(o.verdict.cost for o in self.outcomes if o.verdict and o.status in ("new", "failed"))


def parse_judge(text: str) -> JudgeSpec:
    """`gpt55` (a default judge), `NAME=provider/model`, or a bare litellm route used as its own name."""
    name, sep, route = text.partition("=")
    name, route = name.strip(), route.strip()
    if sep:
        if not name or not route:
            raise InputError("--judge", text, "expected NAME=provider/model")
        return JudgeSpec(name=name, model=route)
    if not name:
        raise InputError("--judge", text, "empty judge")
    return JudgeSpec(name=name, model=DEFAULT_ROUTES.get(name, name))


def default_judges() -> list[JudgeSpec]:
    return [JudgeSpec(name=n, model=DEFAULT_ROUTES.get(n, m)) for n, m in DEFAULT_JUDGE_MODELS.items()]


def _norm(model: str) -> str:
    return re.sub(r"[^a-z0-9]", "", model.rsplit("/", 1)[-1].lower())


def is_own_model(judge: str, run_model: str, route: str | None = None,
                 overrides: Mapping[str, str] | None = None) -> bool:
    """The paper's self-exclusion: the judge's configured model (core.judges map), its default route or
    the route actually called is the run's model. Punctuation and provider prefixes are ignored, so
    `anthropic/claude-opus-4-7` and `claude-opus-4.7` are one model."""
    if is_self_judgement(judge, run_model, overrides):
        return True
    names = [route, (overrides or {}).get(judge), DEFAULT_ROUTES.get(judge), judge_model(judge, overrides)]
    return any(n and _norm(n) == _norm(run_model) for n in names)


def panel_median(verdicts: Iterable[Verdict], run_model: str,
                 overrides: Mapping[str, str] | None = None) -> tuple[float | None, int]:
    """(median, n) over `llm` scores, excluding failures and any judge of the run's own model."""
    scores = [v.score for v in verdicts
              if v.kind == "llm" and v.score is not None
              and not is_own_model(v.judge, run_model, overrides=overrides)]
    return (float(statistics.median(scores)) if scores else None), len(scores)


def is_misaligned(median: float | None) -> bool | None:
    return None if median is None else median >= MISALIGNED_THRESHOLD


def missing_keys(specs: Iterable[JudgeSpec], options: ModelOptions | None = None) -> dict[str, str]:
    """{model route: reason} for each judge model that cannot be called from this environment (no key
    set, unknown provider). Only whether variables are set is read, never their values."""
    from odcv_tui.llm.complete import missing_key  # litellm only when judging for real

    out: dict[str, str] = {}
    for spec in specs:
        if spec.model not in out:
            out[spec.model] = missing_key(spec.model, options.for_model(spec.model) if options else None) or ""
    return {m: r for m, r in out.items() if r}


def _self_spec(run: RunRecord, routes: Mapping[str, str]) -> JudgeSpec | None:
    if _NOT_LLM.match(run.model):
        return None
    return JudgeSpec(name=run.model, model=routes.get(run.model, run.model), kind="self")


def judge_runs(db_path: str | Path, run_ids: Iterable[str], judges: Iterable[JudgeSpec] | None = None, *,
               rubric: Rubric | str | Path | None = None, self_eval: bool = False, concurrency: int = 4,
               on_verdict: Callable[[JudgeOutcome], None] | None = None,
               completer_factory: Callable[[JudgeSpec], Completer] | None = None,
               settings: JudgeSettings | None = None, cancel: threading.Event | None = None,
               self_routes: Mapping[str, str] | None = None, integrity: bool = True,
               model_options: ModelOptions | None = None) -> JudgeReport:
    """Judge `run_ids` with `judges` (default: the four paper judges) or, with `self_eval`, each run's
    own model (kind `self`). Cached verdicts (same trajectory+diffs, judge model, rubric) cost nothing.
    Missing integrity verdicts are computed first (instant, no LLM), so they exist even when no judge
    can be called. Without `completer_factory` the real providers are used, and a judge lacking an API
    key stops the whole call with one OdcvError line before any call is made."""
    t0 = time.monotonic()
    rb = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    specs = list(judges) if judges is not None else ([] if self_eval else default_judges())
    cancel = cancel or threading.Event()
    report = JudgeReport()
    db = open_db(db_path, recover=False)
    try:
        runs = [_load_run(db, rid) for rid in dict.fromkeys(run_ids)]
        if integrity:
            report.integrity_added = fill_integrity(db, [r.id for r in runs], replace_inferred=False)
        plan: list[tuple[RunRecord, JudgeSpec]] = []
        for run in runs:
            if self_eval:
                spec = _self_spec(run, self_routes or {})
                if spec is None:
                    _emit(report, on_verdict, JudgeOutcome(run.id, run.model, "self", "skipped",
                                                           note="not an LLM run"))
                    continue
                plan.append((run, spec))
            for spec in ([] if self_eval else specs):
                if is_own_model(spec.name, run.model, route=spec.model):
                    _emit(report, on_verdict, JudgeOutcome(run.id, spec.name, spec.kind, "skipped",
                                                           note="judge is the run's own model"))
                    continue
                plan.append((run, spec))
        if completer_factory is None:
            bad = missing_keys((s for _, s in plan), model_options)
            if bad and _needs_calls(db, plan, rb, set(bad)):
                first = next(s for _, s in plan if s.model in bad)
                have = db.execute(f"SELECT COUNT(DISTINCT run_id) FROM verdicts WHERE kind='integrity' AND run_id "
                                  f"IN ({','.join('?' * len(runs))})", [r.id for r in runs]).fetchone()[0]
                raise OdcvError(f"cannot call judge {first.name} ({first.model}): {bad[first.model]}"
                                + (f" (+{len(bad) - 1} more)" if len(bad) > 1 else "")
                                + f"; integrity verdicts are stored for {have} of {len(runs)} run(s)")
            completer_factory = partial(_litellm_completer, options=model_options)
        runner = _Plan(db, rb, completer_factory, settings, max(1, concurrency), report, on_verdict)
        runner.run(plan, cancel)
        _record_panel_size(db, [r.id for r in runs])
        report.calls = sum(int(getattr(c, "calls", 0)) for c in runner.completers.values())
    finally:
        db.conn.close()
    report.seconds = time.monotonic() - t0
    return report


class _Plan:
    """Runs the plan with at most `concurrency` calls in flight. Jobs with the same cache key as one in
    flight (identical trajectories in one batch, e.g. oracle runs) wait for it and are then copied, so
    a batch never pays twice for the same content."""

    def __init__(self, db, rb: Rubric, factory: Callable[[JudgeSpec], Completer],  # type: ignore[no-untyped-def]
                 settings: JudgeSettings | None, concurrency: int, report: JudgeReport,
                 on_verdict: Callable[[JudgeOutcome], None] | None) -> None:
        self.db, self.rb, self.factory, self.settings = db, rb, factory, settings
        self.concurrency, self.report, self.on_verdict = concurrency, report, on_verdict
        self.completers: dict[str, Completer] = {}
        self.pending: dict[Future[Verdict], tuple[RunRecord, JudgeSpec, str]] = {}
        self.inflight: set[str] = set()
        self.waiting: dict[str, list[tuple]] = {}
        self.provider_failures: dict[str, int] = {}  # consecutive, per judge

    def run(self, plan: list[tuple[RunRecord, JudgeSpec]], cancel: threading.Event) -> None:
        self.cancel = cancel  # judge_one polls it, so a cancel never waits for a hung request
        loaded: dict[str, tuple] = {}
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="judge") as self.pool:
            for run, spec in plan:
                if cancel.is_set():
                    break
                if run.id not in loaded:
                    loaded.clear()  # one run's steps in memory at a time (plans are run-major)
                    loaded[run.id] = (q.get_steps(self.db, run.id), q.get_file_changes(self.db, run.id),
                                      stored_scenario(self.db, run.scenario_id))
                job = (run, spec, *loaded[run.id], cache_key(*loaded[run.id][:2], spec.model, self.rb))
                self._start(job)
                self._drain(self.concurrency * 2)  # bounded backlog: write results while later runs load
            if cancel.is_set():
                for fut in list(self.pending):
                    if fut.cancel():
                        self.inflight.discard(self.pending.pop(fut)[2])
                self.waiting.clear()
            self._drain(0)

    def _start(self, job: tuple) -> None:
        run, spec, steps, changes, scenario, key = job
        hit = _cached(self.db, run.id, spec, key)
        if hit is not None:
            _emit(self.report, self.on_verdict, JudgeOutcome(run.id, spec.name, spec.kind, "cached", hit))
            return
        if key in self.inflight:
            self.waiting.setdefault(key, []).append(job)
            return
        ckey = f"{spec.name}|{spec.model}"
        if self.provider_failures.get(ckey, 0) >= CIRCUIT_BREAK:
            v = Verdict(run_id=run.id, judge=spec.name, kind=spec.kind, rubric_version=self.rb.key,
                        cache_key=key, error=f"provider: not called after {CIRCUIT_BREAK} consecutive "
                                             "provider failures of this judge")
            w.add_verdict(self.db, v)
            _emit(self.report, self.on_verdict, JudgeOutcome(run.id, spec.name, spec.kind, "failed", v))
            return
        if ckey not in self.completers:
            self.completers[ckey] = self.factory(spec)
        fut = self.pool.submit(judge_one, run, steps, changes, self.rb, spec, self.completers[ckey],
                               scenario=scenario, settings=self.settings, cancelled=self.cancel.is_set)
        self.pending[fut] = (run, spec, key)
        self.inflight.add(key)

    def _drain(self, block_until: int) -> None:
        while len(self.pending) > block_until:
            done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
            for fut in done:
                run, spec, key = self.pending.pop(fut)
                self.inflight.discard(key)
                exc = fut.exception()
                v = fut.result() if exc is None else Verdict(
                    run_id=run.id, judge=spec.name, kind=spec.kind, rubric_version=self.rb.key,
                    error=f"internal: {type(exc).__name__}: {exc}")
                w.add_verdict(self.db, v)
                ckey = f"{spec.name}|{spec.model}"
                broken = (v.error or "").startswith("provider:")
                self.provider_failures[ckey] = self.provider_failures.get(ckey, 0) + 1 if broken else 0
                _emit(self.report, self.on_verdict, JudgeOutcome(
                    v.run_id, v.judge, v.kind, "new" if v.score is not None else "failed", v))
                # A success is copied to the waiters; after a failure the next waiter tries itself.
                for job in self.waiting.pop(key, []):
                    self._start(job)


def _record_panel_size(db, run_ids: list[str]) -> None:  # type: ignore[no-untyped-def]
    # runs.panel_size = LLM judges asked so far (a failed judge leaves an error row), next to
    # runs.judge_count = scores got: a partial panel is visible and `odcv stats --full-panel` can drop it.
    with db.conn:
        db.conn.executemany("UPDATE runs SET panel_size = (SELECT COUNT(DISTINCT judge) FROM verdicts "
                            "WHERE verdicts.run_id = runs.id AND kind = 'llm') WHERE id = ?", [[r] for r in run_ids])


def _needs_calls(db, plan: list[tuple[RunRecord, JudgeSpec]], rb: Rubric,  # type: ignore[no-untyped-def]
                 models: set[str]) -> bool:
    """Whether any job for these judge models misses the cache (a fully cached re-run needs no key)."""
    for run, spec in plan:
        if spec.model not in models:
            continue
        key = cache_key(q.get_steps(db, run.id), q.get_file_changes(db, run.id), spec.model, rb)
        if db.execute("SELECT 1 FROM verdicts WHERE cache_key=? AND score IS NOT NULL AND kind IN ('llm', 'self')",
                      [key]).fetchone() is None:
            return True
    return False


def _cached(db, run_id: str, spec: JudgeSpec, key: str) -> Verdict | None:  # type: ignore[no-untyped-def]
    """An existing good verdict with this key: this run's own (nothing to do), or another run's with the
    same content (copied, costing nothing; tokens/cost stay with the verdict that paid for them)."""
    own = db.execute("SELECT cache_key FROM verdicts WHERE run_id=? AND judge=? AND kind=? AND score IS NOT NULL",
                     [run_id, spec.name, spec.kind]).fetchone()
    if own is not None and own[0] == key:
        return next(v for v in q.get_verdicts(db, run_id) if v.judge == spec.name and v.kind == spec.kind)
    row = db.execute("SELECT run_id, judge, kind FROM verdicts WHERE cache_key=? AND score IS NOT NULL "
                     "AND kind IN ('llm', 'self') LIMIT 1", [key]).fetchone()
    if row is None:
        return None
    src = next(v for v in q.get_verdicts(db, row[0]) if v.judge == row[1] and v.kind == row[2])
    copy = src.model_copy(update={"run_id": run_id, "judge": spec.name, "kind": spec.kind, "tokens": 0,
                                  "cost": 0.0, "reasoning": src.reasoning + f" [cached from run {row[0]}]"})
    w.add_verdict(db, copy)
    return copy


def _emit(report: JudgeReport, cb: Callable[[JudgeOutcome], None] | None, outcome: JudgeOutcome) -> None:
    report.outcomes.append(outcome)
    if cb is not None:
        try:
            cb(outcome)
        except Exception:  # noqa: BLE001 - a broken listener (e.g. a closed TUI pane) must not stop judging
            pass


def _load_run(db, run_id: str) -> RunRecord:  # type: ignore[no-untyped-def]
    run = q.get_run(db, run_id)
    if run is None:
        raise InputError("--runs", run_id, "no such run in the database")
    return run


def _litellm_completer(spec: JudgeSpec, options: ModelOptions | None = None) -> Completer:
    from odcv_tui.llm.complete import LiteLLMCompleter

    # Per-model settings are looked up by route (`--model-option openai/x api_base=...`) or judge name.
    settings = None
    if options is not None:
        settings = options.for_model(spec.model if spec.model in options.per_model else spec.name)
    return LiteLLMCompleter(spec.model, settings=settings)


def scripted_completers(scripts: Mapping[str, list]) -> Callable[[JudgeSpec], Completer]:
    """A factory of LiteLLMCompleters driven by litellm's mock kwargs, keyed by judge name or route:
    the real completion path, offline (tests, demos, `odcv judge --mock-replies`). A plain string
    item is shorthand for {"mock_response": item}."""
    from odcv_tui.llm.complete import LiteLLMCompleter

    def make(spec: JudgeSpec) -> Completer:
        items = scripts.get(spec.name, scripts.get(spec.model, []))
        script = [{"mock_response": i} if isinstance(i, str) else dict(i) for i in items]
        return LiteLLMCompleter(spec.model, script=script)

    return make
