#!/usr/bin/python3
"""libmemcached's command-line tools against the server under test: memccapable in ASCII mode
must pass all its cases, memcstat must print the server's stats.

Usage: test_libmemcached_tools.py [SERVER_BINARY] [unittest args]; $MCD_TEST_BINARY overrides.
"""
import shutil
import subprocess
import unittest

import mcd_server


class LibmemcachedToolsTest(unittest.TestCase):
    def setUp(self):
        self.server = mcd_server.Server(mcd_server.BINARY).start()
        self.addCleanup(self.server.stop)

    @unittest.skipUnless(shutil.which("memccapable"), "libmemcached-tools not installed")
    def test_memccapable_ascii(self):
        # -a: ASCII protocol only; -t: per-operation I/O timeout in seconds.
        proc = subprocess.run(["memccapable", "-a", "-t", "5", "-h", "127.0.0.1", "-p",
                               str(self.server.port)],
                              capture_output=True, text=True, timeout=60)
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 0, out)
        self.assertNotIn("[FAIL]", out)
        self.assertIn("All tests passed", out)
        self.assertGreater(out.count("[pass]"), 20, out)

    @unittest.skipUnless(shutil.which("memcstat"), "libmemcached-tools not installed")
    def test_memcstat(self):
        proc = subprocess.run(["memcstat", "--servers=" + self.server.address()],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Server: 127.0.0.1 (%d)" % self.server.port, proc.stdout)
        for field in ("pid:", "uptime:", "version: 1.6.", "curr_connections:"):
            self.assertIn(field, proc.stdout)


if __name__ == "__main__":
    mcd_server.main()
