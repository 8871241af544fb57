#!/usr/bin/python3
"""pylibmc (libmemcached) with binary=True against the server under test: the same cases as
test_pylibmc.py over memcached's binary protocol, plus the binary-only paths libmemcached takes.

Usage: test_pylibmc_binary.py [SERVER_BINARY] [unittest args]; $MCD_TEST_BINARY overrides.
"""
import pylibmc

import mcd_server
import test_pylibmc


class PylibmcBinaryTest(test_pylibmc.PylibmcTest):
    def setUp(self):
        self.c = pylibmc.Client([self.server.address()], binary=True,
                                behaviors={"cas": True, "connect_timeout": 5000,
                                           "receive_timeout": 5000000,
                                           "send_timeout": 5000000})
        self.assertTrue(self.c.flush_all())

    def test_add_replace(self):
        # Over the binary protocol libmemcached raises NotFound for a replace of a missing key.
        self.assertTrue(self.c.add("a", b"1"))
        self.assertFalse(self.c.add("a", b"2"))
        self.assertEqual(self.c.get("a"), b"1")
        with self.assertRaises(pylibmc.NotFound):
            self.c.replace("r", b"1")
        self.assertTrue(self.c.replace("a", b"3"))
        self.assertEqual(self.c.get("a"), b"3")

    def test_incr_creates_with_initial_value(self):
        # libmemcached's binary incr carries an initial value; pylibmc asks for no creation
        # (exptime 0xffffffff), so a missing counter is still NotFound.
        with self.assertRaises(pylibmc.NotFound):
            self.c.incr("fresh", 3)
        self.assertIsNone(self.c.get("fresh"))

    def test_quiet_set_multi_and_delete_multi(self):
        # libmemcached pipelines setq/deleteq and ends with a noop.
        values = {"q%d" % i: b"v%d" % i for i in range(200)}
        self.assertEqual(self.c.set_multi(values), [])
        self.assertEqual(self.c.get_multi(list(values)), values)
        self.assertTrue(self.c.delete_multi(list(values)))
        self.assertEqual(self.c.get_multi(list(values)), {})


# The text-protocol class is imported above; run only the binary one here.
del test_pylibmc

if __name__ == "__main__":
    mcd_server.main()
