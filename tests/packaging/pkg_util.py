"""Helpers for the packaging tests: free ports, bounded waits, a raw protocol chat, cleanup.

Every wait has a deadline; every process a test starts is stopped in its cleanups (SIGTERM, then
SIGKILL), found by its pid file or, when that never appeared, by its port (stop_by_port). Only 127.0.0.1 and temporary directories are touched.
"""
import os
import signal
import socket
import subprocess
import time

DEADLINE = 5.0  # seconds for a daemon to come up or go away


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chat(port, request, timeout=2.0):
    """Sends request to 127.0.0.1:port and returns everything the server says until it closes
    (the request should end with quit)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def answers(port):
    try:
        return chat(port, b"version\r\nquit\r\n").startswith(b"VERSION ")
    except OSError:
        return False


def wait_until(predicate, deadline=DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def kill_hard(pid):
    """SIGTERM, then SIGKILL after the deadline; ignores processes already gone."""
    if pid is None or not alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not wait_until(lambda: not alive(pid)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_until(lambda: not alive(pid))


def stop_by_port(port, binary):
    """Stops the daemon serving 127.0.0.1:port if it runs `binary`: the pid comes from its
    `stats pid` reply, so this finds a daemon whose pid file never appeared. A test registers it
    as a cleanup before starting a daemon, so the daemon is stopped in every exit path."""
    try:
        reply = chat(port, b"stats\r\nquit\r\n").decode(errors="replace")
    except OSError:
        return
    for line in reply.split("\r\n"):
        if line.startswith("STAT pid "):
            pid = int(line.split()[2])
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    argv0 = f.read().split(b"\0")[0].decode(errors="replace")
            except OSError:
                return
            if os.path.realpath(argv0) == os.path.realpath(binary):  # ours, not a stranger's
                kill_hard(pid)
            return


def run(args, env=None, timeout=30):
    """Runs a command to completion (bounded); returns CompletedProcess with text output."""
    return subprocess.run(args, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def user_args():
    """What the daemon needs to start here: as root it refuses to run without -u."""
    return ["-u", "nobody"] if os.geteuid() == 0 else []
