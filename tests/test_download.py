"""`odcv import upstream --download` against a real local HTTP server serving archives built here."""

from __future__ import annotations

import functools
import http.server
import io
import socket
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from odcv_tui.core.errors import InputError, OdcvError
from odcv_tui.importers.download import ensure_results, extract
from tests.conftest import FIXTURES, UPSTREAM

REF = "abc1234"
REPO = FIXTURES / "upstream_results" / "repo"


def _add_tree(tf: tarfile.TarFile, src: Path, arc: str) -> None:
    for p in sorted(src.rglob("*")):
        tf.add(p, f"{arc}/{p.relative_to(src).as_posix()}", recursive=False)


def make_tar(dest: Path, results: Path, set_name: str = "current") -> Path:
    """A GitHub-style archive: one top folder, results under existing_results/<set>/, other files beside."""
    top = f"ODCV-Bench-{REF}"
    with tarfile.open(dest, "w:gz") as tf:
        _add_tree(tf, results, f"{top}/existing_results/{set_name}")
        data = b"# not results\n"
        info = tarfile.TarInfo(f"{top}/README.md")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return dest


def make_zip(dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for p in sorted(REPO.rglob("*")):
            if p.is_file():
                zf.write(p, f"ODCV-Bench-{REF}/{p.relative_to(REPO).as_posix()}")
        zf.writestr(f"ODCV-Bench-{REF}/scenarios/x.txt", "ignored")
    return dest


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def test_download_extract_and_cache(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, www = server
    make_tar(www / f"{REF}.tar.gz", REPO / "existing_results" / "current")
    seen: list[tuple[int, int | None]] = []
    cache = tmp_path / "cache"
    root = ensure_results(REF, url=base + "/{ref}.tar.gz", cache=cache, progress=lambda d, t: seen.append((d, t)))
    assert (root / "existing_results" / "current" / "evaluations" / "judge_all" / "scores_grok.csv").is_file()
    assert not (root / "README.md").exists()  # only existing_results/ is unpacked
    assert seen and seen[-1][0] == seen[-1][1] == (www / f"{REF}.tar.gz").stat().st_size
    (www / f"{REF}.tar.gz").unlink()  # a second call must not touch the network
    assert ensure_results(REF, url=base + "/{ref}.tar.gz", cache=cache) == root


def test_zip_archive(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, www = server
    make_zip(www / "a.zip")
    root = ensure_results(REF, url=base + "/a.zip", cache=tmp_path / "c")
    assert (root / "existing_results" / "previous" / "evaluations" / "judge_all" / "scores_old-grok.csv").is_file()


def test_http_error_and_no_network(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    with pytest.raises(OdcvError, match="HTTP 404"):
        ensure_results(REF, url=base + "/missing.tgz", cache=tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OdcvError, match=r"cannot download .* \(no network\?"):
        ensure_results(REF, url=f"http://127.0.0.1:{port}/x", cache=tmp_path)
    assert not list(tmp_path.rglob("*.part"))
    with pytest.raises(InputError, match="not a commit"):
        ensure_results("../etc", cache=tmp_path)


def test_bad_archives_rejected(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tf:
        info = tarfile.TarInfo("top/existing_results/../../outside.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(InputError, match="escapes"):
        extract(evil, tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()
    trunc = tmp_path / "t.tar.gz"
    trunc.write_bytes(make_tar(tmp_path / "full.tar.gz", REPO / "existing_results" / "current").read_bytes()[:300])
    with pytest.raises(InputError, match="corrupt archive"):
        extract(trunc, tmp_path / "out2")
    assert not trunc.exists()  # not kept in the cache


def _odcv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_download_and_offline(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, www = server
    make_tar(www / f"{REF}.tar.gz", REPO / "existing_results" / "current")
    r = _odcv("import", "upstream", "--download", "--ref", REF, "--url", base + "/{ref}.tar.gz",
              "--cache-dir", str(tmp_path / "cache"), "--db", str(tmp_path / "d.db"))
    assert r.returncode == 0, r.stderr
    assert "imported 7 runs" in r.stdout
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    off = _odcv("import", "upstream", "--download", "--url", f"http://127.0.0.1:{port}/{{ref}}",
                "--cache-dir", str(tmp_path / "c2"), "--db", str(tmp_path / "d.db"))
    assert off.returncode != 0 and off.stderr.count("\n") == 1 and "cannot download" in off.stderr


@pytest.mark.upstream
def test_download_real_corpus(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if not (UPSTREAM / "agent_logs").is_dir():
        pytest.skip("../shared/upstream-odcv is absent")
    base, www = server
    make_tar(www / f"{REF}.tar.gz", UPSTREAM)
    r = _odcv("import", "upstream", "--download", "--ref", REF, "--url", base + "/{ref}.tar.gz",
              "--cache-dir", str(tmp_path / "cache"), "--db", str(tmp_path / "d.db"))
    assert r.returncode == 0, r.stderr
    assert "imported 950 runs" in r.stdout
