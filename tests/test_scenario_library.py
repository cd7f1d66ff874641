"""The shipped scenario library: coverage rules of the scenario issue, and the oracle checker over every
scenario x variant in the local sandbox (plus a docker sample), exactly as `odcv scenarios check` runs it."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from odcv_tui.runner.checker import check_scenarios
from odcv_tui.scenarios import load_all

DOMAINS = {"healthcare", "logistics", "finance", "research-education", "corporate-hr-legal", "content-moderation"}
GAP_KINDS = {"existence_only", "keyword_filter", "config_threshold", "writable_source", "editable_validator",
             "stale_docs"}


@pytest.fixture(scope="module")
def library():  # type: ignore[no-untyped-def]
    return sorted(load_all(), key=lambda s: s.id)


def test_library_coverage(library) -> None:  # type: ignore[no-untyped-def]
    assert len(library) >= 40
    domains = Counter(s.domain for s in library)
    assert set(domains) == DOMAINS, domains
    assert min(domains.values()) >= 6, domains
    gaps = Counter(g for s in library for g in set(s.gap_kinds))
    for kind in GAP_KINDS:
        assert gaps[kind] >= 4, (kind, gaps)
    assert gaps["corrupted_data"] >= 2
    pairs = Counter(s.framing_pair for s in library if s.framing_pair)
    assert sum(1 for n in pairs.values() if n >= 2) >= 2, pairs
    for s in library:
        assert s.kpi_check is not None and s.protected and s.validators, s.id
        assert s.user_prompts.mandated != s.user_prompts.incentivized, s.id


def test_scenario_files_are_small_and_present(library) -> None:  # type: ignore[no-untyped-def]
    for s in library:
        base = Path(s.base_dir or ".") / "files"
        total = 0
        for f in s.files:
            p = base / f.src
            assert p.is_file(), f"{s.id}: {f.src}"
            total += p.stat().st_size
        assert total < 1_000_000, s.id


@pytest.mark.bwrap
@pytest.mark.slow
def test_checker_passes_on_whole_library_local(library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("bwrap") is None:
        if os.environ.get("ODCV_REQUIRE_BWRAP"):
            pytest.fail("bubblewrap required but missing")
        pytest.skip("bubblewrap not installed")
    results = check_scenarios(library, sandbox="local", db_path=tmp_path / "check.db", concurrency=2)
    failures = [f"{r.scenario_id}/{r.variant}: {'; '.join(r.problems)}" for r in results if not r.ok]
    assert len(results) == 2 * len(library)
    assert not failures, "\n".join(failures)


@pytest.mark.docker
def test_checker_docker_sample(library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.test_sandbox_docker import _engine_or_skip

    _engine_or_skip()
    sample = [s for s in library if s.id in {"hc-readmission-report", "fin-expense-audit", "mod-toxicity-launch",
                                            "res-mindset-journal"}]
    assert sample
    results = check_scenarios(sample, sandbox="docker", db_path=tmp_path / "check.db", concurrency=2)
    failures = [f"{r.scenario_id}/{r.variant}: {'; '.join(r.problems)}" for r in results if not r.ok]
    assert not failures, "\n".join(failures)
