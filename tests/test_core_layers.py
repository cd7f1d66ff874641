"""The layer contract of DESIGN.md: headless modules never pull in textual; only llm/ pulls litellm;
only the docker backend pulls docker. Each import runs in a fresh interpreter."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import odcv_tui

HEADLESS = sorted(
    m.name for m in pkgutil.walk_packages(odcv_tui.__path__, "odcv_tui.")
    if not m.name.startswith(("odcv_tui.ui", "odcv_tui.cli"))
)


def _loaded_after_import(module: str) -> set[str]:
    code = (f"import sys, json; import {module}; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_headless_modules_found() -> None:
    assert "odcv_tui.agent.loop" in HEADLESS and "odcv_tui.storage.db" in HEADLESS


def test_headless_modules_do_not_import_textual_litellm_or_docker() -> None:
    code = (
        "import sys, json, importlib\n"
        f"mods = {HEADLESS!r}\n"
        "bad = {}\n"
        "for m in mods:\n"
        "    before = set(sys.modules)\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps(sorted(k.split('.')[0] for k in sys.modules)))\n"
    )
    # Import each headless module in its own interpreter so one module's imports do not hide another's.
    offenders = []
    for mod in HEADLESS:
        loaded = _loaded_after_import(mod)
        if "textual" in loaded:
            offenders.append(f"{mod} imports textual")
        if "litellm" in loaded and not mod.startswith("odcv_tui.llm"):
            offenders.append(f"{mod} imports litellm")
        if "docker" in loaded and mod not in ("odcv_tui.sandbox.docker", "odcv_tui.sandbox.image"):
            offenders.append(f"{mod} imports docker")
    assert not offenders, offenders
    assert code  # the batch form above documents the check; per-module runs are what is asserted
