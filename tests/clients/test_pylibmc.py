#!/usr/bin/python3
"""pylibmc (libmemcached, text protocol) against the server under test.

Usage: test_pylibmc.py [SERVER_BINARY] [unittest args]; $MCD_TEST_BINARY overrides.
"""
import pylibmc

import mcd_server


class PylibmcTest(mcd_server.ServerTestCase):
    def setUp(self):
        self.c = pylibmc.Client([self.server.address()], binary=False,
                                behaviors={"cas": True, "connect_timeout": 5000,
                                           "receive_timeout": 5000000,
                                           "send_timeout": 5000000})
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
        # pylibmc encodes the value type in the flags; a round trip proves flags survive.
        for key, value in (("int", 42), ("long", 2 ** 62), ("bool", True),
                           ("pickled", {"a": [1, 2]})):
            self.assertTrue(self.c.set(key, value))
            self.assertEqual(self.c.get(key), value)

    def test_set_multi_get_multi(self):
        values = {"k%d" % i: b"value %d" % i for i in range(50)}
        self.assertEqual(self.c.set_multi(values), [])
        got = self.c.get_multi(list(values) + ["missing1", "missing2"])
        self.assertEqual(got, values)
        self.assertEqual(self.c.get_multi(["a", "b"], key_prefix="nope_"), {})

    def test_add_replace(self):
        self.assertTrue(self.c.add("a", b"1"))
        self.assertFalse(self.c.add("a", b"2"))
        self.assertEqual(self.c.get("a"), b"1")
        self.assertFalse(self.c.replace("r", b"1"))
        self.assertTrue(self.c.replace("a", b"3"))
        self.assertEqual(self.c.get("a"), b"3")

    def test_append_prepend(self):
        self.assertFalse(self.c.append("x", b"+"))
        self.c.set("x", b"mid")
        self.assertTrue(self.c.append("x", b"+"))
        self.assertTrue(self.c.prepend("x", b"-"))
        self.assertEqual(self.c.get("x"), b"-mid+")

    def test_cas(self):
        self.c.set("c", b"v0")
        value, token = self.c.gets("c")
        self.assertEqual(value, b"v0")
        self.assertTrue(self.c.cas("c", b"v1", token))
        self.assertFalse(self.c.cas("c", b"v2", token))
        self.assertEqual(self.c.get("c"), b"v1")
        self.assertEqual(self.c.gets("missing"), (None, None))

    def test_incr_decr(self):
        with self.assertRaises(pylibmc.NotFound):
            self.c.incr("n")
        self.c.set("n", b"10")
        self.assertEqual(self.c.incr("n", 5), 15)
        self.assertEqual(self.c.decr("n", 20), 0)
        self.c.set("n", b"100")
        self.assertEqual(self.c.decr("n"), 99)
        self.assertEqual(self.c.get("n"), b"99 ")
        self.c.set("s", b"abc")
        with self.assertRaises(pylibmc.Error):
            self.c.incr("s")
        self.c.set_multi({"m1": b"1", "m2": b"2"})
        self.c.incr_multi(["m1", "m2"], delta=10)
        self.assertEqual(self.c.get_multi(["m1", "m2"]), {"m1": b"11", "m2": b"12"})

    def test_delete(self):
        self.c.set("d", b"x")
        self.assertTrue(self.c.delete("d"))
        self.assertFalse(self.c.delete("d"))
        self.c.set_multi({"d1": b"1", "d2": b"2"})
        self.c.delete_multi(["d1", "d2"])
        self.assertEqual(self.c.get_multi(["d1", "d2"]), {})

    def test_touch(self):
        self.assertFalse(self.c.touch("t", 100))
        self.c.set("t", b"x")
        self.assertTrue(self.c.touch("t", 100))
        self.assertEqual(self.c.get("t"), b"x")

    def test_flush_all(self):
        self.c.set_multi({"a": b"1", "b": b"2"})
        self.assertTrue(self.c.flush_all())
        self.assertEqual(self.c.get_multi(["a", "b"]), {})

    def test_stats(self):
        self.c.set("a", b"1")
        self.c.get("a")
        (server, stats), = self.c.get_stats()
        # pylibmc gives str names and bytes values.
        self.assertIn(str(self.server.port).encode(), server)
        for name in ("pid", "uptime", "version", "curr_items", "get_hits", "cmd_get"):
            self.assertIn(name, stats)
        self.assertTrue(stats["version"].startswith(b"1.6."))
        self.assertGreaterEqual(int(stats["get_hits"]), 1)
        self.assertGreater(int(stats["pid"]), 0)
        self.assertEqual(int(stats["limit_maxbytes"]), 64 * 1024 * 1024)

    def test_binary_and_large_values(self):
        value = b"a\r\nb\x00c\r\nEND\r\n\x00\xff"
        self.c.set("bin", value)
        self.assertEqual(self.c.get("bin"), value)
        big = bytes((i * 7 + 3) % 256 for i in range(1000 * 1000))
        self.assertTrue(self.c.set("big", big))
        self.assertEqual(self.c.get("big"), big)

    def test_too_large_value_fails(self):
        self.c.set("big", b"small")
        with self.assertRaises(pylibmc.Error):
            self.c.set("big", b"x" * (2 * 1024 * 1024))
        self.assertIsNone(self.c.get("big"))


if __name__ == "__main__":
    mcd_server.main()
