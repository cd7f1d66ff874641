"""Convert the authors' ODCV-Bench scenario folders (`mandated_scenarios/<Name>/` and
`incentivized_scenarios/<Name>/`, each with prompt.json + Dockerfile + files) into our scenarios.

Nothing is written into this repository: the output folder is the user's choice."""

from __future__ import annotations

import json
import posixpath
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from odcv_tui.core.errors import InputError
from odcv_tui.core.scenario import Scenario
from odcv_tui.scenarios.dockerfile import DockerPlan, logical_lines, read_dockerfile
from odcv_tui.scenarios.domains import guess_domain
from odcv_tui.scenarios.loader import load_scenario

VARIANT_DIRS = {"mandated": "mandated_scenarios", "incentivized": "incentivized_scenarios"}
HARNESS_ZIP = "orchestrator_api.zip"
REPORT_NAME = "CONVERSION.txt"
VALIDATOR_NAME = re.compile(r"(valid|check|verif|audit|score|eval|report|metric|test)", re.I)


@dataclass
class Converted:
    scenario: Scenario
    path: Path
    warnings: list[str] = field(default_factory=list)


def variant_roots(src: Path) -> dict[str, Path]:
    """Accept the repository root or either variant folder (its sibling is found next to it)."""
    if src.name in VARIANT_DIRS.values():
        src = src.parent
    found = {v: src / d for v, d in VARIANT_DIRS.items() if (src / d).is_dir()}
    if not found:
        raise InputError(str(src), None, "no mandated_scenarios/ or incentivized_scenarios/ folder here")
    return found


def _prompt(folder: Path) -> dict[str, str]:
    path = folder / "prompt.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(str(path), None, "file not found") from exc
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"line {exc.lineno}", f"invalid JSON: {exc.msg}") from exc
    for key in ("system_prompt", "user_prompt"):
        if not isinstance(data.get(key), str):
            raise InputError(str(path), key, "missing or not a string")
    return data


def _roots(plan: DockerPlan, extra: list[str] | None = None) -> list[str]:
    """The workdir plus the folder of every copied file outside it; never a system root like /etc
    whole (binding over it would hide the sandbox's own system files)."""
    wanted = {plan.workdir} | {posixpath.dirname(c.dest) for c in plan.copies} | set(plan.dirs)
    wanted |= {posixpath.dirname(d) for d in extra or []}
    wanted = {w for w in wanted if w not in ("/", "/usr", "/etc", "/bin", "/lib", "/var", "/tmp")}
    roots: list[str] = []
    for w in sorted(wanted, key=len):
        if not any(w == r or w.startswith(r.rstrip("/") + "/") for r in roots):
            roots.append(w)
    return roots or ["/app"]


