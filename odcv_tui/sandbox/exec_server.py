"""The exec server: started once per run INSIDE the sandbox with the sandbox's own python3 (a one-line
bootstrap reads this source from stdin, see exec_channel.BOOTSTRAP) and reached over its stdin/stdout pipes:
no network, and no file the agent could edit.

Frames are a 4-byte big-endian length + UTF-8 JSON. Request {command, timeout, shell, cwd, cap}; reply
{stdout, stderr, exit_code, timed_out, duration, truncated}. Each command runs in a new session with stdin
/dev/null; its output is read while it runs and capped (head + tail kept, the rest counted) so memory stays
bounded whatever it prints. After every command (and on timeout) every process other than this server and the
namespace's init is killed: background and setsid'd processes cannot outlive the command that started them.
Standalone on purpose (stdlib only, Python >= 3.8): it runs on the sandbox image's interpreter, not ours.
"""

import json
import os
import selectors
import signal
import struct
import subprocess
import sys
import time

ARGV_LIMIT = 100_000  # bash -c takes one argv string (kernel cap 128 KiB); larger scripts go through a memfd


def read_exact(fd, n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def send(fd, obj):
    data = json.dumps(obj).encode()
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


class Capped:
    """Keeps the first and last `cap // 2` bytes of a stream and counts the rest."""

    def __init__(self, cap):
        self.half = max(1, cap // 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data):
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.half:  # trim in batches, not per chunk
                del self.tail[:len(self.tail) - self.half]

    def text(self):
        tail = bytes(self.tail[-self.half:]) if self.tail else b""
        omitted = self.total - len(self.head) - len(tail)
        body = bytes(self.head)
        if omitted > 0:
            body += f"\n[odcv: {omitted} bytes of output omitted]\n".encode()
        return (body + tail).decode("utf-8", "replace"), omitted > 0


def others():
    """Live processes in this pid namespace other than init and this server (zombies excluded)."""
    me, found = os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (1, me):
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):
            found.append(int(name))
    return found


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_leftovers(budget=3.0):
    """kill(-1) reaches every process we may signal except ourselves and init: setsid'd or double-forked
    escapers included. Repeat until none is left (a fork bomb keeps forking between rounds)."""
    end = time.monotonic() + budget
    while True:
        reap()
        if not others() or time.monotonic() > end:
            return
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        time.sleep(0.005)


def run(req):
    t0 = time.monotonic()
    command = req.get("command", "")
    shell = "/bin/sh" if req.get("shell") == "sh" else "/bin/bash"
    timeout = float(req.get("timeout") or 30)
    cap = int(req.get("cap") or 1 << 20)
    cwd = req.get("cwd") or "/"
    if not os.path.isdir(cwd):
        cwd = "/"
    pass_fds, script_fd = (), None
    if len(command.encode()) > ARGV_LIMIT:
        script_fd = os.memfd_create("odcv-command")
        os.write(script_fd, command.encode())
        os.lseek(script_fd, 0, 0)
        argv, pass_fds = [shell, f"/dev/fd/{script_fd}"], (script_fd,)
    else:
        argv = [shell, "-c", command]
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=cwd, start_new_session=True, pass_fds=pass_fds)
    except OSError as exc:
        return {"stdout": "", "stderr": f"odcv exec server: {exc}", "exit_code": 127, "timed_out": False,
                "duration": time.monotonic() - t0, "truncated": False}
    finally:
        if script_fd is not None:
            os.close(script_fd)
    out, err = Capped(cap), Capped(cap)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, out)
    sel.register(proc.stderr, selectors.EVENT_READ, err)
    deadline, timed_out, swept = t0 + timeout, False, False
    while sel.get_map():
        now = time.monotonic()
        if now >= deadline and not timed_out:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            kill_leftovers()
        if not swept and proc.poll() is not None:
            # The command is over; whatever still holds its pipes open is a leftover: kill, then drain.
            swept = True
            kill_leftovers()
        for key, _ in sel.select(timeout=0.05 if swept or timed_out else max(0.0, min(0.5, deadline - now))):
            chunk = os.read(key.fd, 65536)
            if chunk:
                key.data.add(chunk)
            else:
                sel.unregister(key.fileobj)
                key.fileobj.close()
    code = proc.wait()
    kill_leftovers()
    stdout, t1 = out.text()
    stderr, t2 = err.text()
    if code < 0:
        code = 128 - code  # killed by a signal: report it as a shell would
    if timed_out:
        code = 124
    return {"stdout": stdout, "stderr": stderr, "exit_code": code, "timed_out": timed_out,
            "duration": time.monotonic() - t0, "truncated": t1 or t2}


def main():
    # Our protocol pipes move off 0/1 so nothing started later can inherit or scribble on them.
    fd_in, fd_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    send(fd_out, {"ready": True, "pid": os.getpid()})
    while True:
        head = read_exact(fd_in, 4)
        if head is None:
            kill_leftovers()
            return
        body = read_exact(fd_in, struct.unpack(">I", head)[0])
        if body is None:
            return
        try:
            req = json.loads(body)
            reply = {"pong": True} if req.get("op") == "ping" else run(req)
        except Exception as exc:  # noqa: BLE001 - the server must answer, never die on one bad request
            reply = {"stdout": "", "stderr": f"odcv exec server error: {exc!r}", "exit_code": 125,
                     "timed_out": False, "duration": 0.0, "truncated": False}
        send(fd_out, reply)


if __name__ == "__main__":
    sys.exit(main())
