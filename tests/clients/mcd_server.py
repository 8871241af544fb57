"""Start and stop the server under test for the client-library tests.

The binary is $MCD_TEST_BINARY if set, else the path given as the first command-line argument
(CMake passes the built `memcached`). The server listens on a free 127.0.0.1 port; readiness is
a bounded connect() poll; stop is SIGTERM, then SIGKILL after a deadline.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

START_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0


BINARY = None  # set by main()


def main():
    """Entry point of a test file: takes the binary from the command line, runs unittest."""
    global BINARY
    BINARY = binary_from_argv()
    unittest.main(module="__main__")


def binary_from_argv():
    """Pops the default binary path from sys.argv (so unittest does not see it)."""
    default = sys.argv.pop(1) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else ""
    return os.environ.get("MCD_TEST_BINARY") or default


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server process; use as a context manager or call start()/stop()."""

    def __init__(self, binary, extra_args=(), udp=False, unix_path=None):
        """udp: also listen for UDP on the TCP port number. unix_path: listen on this unix
        socket instead of TCP (memcached's -s turns TCP off); readiness is polled there."""
        if not binary or not os.access(binary, os.X_OK):
            raise RuntimeError("server binary not executable: %r" % binary)
        self.binary = binary
        self.extra_args = list(extra_args)
        self.udp = udp
        self.unix_path = unix_path
        self.proc = None
        self.port = None
        self.log = tempfile.TemporaryFile()

    def start(self):
        for _ in range(3):  # a new port if the chosen one was taken in between
            self.port = free_port()
            udp_port = str(self.port) if self.udp else "0"
            args = [self.binary, "-p", str(self.port), "-l", "127.0.0.1", "-U", udp_port]
            if self.unix_path is not None:
                args += ["-s", self.unix_path]
            if os.geteuid() == 0:
                args += ["-u", "nobody"]
            args += self.extra_args
            self.log.seek(0)
            self.log.truncate()
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                         stderr=subprocess.STDOUT)
            if self._wait_ready():
                return self
            out = self.output()
            self.stop(close_log=False)
            if b"in use" not in out:
                break
        self.log.close()
        raise RuntimeError("server did not start: %r" % out)

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if self.unix_path is not None:
                    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                        s.settimeout(0.2)
                        s.connect(self.unix_path)
                else:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                time.sleep(0.01)
        return False

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self, close_log=True):
        """SIGTERM, then SIGKILL after STOP_TIMEOUT. Returns the exit code (or None)."""
        if close_log and not self.log.closed:
            self.log.close()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def address(self):
        return "127.0.0.1:%d" % self.port

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class ServerTestCase(unittest.TestCase):
    """Tests sharing one server, started once for the class."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(BINARY).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
