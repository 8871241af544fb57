#!/usr/bin/python3
"""python-binary-memcached (Debian's python3-binary-memcached, module bmemcached), a pure binary
protocol client, against the server under test.

Usage: test_bmemcached.py [SERVER_BINARY] [unittest args]; $MCD_TEST_BINARY overrides.
"""
import os

import bmemcached
import bmemcached.exceptions

import mcd_server


class BmemcachedTest(mcd_server.ServerTestCase):
    def setUp(self):
        self.c = bmemcached.Client([self.server.address()], socket_timeout=5)
        self.assertTrue(self.c.flush_all())

    def tearDown(self):
        self.c.disconnect_all()

    def test_set_get(self):
        self.assertTrue(self.c.set("k", b"v1"))
        self.assertEqual(self.c.get("k"), b"v1")
        self.assertTrue(self.c.set("k", "text"))
        self.assertEqual(self.c.get("k"), "text")
        self.assertIsNone(self.c.get("missing"))

    def test_python_types_use_flags(self):
        for key, value in (("int", 42), ("long", 2 ** 62), ("pickled", {"a": [1, 2]})):
            self.assertTrue(self.c.set(key, value))
            self.assertEqual(self.c.get(key), value)

    def test_set_multi_get_multi(self):
        # set_multi sends setq for all but the last key, get_multi getkq then a noop.
        values = {"k%d" % i: b"value %d" % i for i in range(100)}
        self.c.set_multi(values)
        got = self.c.get_multi(list(values) + ["missing1", "missing2"])
        self.assertEqual(got, values)

    def test_add_replace(self):
        self.assertTrue(self.c.add("a", b"1"))
        self.assertFalse(self.c.add("a", b"2"))
        self.assertEqual(self.c.get("a"), b"1")
        self.assertFalse(self.c.replace("r", b"1"))
        self.assertTrue(self.c.replace("a", b"3"))
        self.assertEqual(self.c.get("a"), b"3")

    def test_cas(self):
        self.c.set("c", b"v0")
        value, token = self.c.gets("c")
        self.assertEqual(value, b"v0")
        self.assertGreater(token, 0)
        self.assertTrue(self.c.cas("c", b"v1", token))
        self.assertFalse(self.c.cas("c", b"v2", token))
        self.assertEqual(self.c.get("c"), b"v1")
        self.assertEqual(self.c.gets("missing"), (None, None))

    def test_incr_decr(self):
        # bmemcached sends an initial value of 0 and exptime 0: a missing counter is created.
        self.assertEqual(self.c.incr("n", 5), 0)
        self.assertEqual(self.c.incr("n", 5), 5)
        self.assertEqual(self.c.decr("n", 20), 0)
        self.c.set("s", b"abc")
        with self.assertRaises(Exception):
            self.c.incr("s", 1)

    def test_delete(self):
        self.c.set("d", b"x")
        self.assertTrue(self.c.delete("d"))
        self.assertIsNone(self.c.get("d"))
        self.c.delete("d")  # a miss: bmemcached reports success either way
        self.c.set_multi({"d1": b"1", "d2": b"2"})
        self.assertTrue(self.c.delete_multi(["d1", "d2"]))
        self.assertEqual(self.c.get_multi(["d1", "d2"]), {})

    def test_stats(self):
        self.c.set("a", b"1")
        self.c.get("a")
        stats = self.c.stats()
        (server, values), = stats.items()
        self.assertIn(str(self.server.port), server)
        for name in ("pid", "uptime", "version", "curr_items", "get_hits", "cmd_get"):
            self.assertIn(name, values)
        self.assertGreaterEqual(int(values["get_hits"]), 1)
        settings = list(self.c.stats("settings").values())[0]
        self.assertEqual(settings["binding_protocol"], b"auto-negotiate")

    def test_large_value(self):
        big = bytes((i * 7 + 3) % 256 for i in range(1000 * 1000))
        self.assertTrue(self.c.set("big", big))
        self.assertEqual(self.c.get("big"), big)

    def test_too_large_value_fails(self):
        self.c.set("big", b"small")
        # Random bytes: bmemcached compresses values, which would shrink a repetitive one.
        with self.assertRaises(bmemcached.exceptions.MemcachedException) as e:
            self.c.set("big", os.urandom(2 * 1024 * 1024))
        self.assertIn("Too large.", str(e.exception))
        # A set refused for its size unlinks the old value, as memcached does.
        self.assertIsNone(self.c.get("big"), "not stored")
        self.c.set("after", b"ok")
        self.assertEqual(self.c.get("after"), b"ok")


if __name__ == "__main__":
    mcd_server.main()
