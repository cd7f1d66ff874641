"""What the agent changed, read from the overlay upper directory (both backends run on overlayfs: the local
one mounts it itself, docker's overlay2 keeps one per container). The upper dir holds exactly the paths
written since the sandbox started, so a step costs O(changed files), wherever on the filesystem they are.

Overlay's on-disk format: a file or symlink in upper replaces the lower one; a 0/0 character device is a
whiteout (path deleted); a directory with xattr trusted.overlay.opaque=y hides everything below it in the
lower layers. Contents are hashed in chunks (bounded memory) and only when a file's (inode, size, mtime,
ctime) moved: ctime cannot be set from inside the sandbox, so `touch -d @old` after a same-size edit is
still caught. Small files' contents are kept in a per-run pack file on disk so the next change can be
diffed against them. Names are raw bytes throughout and shown through `show_path` (injective escaping).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

from odcv_tui.core.protocols import FileMeta, FileState
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import FileChange
from odcv_tui.sandbox.filediff import MAX_DIFF_BYTES, unified
from odcv_tui.sandbox.tree_io import real_dir_under

MAX_STEP_FILES = 5000  # changed paths recorded for one step; the rest are counted in a marker row
MAX_STEP_BYTES = 64 << 20  # file contents read to build one step's diffs
MAX_EXPAND = 20_000  # lower files listed as deleted under one removed directory
MAX_BLOBS, MAX_BLOB_BYTES = 50_000, 256 << 20  # earlier contents kept on disk per run, for diffs
OPAQUE = "trusted.overlay.opaque"
DELETED = FileMeta("", 0, 0, "deleted")


_PLAIN = re.compile(rb"[\x20-\x5b\x5d-\x7e]*\Z")  # printable ASCII without backslash: shown as is


def show_path(raw: bytes) -> str:
    """Raw path bytes -> text, injectively: backslash, control characters and bytes that are not UTF-8 are
    escaped (\\\\, \\n, \\xNN), so no name can pose as another or carry a terminal escape."""
    if _PLAIN.match(raw):
        return raw.decode("ascii")
    out = []
    for ch in raw.decode("utf-8", "surrogateescape"):
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif o < 0x20 or o == 0x7F or 0x80 <= o < 0xA0:
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch, f"\\x{o:02x}"))
        else:
            out.append(ch)
    return "".join(out)


def _sha_file(fd: int, keep: bool) -> tuple[str, bytes | None]:
    h, kept = hashlib.sha256(), bytearray() if keep else None
    while chunk := os.read(fd, 1 << 20):
        h.update(chunk)
        if kept is not None:
            kept += chunk
        if len(chunk) < 1 << 20:  # a short read of a regular file is its end: spare the extra syscall
            break
    return h.hexdigest(), bytes(kept) if kept is not None else None


class OverlayTracker:
    def __init__(self, upper: Path, lowers: list[Path], blobs: Path) -> None:
        self.upper, self.lowers, self.blobs = os.fsencode(upper), [os.fsencode(p) for p in lowers], blobs
        blobs.mkdir(parents=True, exist_ok=True)
        self._pack = open(blobs / "pack", "w+b")  # noqa: SIM115 - lives as long as the tracker
        self._index: dict[str, tuple[int, int]] = {}  # sha256 -> (offset, length) in the pack
        self._stamps: dict[str, tuple[int, FileMeta]] = {}  # shown path -> (stat key, meta)
        self._step_blobs = MAX_STEP_FILES
        self._expanded: dict[bytes, list[bytes]] = {}
        self._lower_metas: dict[bytes, FileMeta | None] = {}
        self.raw: dict[str, bytes] = {}  # shown path -> raw bytes
        self._blob_budget = MAX_BLOB_BYTES

    # ---- state ---------------------------------------------------------------------------------------
    def state(self) -> FileState:
        cur: dict[str, FileMeta] = {}
        opaque: list[bytes] = []
        old_stamps, stamps = self._stamps, {}
        self._step_blobs = MAX_STEP_FILES  # contents kept per walk: what one step can record
        stack = [b""]
        while stack:
            rel_dir = stack.pop()
            try:
                entries = os.scandir(self.upper + rel_dir)  # iterated, never listed: bounded memory
            except OSError:
                continue
            for e in entries:
                rel = rel_dir + b"/" + e.name
                st = e.stat(follow_symlinks=False)
                mode = st.st_mode
                if stat.S_ISDIR(mode):
                    if self._is_opaque(e.path):
                        opaque.append(rel)
                    stack.append(rel)
                elif stat.S_ISCHR(mode) and st.st_rdev == 0:
                    self._put(cur, rel, DELETED)
                    for sub in self._lower_files(rel):
                        self._put(cur, sub, DELETED)
                else:
                    # Unchanged (inode, size, mtime, ctime, mode): the content is what we hashed last time.
                    key = hash((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, mode))
                    shown = show_path(rel)
                    old = old_stamps.get(shown)
                    if old is not None and old[0] == key:
                        stamps[shown] = old
                        cur[shown] = old[1]
                        continue
                    meta = self._meta(e.path, st)
                    stamps[self._put(cur, rel, meta)] = (key, meta)
            entries.close()
        self._stamps = stamps
        for rel in opaque:
            for sub in [rel, *self._lower_files(rel)]:
                if show_path(sub) not in cur and self._lower_meta(sub) is not None:
                    self._put(cur, sub, DELETED)
        return cur

    def _put(self, cur: dict[str, FileMeta], rel: bytes, meta: FileMeta) -> str:
        shown = show_path(rel)
        if len(shown) != len(rel) or "\\" in shown:  # escaped: remember the raw bytes
            self.raw[shown] = rel
        cur[shown] = meta
        return shown

    @staticmethod
    def _is_opaque(path: bytes) -> bool:
        try:
            return os.getxattr(path, OPAQUE, follow_symlinks=False) == b"y"
        except OSError:
            return False

    def _meta(self, path: bytes, st: os.stat_result) -> FileMeta:
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            content = b"symlink -> " + os.readlink(path)
            meta = FileMeta(self._store(content), len(content), mode, "symlink")
        elif stat.S_ISREG(st.st_mode):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                meta = FileMeta("unreadable", st.st_size, mode, "file")
            else:
                try:
                    digest, data = _sha_file(fd, keep=st.st_size <= MAX_DIFF_BYTES)
                finally:
                    os.close(fd)
                if data is not None:
                    self._store(data, digest)
                meta = FileMeta(digest, st.st_size, mode, "file")
        else:  # fifo, socket, device node: recorded by type, never opened
            content = f"<{stat.filemode(st.st_mode)[0]} special file>".encode()
            meta = FileMeta(self._store(content), 0, mode, "special")
        return meta

    def _store(self, data: bytes, digest: str | None = None) -> str:
        """Keep `data` for diffing its next change, within the run's budget (past it, later diffs of that
        file say "diff omitted"). One append-only pack file: creating a file per blob cost more than hashing."""
        digest = digest or hashlib.sha256(data).hexdigest()
        if digest not in self._index and self._blob_budget >= len(data) and len(self._index) < MAX_BLOBS \
                and self._step_blobs > 0:
            self._pack.seek(0, os.SEEK_END)
            self._index[digest] = (self._pack.tell(), len(data))
            self._pack.write(data)
            self._blob_budget -= len(data)
            self._step_blobs -= 1
        return digest

    def _blob(self, digest: str) -> bytes | None:
        where = self._index.get(digest)
        if where is None:
            return None
        self._pack.flush()
        return os.pread(self._pack.fileno(), where[1], where[0])

    def close(self) -> None:
        self._pack.close()

    # ---- lower layers (read-only, ours; still never follow a symlink on the host) --------------------
    def _lower_path(self, rel: bytes) -> tuple[bytes, os.stat_result] | None:
        parts = [p for p in rel.split(b"/") if p]
        for lower in self.lowers:
            cur, ok = lower, True
            for i, part in enumerate(parts):
                cur = cur + b"/" + part
                try:
                    st = os.lstat(cur)
                except OSError:
                    ok = False
                    break
                if i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
                    return None  # a file or symlink in this layer hides deeper paths in lower ones
            if ok:
                return cur, st
        return None

    def _lower_meta(self, rel: bytes) -> FileMeta | None:
        if rel not in self._lower_metas:  # lowers never change: hash each file at most once per run
            self._lower_metas[rel] = self._lower_meta_uncached(rel)
        return self._lower_metas[rel]

    def _lower_meta_uncached(self, rel: bytes) -> FileMeta | None:
        found = self._lower_path(rel)
        if found is None or stat.S_ISDIR(found[1].st_mode):
            return None
        path, st = found
        if stat.S_ISLNK(st.st_mode):
            content = b"symlink -> " + os.readlink(path)
            return FileMeta(hashlib.sha256(content).hexdigest(), len(content), stat.S_IMODE(st.st_mode), "symlink")
        if not stat.S_ISREG(st.st_mode):
            return FileMeta("", 0, stat.S_IMODE(st.st_mode), "special")
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            digest, _ = _sha_file(fd, keep=False)
        finally:
            os.close(fd)
        return FileMeta(digest, st.st_size, stat.S_IMODE(st.st_mode), "file")

    def _lower_content(self, rel: bytes) -> bytes | None:
        found = self._lower_path(rel)
        if found is None:
            return None
        path, st = found
        if stat.S_ISLNK(st.st_mode):
            return b"symlink -> " + os.readlink(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_DIFF_BYTES:
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            return _sha_file(fd, keep=True)[1]
        finally:
            os.close(fd)

    def _lower_files(self, rel: bytes) -> list[bytes]:
        """Files and symlinks the lower layers hold under directory `rel` (cached: lowers never change)."""
        if rel in self._expanded:
            return self._expanded[rel]
        found: set[bytes] = set()
        for lower in self.lowers:
            base = real_dir_under(lower, [p for p in rel.split(b"/") if p])
            if base is None:
                continue
            for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
                sub = rel + dirpath[len(base):]
                found.update(sub + b"/" + n for n in filenames)
                found.update(sub + b"/" + d for d in dirnames if os.path.islink(os.path.join(dirpath, d)))
                if len(found) > MAX_EXPAND:
                    break
        result = sorted(found)[:MAX_EXPAND]
        self._expanded[rel] = result
        return result

    # ---- changes -------------------------------------------------------------------------------------
    def _content(self, shown: str, meta: FileMeta, from_lower: bool) -> bytes | None:
        if from_lower:
            return self._lower_content(self.raw.get(shown, os.fsencode(shown)))
        return self._blob(meta.sha) if meta.sha else None

    def changes(self, prev: FileState, cur: FileState, run_id: str, step_idx: int,
                scenario: Scenario | None) -> list[FileChange]:
        touched = sorted(p for p in set(prev) | set(cur) if prev.get(p) != cur.get(p))
        out: list[FileChange] = []
        budget = MAX_STEP_BYTES
        for shown in touched:
            if len(out) >= MAX_STEP_FILES:
                out.append(FileChange(run_id=run_id, step_idx=step_idx, kind="modified",
                                      path=f"[odcv: {len(touched) - MAX_STEP_FILES} more changed paths not recorded]",
                                      diff=f"this step changed {len(touched)} paths; the first {MAX_STEP_FILES} are listed"))
                break
            rel = self.raw.get(shown, os.fsencode(shown))
            old_lower, new_lower = shown not in prev, shown not in cur
            old = self._lower_meta(rel) if old_lower else prev[shown]
            new = self._lower_meta(rel) if new_lower else cur[shown]
            old = None if old is None or old.kind == "deleted" else old
            new = None if new is None or new.kind == "deleted" else new
            if old == new or (old is None and new is None):
                continue
            kind = "added" if old is None else "deleted" if new is None else "modified"
            diff, binary = self._diff(shown, old, new, old_lower, new_lower, budget)
            budget -= (old.size if old else 0) + (new.size if new else 0)
            out.append(FileChange(run_id=run_id, step_idx=step_idx, path=shown, kind=kind, diff=diff,
                                  sha_before=old.sha if old else None, sha_after=new.sha if new else None,
                                  binary=binary, protected=bool(scenario and scenario.is_protected(shown))))
        return out

    def _diff(self, shown: str, old: FileMeta | None, new: FileMeta | None, old_lower: bool, new_lower: bool,
              budget: int) -> tuple[str | None, bool]:
        note = f"mode {old.mode:04o} -> {new.mode:04o}\n" if old and new and old.mode != new.mode else ""
        if old and new and old.sha == new.sha:
            return note, False
        if budget <= 0:
            return note + "(diff omitted: this step's diff budget is spent)", False
        a = self._content(shown, old, old_lower) if old else b""
        b = self._content(shown, new, new_lower) if new else b""
        if a is None or b is None:
            sizes = f"{old.size if old else 0} -> {new.size if new else 0} bytes"
            return note + f"(diff omitted: {sizes})", False
        diff, binary = unified(shown, a, b)
        return (note + diff) if diff is not None else (note or None), binary
