"""Schema and migrations. `schema_version` holds the number of migrations applied; each migration is
a function appended to MIGRATIONS and never edited once released."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]


def _v1_initial(db: sqlite_utils.Database) -> None:
    db["scenarios"].create(
        {"id": str, "domain": str, "title": str, "content_hash": str, "source": str, "path": str,
         "gap_kinds": str, "data": str},
        pk="id",
    )
    db["runs"].create(
        {"id": str, "scenario_id": str, "variant": str, "model": str, "sandbox": str, "status": str,
         "source": str, "source_set": str, "started": str, "ended": str, "steps": int,
         "model_calls": int, "tokens": int, "cost": float, "error": str, "trajectory_hash": str,
         # Denormalised summaries refreshed on every verdict/label write, so the Runs table of
         # 100k rows never has to aggregate on scroll.
         "judge_median": float, "judge_count": int, "integrity_flag": int, "self_score": float,
         "label_codes": str, "domain": str},
        pk="id",
    )
    for cols in (["model"], ["scenario_id", "variant"], ["status"], ["started"], ["judge_median"],
                 ["source"]):
        db["runs"].create_index(cols)
    db["steps"].create(
        {"run_id": str, "idx": int, "role": str, "content": str, "reasoning": str, "tool_calls": str,
         "tool_call_id": str, "command": str, "stdout": str, "stderr": str, "exit_code": int,
         "duration": float, "tokens_in": int, "tokens_out": int, "cost": float, "note": str,
         "created": str},
        pk=("run_id", "idx"),
    )
    db["steps"].enable_fts(["content", "reasoning", "command", "stdout", "stderr"],
                           create_triggers=True, tokenize="porter")
    db["file_changes"].create(
        {"id": int, "run_id": str, "step_idx": int, "path": str, "kind": str, "diff": str,
         "sha_before": str, "sha_after": str, "binary": int, "protected": int, "source": str},
        pk="id",
    )
    db["file_changes"].create_index(["run_id", "step_idx"])
    db["verdicts"].create(
        {"id": int, "run_id": str, "judge": str, "kind": str, "score": float, "reasoning": str,
         "cited_steps": str, "rubric_version": str, "error": str, "tokens": int, "cost": float,
         "cache_key": str, "created": str},
        pk="id",
    )
    db["verdicts"].create_index(["run_id"])
    db["verdicts"].create_index(["cache_key"])
    db["verdicts"].create_index(["run_id", "judge", "kind"], unique=True)
    db["labels"].create(
        {"id": int, "run_id": str, "labeler": str, "archetypes": str, "note": str, "cited_steps": str,
         "codebook_version": str, "trajectory_hash": str, "adjudicated": int, "created": str,
         "updated": str},
        pk="id",
    )
    db["labels"].create_index(["run_id", "labeler", "adjudicated"], unique=True)


def _v2_replays(db: sqlite_utils.Database) -> None:
    # Re-execution of a stored trajectory (upstream logs carry no file changes): what our sandbox
    # printed for each recorded command, and whether it diverged from what was recorded.
    db["replays"].create(
        {"run_id": str, "step_idx": int, "command": str, "stdout": str, "stderr": str, "exit_code": int,
         "diverged": int, "detail": str, "sandbox": str, "created": str},
        pk=("run_id", "step_idx"),
    )


def _v3_label_codebook_hashes(db: sqlite_utils.Database) -> None:
    # Per-archetype definition hashes of the codebook a label was made under (JSON {key: hash}), so a
    # label goes stale when an archetype's definition changes, not on every version bump.
    db.execute("ALTER TABLE labels ADD COLUMN codebook_hashes TEXT")


def _v4_provenance_sweeps_forks(db: sqlite_utils.Database) -> None:
    # One migration for this round's columns so parallel work never races on schema numbers:
    # provenance of live runs (protocol profile, endpoint host, model args, versions, image id),
    # sweep membership and epochs, fork links, the judge panel size a run was meant to have, and
    # the divergence class of each replayed command.
    for col, typ in (("protocol", "TEXT"), ("provenance", "TEXT"), ("epoch", "INTEGER"),
                     ("sweep_id", "TEXT"), ("parent_run_id", "TEXT"), ("fork_step", "INTEGER"),
                     ("fork_edits", "TEXT"), ("panel_size", "INTEGER")):
        db.execute(f"ALTER TABLE runs ADD COLUMN {col} {typ}")
    db["runs"].create_index(["sweep_id"])
    db["runs"].create_index(["parent_run_id"])
    db.execute("ALTER TABLE replays ADD COLUMN divergence_class TEXT")
    db["sweeps"].create(
        {"id": str, "spec": str, "status": str, "created": str, "updated": str, "summary": str},
        pk="id",
    )


MIGRATIONS: list[Migration] = [_v1_initial, _v2_replays, _v3_label_codebook_hashes,
                               _v4_provenance_sweeps_forks]
SCHEMA_VERSION = len(MIGRATIONS)
