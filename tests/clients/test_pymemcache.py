#!/usr/bin/python3
"""pymemcache (text protocol) against the server under test.

Usage: test_pymemcache.py [SERVER_BINARY] [unittest args]; $MCD_TEST_BINARY overrides.
"""
from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheClientError, MemcacheServerError

import mcd_server


class PymemcacheTest(mcd_server.ServerTestCase):
    def setUp(self):
        # pymemcache's default is noreply for storage commands; keep it, it is what users see.
        self.c = Client(("127.0.0.1", self.server.port), connect_timeout=5, timeout=5)
        self.assertTrue(self.c.flush_all(noreply=False))

    def tearDown(self):
        self.c.close()

    def test_set_get(self):
        self.assertTrue(self.c.set("k", b"v1"))
        self.assertEqual(self.c.get("k"), b"v1")
        self.assertTrue(self.c.set("k", b"v2", noreply=False))
        self.assertEqual(self.c.get("k"), b"v2")
        self.assertIsNone(self.c.get("missing"))
        self.assertEqual(self.c.get("missing", default=b"d"), b"d")

    def test_set_many_get_many(self):
        values = {"k%d" % i: b"value %d" % i for i in range(50)}
        self.assertEqual(self.c.set_many(values, noreply=False), [])
        got = self.c.get_many(list(values) + ["missing1", "missing2"])
        self.assertEqual(got, values)
        self.assertEqual(self.c.get_many([]), {})

    def test_add_replace(self):
        self.assertTrue(self.c.add("a", b"1", noreply=False))
        self.assertFalse(self.c.add("a", b"2", noreply=False))
        self.assertEqual(self.c.get("a"), b"1")
        self.assertFalse(self.c.replace("r", b"1", noreply=False))
        self.assertIsNone(self.c.get("r"))
        self.assertTrue(self.c.replace("a", b"3", noreply=False))
        self.assertEqual(self.c.get("a"), b"3")

    def test_append_prepend(self):
        self.assertFalse(self.c.append("x", b"+", noreply=False))
        self.assertFalse(self.c.prepend("x", b"-", noreply=False))
        self.c.set("x", b"mid")
        self.assertTrue(self.c.append("x", b"+", noreply=False))
        self.assertTrue(self.c.prepend("x", b"-", noreply=False))
        self.assertEqual(self.c.get("x"), b"-mid+")
        # noreply forms must not leave replies behind that confuse later commands.
        self.c.append("x", b"!")
        self.c.prepend("x", b"?")
        self.assertEqual(self.c.get("x"), b"?-mid+!")

    def test_cas(self):
        self.assertIsNone(self.c.cas("c", b"v", b"1", noreply=False))  # NOT_FOUND
        self.c.set("c", b"v0")
        value, token = self.c.gets("c")
        self.assertEqual(value, b"v0")
        self.assertTrue(self.c.cas("c", b"v1", token, noreply=False))
        self.assertFalse(self.c.cas("c", b"v2", token, noreply=False))  # EXISTS
        self.assertEqual(self.c.get("c"), b"v1")
        _, token2 = self.c.gets("c")
        self.assertNotEqual(token, token2)
        self.assertEqual(self.c.gets("missing"), (None, None))

    def test_incr_decr(self):
        self.assertIsNone(self.c.incr("n", 1, noreply=False))
        self.c.set("n", b"10")
        self.assertEqual(self.c.incr("n", 5), 15)
        self.assertEqual(self.c.decr("n", 20), 0)
        self.c.set("n", b"18446744073709551615")
        self.assertEqual(self.c.incr("n", 2), 1)
        self.c.set("n", b"100")
        self.assertEqual(self.c.decr("n", 1), 99)
        self.assertEqual(self.c.get("n"), b"99 ")
        self.c.set("s", b"abc")
        with self.assertRaises(MemcacheClientError):
            self.c.incr("s", 1)

    def test_delete(self):
        self.c.set("d", b"x")
        self.assertTrue(self.c.delete("d", noreply=False))
        self.assertFalse(self.c.delete("d", noreply=False))
        self.assertIsNone(self.c.get("d"))
        self.c.set_many({"d1": b"1", "d2": b"2"})
        self.assertTrue(self.c.delete_many(["d1", "d2", "d3"], noreply=False))
        self.assertEqual(self.c.get_many(["d1", "d2"]), {})

    def test_touch(self):
        self.assertFalse(self.c.touch("t", 100, noreply=False))
        self.c.set("t", b"x")
        self.assertTrue(self.c.touch("t", 100, noreply=False))
        self.assertEqual(self.c.get("t"), b"x")
        self.assertTrue(self.c.touch("t", -1, noreply=False))
        self.assertIsNone(self.c.get("t"))

    def test_flush_all(self):
        self.c.set_many({"a": b"1", "b": b"2"})
        self.assertTrue(self.c.flush_all(noreply=False))
        self.assertEqual(self.c.get_many(["a", "b"]), {})

    def test_stats_and_version(self):
        self.c.set("a", b"1")
        self.c.get("a")
        self.c.get("nope")
        stats = self.c.stats()
        for name in (b"pid", b"uptime", b"version", b"curr_items", b"get_hits", b"get_misses",
                     b"cmd_get", b"curr_connections", b"bytes"):
            self.assertIn(name, stats)
        self.assertGreaterEqual(stats[b"get_hits"], 1)
        self.assertGreaterEqual(stats[b"get_misses"], 1)
        settings = self.c.stats("settings")
        self.assertEqual(settings[b"item_size_max"], 1048576)
        self.assertTrue(self.c.version().startswith(b"1.6."))

    def test_binary_values(self):
        value = b"a\r\nb\x00c\r\nEND\r\n\x00\xff"
        self.c.set("bin", value)
        self.assertEqual(self.c.get("bin"), value)
        all_bytes = bytes(range(256)) * 4
        self.c.set("all", all_bytes)
        self.assertEqual(self.c.get("all"), all_bytes)

    def test_large_values(self):
        big = bytes((i * 7 + 3) % 256 for i in range(1000 * 1000))
        self.assertTrue(self.c.set("big", big, noreply=False))
        self.assertEqual(self.c.get("big"), big)
        with self.assertRaises(MemcacheServerError):
            self.c.set("big", b"x" * (2 * 1024 * 1024), noreply=False)
        self.assertIsNone(self.c.get("big"))

    def test_key_too_long_is_rejected_by_client(self):
        with self.assertRaises(MemcacheClientError):
            self.c.set("k" * 251, b"x")
        self.assertTrue(self.c.set("k" * 250, b"x", noreply=False))
        self.assertEqual(self.c.get("k" * 250), b"x")


if __name__ == "__main__":
    mcd_server.main()
