#!/usr/bin/python3
"""memcached-tool (Debian's memcached package ships it as
/usr/share/memcached/scripts/memcached-tool) against the server under test: `dump` and `keys`
list what is cached (through `lru_crawler metadump all`), and the other views (display, stats,
settings, sizes) still work. Skipped when the tool or perl is missing.

Usage: test_memcached_tool.py [SERVER_BINARY] [unittest args]; $MCD_TEST_BINARY overrides.
"""
import os
import re
import shutil
import socket
import subprocess
import time
import unittest

import mcd_server

TOOL_PATHS = ("/usr/share/memcached/scripts/memcached-tool", "/usr/bin/memcached-tool")


def find_tool():
    for path in (shutil.which("memcached-tool"),) + TOOL_PATHS:
        if path and os.path.isfile(path):
            return path
    return None


TOOL = find_tool()
PERL = shutil.which("perl")

# Keys with bytes that metadump URL-encodes; values of several sizes, flags and expiry times.
ITEMS = {
    "plain": (0, 0, b"value"),
    "user:42/profile": (7, 0, b"x" * 300),
    "pct%41~tilde": (1, 3600, b"with\r\ncrlf"),
    "utf8-\xc3\xa9": (2, 0, b"e" * 5000),
    "big": (3, 0, bytes(range(256)) * 400),  # 100 KB, binary
}


class Conn:
    """A tiny blocking text-protocol client with a deadline on every read."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def close(self):
        self.sock.close()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def call(self, request):
        self.sock.sendall(request)
        return self.line()

    def stats(self, args=b""):
        self.sock.sendall(b"stats " + args + b"\r\n")
        out = {}
        while True:
            line = self.line()
            if line == b"END":
                return out
            _, name, value = line.split(b" ", 2)
            out[name.decode()] = value.decode()


@unittest.skipUnless(TOOL and PERL, "memcached-tool (Debian package memcached) or perl missing")
class MemcachedToolTest(unittest.TestCase):
    def setUp(self):
        self.server = mcd_server.Server(mcd_server.BINARY).start()
        self.addCleanup(self.server.stop)
        self.conn = Conn(self.server.port)
        self.addCleanup(self.conn.close)
        for key, (flags, exptime, value) in ITEMS.items():
            reply = self.conn.call(b"set %s %d %d %d\r\n%s\r\n" % (
                key.encode("latin-1"), flags, exptime, len(value), value))
            self.assertEqual(reply, b"STORED", key)
        self.server_time = int(self.conn.stats()["time"])

    def tool(self, *args):
        proc = subprocess.run([PERL, TOOL, self.server.address()] + list(args),
                              capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout

    def test_dump_lists_every_item_as_add_commands(self):
        out = self.tool("dump")
        # "add <key> <flags> <exptime> <bytes>\r\n<value>\r\n" per item, in no particular order.
        found = {}
        pos = 0
        header = re.compile(rb"add (\S+) (\d+) (-?\d+) (\d+)\r\n")
        while pos < len(out):
            m = header.match(out, pos)
            self.assertIsNotNone(m, out[pos:pos + 100])
            length = int(m.group(4))
            start = m.end()
            value = out[start:start + length]
            self.assertEqual(out[start + length:start + length + 2], b"\r\n")
            found[m.group(1).decode("latin-1")] = (int(m.group(2)), int(m.group(3)), value)
            pos = start + length + 2
        self.assertEqual(sorted(found), sorted(ITEMS))
        for key, (flags, exptime, value) in ITEMS.items():
            got_flags, got_exptime, got_value = found[key]
            self.assertEqual(got_flags, flags, key)
            self.assertEqual(got_value, value, key)
            if exptime == 0:
                self.assertEqual(got_exptime, 0, key)
            else:  # an absolute unix time, by the server's clock
                self.assertLessEqual(abs(got_exptime - (self.server_time + exptime)), 2, key)

    def test_dump_with_a_limit(self):
        out = self.tool("dump", "2")
        self.assertEqual(len(re.findall(rb"^add ", out, re.M)), 2, out[:300])
        # The tool dropped the connection in the middle of the dump: the server goes on.
        self.assertEqual(self.conn.call(b"version\r\n")[:8], b"VERSION ")

    def test_keys_lists_metadump_lines(self):
        out = self.tool("keys").decode("latin-1")
        lines = [l for l in out.splitlines() if l]
        self.assertEqual(len(lines), len(ITEMS), out)
        keys = set()
        for line in lines:
            m = re.match(r"key=(\S+) exp=(-?\d+) la=(\d+) cas=(\d+) fetch=(yes|no) cls=(\d+) "
                         r"size=(\d+)$", line)
            self.assertIsNotNone(m, line)
            keys.add(re.sub(r"%([0-9A-F]{2})", lambda h: chr(int(h.group(1), 16)), m.group(1)))
        self.assertEqual(keys, set(ITEMS))

    def test_display_shows_the_slab_classes(self):
        out = self.tool("display").decode()
        lines = out.splitlines()
        self.assertTrue(lines[0].split() == ["#", "Item_Size", "Max_age", "Pages", "Count",
                                             "Full?", "Evicted", "Evict_Time", "OOM"], out)
        counts = [int(l.split()[4]) for l in lines[1:] if l.strip()]
        self.assertEqual(sum(counts), len(ITEMS), out)

    def test_stats_and_settings_views(self):
        # (The tool strips "\n" only: each value keeps its "\r".)
        stats = self.tool("stats").decode()
        self.assertRegex(stats, r"\n\s+curr_items\s+%d\r?\n" % len(ITEMS))
        self.assertRegex(stats, r"\n\s+lru_crawler_starts\s+\d+\r?\n")
        settings = self.tool("settings").decode()
        self.assertRegex(settings, r"\n\s+lru_crawler\s+yes\r?\n")
        self.assertRegex(settings, r"\n\s+lru_crawler_sleep\s+100\r?\n")
        sizes = self.tool("sizes").decode()
        self.assertIn("sizes_status", sizes)


if __name__ == "__main__":
    mcd_server.main()
