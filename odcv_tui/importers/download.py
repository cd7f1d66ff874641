"""Fetch the ODCV-Bench repository archive (GitHub) once, cache it, and unpack only `existing_results/`.

The URL is a template with `{repo}` and `{ref}`; tests point it at a local HTTP server. Any network
failure is one OdcvError line suggesting the offline alternative.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from odcv_tui.core.errors import InputError, OdcvError

DEFAULT_REPO = "McGill-DMaS/ODCV-Bench"
DEFAULT_REF = "7353f1cf4b2579a3a8a5b8a5061d7c7d41f60668"
DEFAULT_URL = "https://codeload.github.com/{repo}/tar.gz/{ref}"
KEEP = "existing_results"
Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)


def cache_dir() -> Path:
    if os.environ.get("ODCV_CACHE_DIR"):
        return Path(os.environ["ODCV_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "odcv-tui"


def archive_url(ref: str, template: str | None = None, repo: str = DEFAULT_REPO) -> str:
    return (template or os.environ.get("ODCV_UPSTREAM_URL") or DEFAULT_URL).format(repo=repo, ref=ref)


def fetch(url: str, dest: Path, progress: Progress | None = None, timeout: float = 30.0) -> Path:
    """Download url to dest atomically (a .part file renamed at the end)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, part.open("wb") as out:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            while chunk := resp.read(1 << 16):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except urllib.error.HTTPError as exc:
        part.unlink(missing_ok=True)
        raise OdcvError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        part.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise OdcvError(f"cannot download {url}: {reason} (no network? import a local copy with "
                        "`odcv import upstream DIR`)") from None
    part.replace(dest)
    return dest


def _inner(name: str) -> PurePosixPath | None:
    """Path below the archive's top folder if it is under existing_results/, else None."""
    parts = PurePosixPath(name).parts
    if len(parts) < 2 or parts[1] != KEEP:
        return None
    rel = PurePosixPath(*parts[1:])
    if rel.is_absolute() or ".." in rel.parts:
        raise InputError(name, None, "archive member escapes the extraction folder")
    return rel


def extract(archive: Path, target: Path) -> Path:
    """Unpack only existing_results/ of a GitHub tar.gz or zip archive into target; returns target."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    head = archive.read_bytes()[:4]
    try:
        if head[:2] == b"\x1f\x8b":
            with tarfile.open(archive, "r:gz") as tf:
                for m in tf.getmembers():
                    rel = _inner(m.name)
                    if rel is None or not (m.isfile() or m.isdir()):
                        continue
                    m.name = str(rel)
                    tf.extract(m, tmp, filter="data")
        elif head[:2] == b"PK":
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    rel = _inner(info.filename)
                    if rel is None or info.is_dir():
                        continue
                    out = tmp / rel
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, out.open("wb") as dst:
                        shutil.copyfileobj(src, dst)
        else:
            raise InputError(str(archive), None, "not a tar.gz or zip archive")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        archive.unlink(missing_ok=True)  # a truncated download must not stay cached
        raise InputError(str(archive), None, f"corrupt archive ({exc}); it was removed, retry") from None
    if not (tmp / KEEP).is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(str(archive), None, f"no {KEEP}/ folder in the archive")
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)
    return target


def ensure_results(ref: str = DEFAULT_REF, *, url: str | None = None, cache: Path | None = None,
                   progress: Progress | None = None, refresh: bool = False) -> Path:
    """The repository root (holding existing_results/) for ref, downloading only on a cache miss."""
    if not ref or "/" in ref or ref.startswith("."):
        raise InputError("--ref", None, f"not a commit or tag name: {ref!r}")
    root = (cache or cache_dir()) / "upstream"
    unpacked = root / ref
    if not refresh and (unpacked / KEEP).is_dir():
        return unpacked
    archive = root / f"{ref}.archive"
    if refresh or not archive.is_file():
        fetch(archive_url(ref, url), archive, progress)
    return extract(archive, unpacked)