def unpack_harness(src: Path, out_dir: Path) -> Path | None:
    """Unpack the authors' orchestrator_api.zip (next to the variant folders) into out_dir/_harness and return
    the folder holding task_executor_api.py, or None when there is no zip."""
    if src.name in VARIANT_DIRS.values():
        src = src.parent
    archive = src / HARNESS_ZIP
    if not archive.is_file():
        return None
    target = out_dir / "_harness"
    if target.exists():
        shutil.rmtree(target)
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                parts = Path(info.filename).parts
                if info.is_dir() or info.filename.startswith("/") or ".." in parts:
                    continue  # never write outside target
                dest = target.joinpath(*parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(zf.read(info))
    except zipfile.BadZipFile as exc:
        raise InputError(str(archive), None, f"not a zip file: {exc}") from exc
    found = sorted(target.rglob("task_executor_api.py"))
    return found[0].parent if found else target


PIP_FLASK_SCRIPT = """#!/usr/bin/python3
# -*- coding: utf-8 -*-
import re
import sys
from flask.cli import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def _requires_flask(plan: DockerPlan) -> bool:
    reqs = [c.src for c in plan.copies if c.src.name == "requirements.txt"]
    return any(re.search(r"(?im)^\s*flask\b", r.read_text("utf-8", "replace")) for r in reqs)


def _shebang(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"#!"


def _report(name: str, plan: DockerPlan, warnings: list[str]) -> str:
    lines = [f"Conversion of upstream scenario {name}", f"workdir: {plan.workdir}",
             f"files placed: {len(plan.copies)}", f"setup commands kept: {len(plan.setup)}"]
    lines += ["not honoured:"] + [f"  - {x}" for x in warnings] if warnings else ["not honoured: nothing"]
    return "\n".join(lines) + "\n"


def _refuse_outside_sources(dockerfile: Path, plan: DockerPlan) -> None:
    """COPY/ADD may only read inside the scenario folder (or the unpacked harness): a `..` source or a symlink
    leading out would copy host files (/etc/shadow, ~/.ssh) into every sandbox and into runs.db."""
    for no, line in logical_lines(dockerfile.read_text(encoding="utf-8", errors="replace")):
        instr, _, rest = line.partition(" ")
        if instr.upper() in ("COPY", "ADD"):
            for src in [a for a in rest.replace(",", " ").split() if not a.startswith("--")][:-1]:
                if ".." in PurePosixPath(src.strip('"[]')).parts:
                    raise InputError(str(dockerfile), f"line {no}", f"COPY source {src.strip(chr(34) + '[]')} leaves "
                                                                    "the scenario folder ('..')")
    allowed = [dockerfile.parent.resolve()] + ([plan.harness.resolve()] if plan.harness else [])
    for c in plan.copies:
        if not any(c.src.resolve().is_relative_to(a) for a in allowed):
            raise InputError(str(dockerfile), "COPY", f"{c.src} resolves outside the scenario folder (a symlink?)")


def convert_one(name: str, folders: dict[str, Path], out_dir: Path, domain: str = "unknown",
                harness: Path | None = None) -> Converted:
    prompts = {v: _prompt(f) for v, f in folders.items()}
    base = folders.get("mandated") or folders["incentivized"]
    dockerfile = base / "Dockerfile"
    if not dockerfile.is_file():
        raise InputError(str(dockerfile), None, "file not found")
    plan = read_dockerfile(dockerfile, harness)
    _refuse_outside_sources(dockerfile, plan)
    warnings = list(plan.warnings)
    if len(folders) < 2:
        warnings.append(f"only the {next(iter(folders))} variant exists; the other reuses its prompt")
    elif (folders["mandated"] / "Dockerfile").read_bytes() != (folders["incentivized"] / "Dockerfile").read_bytes():
        warnings.append("the variants' Dockerfiles differ; the mandated one was used")
    sid = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
    target = out_dir / sid
    if target.exists():
        shutil.rmtree(target)
    files_dir = target / "files"
    mappings = []
    for i, c in enumerate(plan.copies):
        rel = f"{i:03d}_{c.src.name}"
        (files_dir).mkdir(parents=True, exist_ok=True)
        shutil.copy2(c.src, files_dir / rel)
        mappings.append({"src": rel, "dest": c.dest, "mode": c.mode})
    # Scripts are programs: in /usr/local/bin, named .sh/.py, or starting with #!. An executable bit alone is
    # not enough (the authors' checkout marks reports and logs executable: /app/hospital_board_report.md).
    if plan.pip_requirements and _requires_flask(plan):
        # What `pip3 install flask` writes on the authors' image (Debian's python3-flask puts it in /usr/bin):
        # the byte-identical console-script wrapper, as their runs show with `ls -la`/`cat /usr/local/bin/flask`.
        (files_dir).mkdir(parents=True, exist_ok=True)
        rel = f"{len(mappings):03d}_flask"
        (files_dir / rel).write_text(PIP_FLASK_SCRIPT, encoding="utf-8")
        mappings.append({"src": rel, "dest": "/usr/local/bin/flask", "mode": 0o755})
    scripts = [c.dest for c in plan.copies
               if c.dest.startswith("/usr/local/bin/") or c.src.suffix in (".sh", ".py") or _shebang(c.src)]
    validators = sorted({s for s in scripts if s.startswith("/usr/local/bin/") or VALIDATOR_NAME.search(s)})
    system = prompts.get("mandated", prompts.get("incentivized", {}))["system_prompt"]
    user = {v: prompts.get(v, next(iter(prompts.values())))["user_prompt"] for v in VARIANT_DIRS}
    first = validators[0] if validators else None
    data = {
        "id": sid, "title": name.replace("-", " "), "domain": domain, "gap_kinds": ["unknown"],
        "source": f"upstream:{name}", "system_prompt": system,
        "user_prompts": user, "kpi": "as stated in the user prompt (upstream scenario)",
        "workdir": plan.workdir if plan.workdir != "/" else "/app", "roots": _roots(plan, [m["dest"] for m in mappings]),
        "files": mappings, "protected": validators, "validators": validators, "setup": plan.setup,
        # Generic oracles: the honest one looks around and runs nothing destructive; the exploit one
        # tampers with a validator, so the integrity detector has something to catch.
        "oracle": {
            "honest": [f"ls -la {plan.workdir}"] + ([f"head -n 40 {first}"] if first else []),
            "exploit": [f"ls -la {plan.workdir}"] + ([f"printf '\\nexit 0\\n' >> {first}"] if first else
                                                     ["true"]),
        },
    }
    target.mkdir(parents=True, exist_ok=True)
    (target / REPORT_NAME).write_text(_report(name, plan, warnings), encoding="utf-8")
    (target / "scenario.yaml").write_text(
        f"# Converted from the upstream ODCV-Bench scenario {name} (MIT, McGill-DMaS/ODCV-Bench).\n"
        + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
    return Converted(load_scenario(target), target, warnings)


def convert_all(src: Path, out_dir: Path, domain_map: dict[str, str] | None = None) -> list[Converted]:
    roots = variant_roots(src)
    names = sorted({p.name for r in roots.values() for p in r.iterdir() if p.is_dir()})
    out_dir.mkdir(parents=True, exist_ok=True)
    harness = unpack_harness(src, out_dir)
    results = []
    for name in names:
        folders = {v: r / name for v, r in roots.items() if (r / name).is_dir()}
        results.append(convert_one(name, folders, out_dir, (domain_map or {}).get(name) or guess_domain(name),
                                   harness))
    return results
