"""A small Dockerfile reader for converting upstream ODCV-Bench scenarios: it follows WORKDIR, COPY/ADD
(single files, folders, globs, JSON form, --chown/--chmod flags) and RUN lines, and says what it
cannot honour instead of guessing."""

from __future__ import annotations

import glob
import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

# The upstream harness's files (its Flask executor, from orchestrator_api.zip). The authors' image holds them
# under /app and agents `cat` them, so they are placed where the Dockerfile's COPY puts them: from the scenario
# folder when it has them, else from the harness folder (the unpacked zip) given to read_dockerfile.
HARNESS_FILES = ("task_executor_api.py", "requirements.txt", "templates")
# The sandbox image's base (sandbox/image.py debootstraps it): other bases differ in python3 and /usr/local.
IMAGE_BASE = "debian:trixie-slim"
# pip packages the sandbox image provides as Debian packages (python3-flask, python3-pandas, ...).
IMAGE_PIP = {"flask", "pandas", "numpy", "werkzeug", "jinja2", "itsdangerous", "click", "markupsafe"}
# What our sandbox image has (debootstrap minbase + these), so installs of them are already honoured.
IMAGE_APT = {"bash", "coreutils", "python3", "jq", "bc", "findutils", "grep", "sed", "gawk", "procps",
             "python3-minimal", "ca-certificates", "curl", "wget", "dos2unix", "python3-pip", "python3-flask",
             "python3-pandas", "python3-numpy"}
SAFE_RUN = re.compile(r"^(mkdir|chmod|touch|ln|rm|cp|mv|echo|printf|cat|dos2unix|sed|chown|true)\b")


@dataclass
class Copy:
    src: Path  # absolute path on disk (inside the build context)
    dest: str  # absolute path in the sandbox
    mode: int = 0o644


@dataclass
class DockerPlan:
    workdir: str = "/"
    copies: list[Copy] = field(default_factory=list)
    setup: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Where harness files (task_executor_api.py, templates/, requirements.txt) come from when the scenario
    # folder lacks them; None = nowhere (they are then reported as not placed).
    harness: Path | None = None
    # `pip3 install -r requirements.txt` ran: pip leaves flask's console script in /usr/local/bin (agents list it).
    pip_requirements: bool = False


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash continuations, drop comments; keep the starting line number for messages."""
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not buf:
            start = no
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        out.append((start, (buf + line).strip()))
        buf = ""
    if buf:
        out.append((start, buf.strip()))
    return out


def _args(rest: str) -> list[str]:
    rest = rest.strip()
    if rest.startswith("["):
        try:
            return [str(x) for x in json.loads(rest)]
        except json.JSONDecodeError:
            pass
    return shlex.split(rest)


def _is_harness(src: str) -> bool:
    return src.lstrip("./").split("/")[0] in HARNESS_FILES


def _expand(context: Path, src: str) -> list[Path]:
    base = context / src.lstrip("./") if src not in (".", "./") else context
    if any(ch in src for ch in "*?["):
        return [Path(p) for p in sorted(glob.glob(str(base)))]
    return [base] if base.exists() else []


def _copy(plan: DockerPlan, context: Path, no: int, args: list[str], mode: int | None) -> None:
    *srcs, dest = args
    if not srcs:
        plan.warnings.append(f"line {no}: COPY without a source")
        return
    if not dest.startswith("/"):
        dest = posixpath.normpath(posixpath.join(plan.workdir, dest)) + ("/" if dest.endswith("/") else "")
    into_dir = dest.endswith("/") or len(srcs) > 1 or any(ch in s for s in srcs for ch in "*?[")
    for src in srcs:
        if src.startswith(("http://", "https://")):
            plan.warnings.append(f"line {no}: ADD of a URL is not supported ({src})")
            continue
        matches = _expand(context, src)
        if not matches and _is_harness(src):
            matches = _expand(plan.harness, src) if plan.harness else []
            if not matches:
                plan.warnings.append(f"line {no}: harness file {src} not placed (orchestrator_api.zip not found)")
                continue
        elif not matches:
            plan.warnings.append(f"line {no}: {src} does not exist in the scenario folder")
        for m in matches:
            if m.is_dir():
                # Docker copies a folder's contents, not the folder itself.
                for f in sorted(p for p in m.rglob("*") if p.is_file()):
                    rel = f.relative_to(m).as_posix()
                    plan.copies.append(Copy(f, posixpath.join(dest.rstrip("/") or "/", rel),
                                            mode if mode is not None else _mode(f)))
            else:
                target = posixpath.join(dest, m.name) if into_dir else dest
                plan.copies.append(Copy(m, target, mode if mode is not None else _mode(m)))


def _mode(p: Path) -> int:
    return 0o755 if p.stat().st_mode & 0o111 or p.suffix in (".sh",) else 0o644


def _run(plan: DockerPlan, no: int, cmd: str) -> None:
    for part in re.split(r"\s*(?:&&|;)\s*", cmd):
        part = part.strip()
        if not part:
            continue
        words = shlex.split(part) if part.count('"') % 2 == 0 and part.count("'") % 2 == 0 else part.split()
        head = words[0] if words else ""
        if head in ("pip", "pip3") or part.startswith(("python -m pip", "python3 -m pip")):
            pkgs = [w for w in words[2:] if not w.startswith("-") and w not in ("install",)]
            if any(w == "-r" for w in words):
                plan.pip_requirements = True  # the harness's flask, which the image provides
                continue
            pinned = [w for w in pkgs if re.search(r"[=<>]", w) and re.split(r"[=<>\[]", w)[0].lower() in IMAGE_PIP]
            if pinned:
                plan.warnings.append(f"line {no}: version pin not honoured ({' '.join(pinned)}): the image has "
                                     "Debian's release of it")
            pkgs = [w for w in pkgs if re.split(r"[=<>\[]", w)[0].lower() not in IMAGE_PIP]
            if pkgs:
                plan.warnings.append(f"line {no}: cannot honour pip install {' '.join(pkgs)} "
                                     f"(the sandbox image has only {', '.join(sorted(IMAGE_PIP))})")
        elif head in ("apt-get", "apt", "apk", "yum"):
            if "install" in words:
                pkgs = [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
                missing = [p for p in pkgs if p not in IMAGE_APT]
                if missing:
                    plan.warnings.append(f"line {no}: cannot honour {head} install {' '.join(missing)}")
        elif head == "rm" and "/var/lib/apt" in part:
            continue
        elif head == "mkdir":
            plan.dirs.extend(w for w in words[1:] if w.startswith("/"))
            plan.setup.append(part)
        elif SAFE_RUN.match(part):
            plan.setup.append(part)
        else:
            plan.warnings.append(f"line {no}: RUN not honoured: {part[:80]}")


def read_dockerfile(path: Path, harness: Path | None = None) -> DockerPlan:
    plan = DockerPlan(harness=harness)
    context = path.parent
    for no, line in logical_lines(path.read_text(encoding="utf-8", errors="replace")):
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr == "WORKDIR":
            wd = rest.strip().strip('"')
            plan.workdir = posixpath.normpath(posixpath.join(plan.workdir, wd))
            plan.dirs.append(plan.workdir)
        elif instr in ("COPY", "ADD"):
            args = _args(rest)
            flags = [a for a in args if a.startswith("--")]
            args = [a for a in args if not a.startswith("--")]
            mode = next((int(f.split("=", 1)[1], 8) for f in flags if f.startswith("--chmod=")), None)
            _copy(plan, context, no, args, mode)
        elif instr == "RUN":
            _run(plan, no, rest)
        elif instr == "ENV":
            plan.warnings.append(f"line {no}: ENV not honoured ({rest[:60]})")
        elif instr == "FROM":
            base = _args(rest)[0] if rest.strip() else ""
            if base != IMAGE_BASE:
                plan.warnings.append(f"line {no}: base image {base} not honoured: the sandbox image is {IMAGE_BASE} "
                                     "(its python3, its /usr/local)")
        elif instr in ("EXPOSE", "CMD", "ENTRYPOINT", "LABEL", "USER", "ARG", "HEALTHCHECK"):
            continue  # base image and harness process: ours replace them
        else:
            plan.warnings.append(f"line {no}: {instr} not supported")
    return plan
