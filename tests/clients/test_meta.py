#!/usr/bin/python3
"""memcached's meta protocol (mg ms md ma mn me) against the server under test.

Usage: test_meta.py [SERVER_BINARY] [unittest args]; $MCD_TEST_BINARY overrides, e.g.
MCD_TEST_BINARY=/path/to/memcached-1.6.45 to check the tests against memcached itself.

Every expected reply here is what memcached 1.6.45 sends (tests/clients/meta_reference.md
lists the tricky ones). CAS values are never hard-coded: they are read back with the c flag.
"""
import os
import tempfile
import threading
import unittest

import mcd_server
from meta_client import MetaClient, UdpMetaClient, build

CONCURRENT_CLIENTS = 16


class MetaCase(mcd_server.ServerTestCase):
    """One server for the class, a fresh connection and an empty cache for each test."""

    def setUp(self):
        self.c = MetaClient(self.server.port)
        self.c.send(b"flush_all\r\n")
        self.assertEqual(self.c.line(), b"OK")

    def tearDown(self):
        self.c.close()

    def raw(self, data):
        """Sends bytes followed by mn and returns every byte before the final MN line. Each mn
        line in `data` adds one MN that is awaited too."""
        self.c.send(data + b"mn\r\n")
        expected = data.split(b"\r\n").count(b"mn") + 1
        out = b""
        while not (out.endswith(b"MN\r\n") and out.split(b"\r\n").count(b"MN") >= expected):
            chunk = self.c.sock.recv(65536)
            if not chunk:
                self.fail("connection closed after %r" % out)
            out += chunk
        return out[:-4]

    def set(self, key, value, *flags):
        r = self.c.ms(key, value, "c", *flags)
        self.assertEqual(r.code, b"HD", r)
        return r.int("c")


class MetaGetTest(MetaCase):
    def test_miss_is_en(self):
        self.assertEqual(self.raw(b"mg nokey v\r\n"), b"EN\r\n")
        self.assertEqual(self.raw(b"mg nokey\r\n"), b"EN\r\n")

    def test_hit_without_v_is_hd(self):
        self.set("k", "hi")
        self.assertEqual(self.raw(b"mg k\r\n"), b"HD\r\n")

    def test_v_returns_value(self):
        self.set("k", "hi")
        self.assertEqual(self.raw(b"mg k v\r\n"), b"VA 2\r\nhi\r\n")

    def test_value_with_crlf_and_nul_inside(self):
        self.set("k", b"a\r\nb\x00c")
        r = self.c.mg("k", "v", "s")
        self.assertEqual((r.code, r.value, r.int("s")), (b"VA", b"a\r\nb\x00c", 6))

    def test_s_returns_size(self):
        self.set("k", "hello")
        self.assertEqual(self.raw(b"mg k s\r\n"), b"HD s5\r\n")

    def test_f_returns_client_flags(self):
        self.set("k", "x", "F4294967295")
        self.assertEqual(self.raw(b"mg k f\r\n"), b"HD f4294967295\r\n")
        self.set("k", "x")
        self.assertEqual(self.raw(b"mg k f\r\n"), b"HD f0\r\n")

    def test_t_returns_ttl(self):
        self.set("k", "x", "T0")
        self.assertEqual(self.raw(b"mg k t\r\n"), b"HD t-1\r\n")
        self.set("k", "x", "T1000")
        ttl = self.c.mg("k", "t").int("t")
        self.assertTrue(998 <= ttl <= 1000, ttl)

    def test_c_returns_cas_of_store(self):
        cas = self.set("k", "x")
        self.assertGreater(cas, 0)
        self.assertEqual(self.raw(b"mg k c\r\n"), b"HD c%d\r\n" % cas)
        self.assertGreater(self.set("k", "y"), cas)

    def test_k_returns_key_on_hit_and_miss(self):
        self.set("key1", "x")
        self.assertEqual(self.raw(b"mg key1 k v\r\n"), b"VA 1 kkey1\r\nx\r\n")
        self.assertEqual(self.raw(b"mg key2 k v\r\n"), b"EN kkey2\r\n")

    def test_opaque_echoed_on_hit_and_miss(self):
        self.set("k", "x")
        self.assertEqual(self.raw(b"mg k Oabc v\r\n"), b"VA 1 Oabc\r\nx\r\n")
        self.assertEqual(self.raw(b"mg nokey O123\r\n"), b"EN O123\r\n")
        self.assertEqual(self.raw(b"mg nokey O\r\n"), b"EN O\r\n")
        longest = b"o" * 31
        self.assertEqual(self.raw(b"mg nokey O" + longest + b"\r\n"), b"EN O" + longest + b"\r\n")

    def test_flags_come_back_in_request_order(self):
        cas = self.set("foo", "hi", "T0", "F5")
        self.assertEqual(self.raw(b"mg foo v f t s c k h l O123\r\n"),
                         b"VA 2 f5 t-1 s2 c%d kfoo h0 l0 O123\r\nhi\r\n" % cas)
        self.assertEqual(self.raw(b"mg foo O9 k c s t f v\r\n"),
                         b"VA 2 O9 kfoo c%d s2 t-1 f5\r\nhi\r\n" % cas)

    def test_h_tells_whether_hit_before(self):
        self.set("k", "x")
        self.assertEqual(self.raw(b"mg k h\r\n"), b"HD h0\r\n")
        self.assertEqual(self.raw(b"mg k h\r\n"), b"HD h1\r\n")

    def test_l_last_access(self):
        self.set("k", "x")
        self.assertEqual(self.raw(b"mg k l\r\n"), b"HD l0\r\n")

    def test_u_does_not_mark_fetched(self):
        self.set("k", "x")
        self.assertEqual(self.raw(b"mg k u h\r\n"), b"HD h0\r\n")
        self.assertEqual(self.raw(b"mg k h\r\n"), b"HD h0\r\n")
        self.assertEqual(self.raw(b"mg k h\r\n"), b"HD h1\r\n")

    def test_q_hides_only_the_miss(self):
        self.set("k", "hi")
        self.assertEqual(self.raw(b"mg nokey v q\r\nmg k v q\r\nmg nokey q k O1\r\nmg k q\r\n"),
                         b"VA 2\r\nhi\r\nHD\r\n")

    def test_b_base64_key(self):
        key = b"\x00bin\xffkey \r\n"
        self.assertEqual(self.c.ms(key, "v").code, b"HD")
        r = self.c.mg(key, "v", "k")
        self.assertEqual(r.raw(), b"VA 1 kAGJpbv9rZXkgDQo= b\r\nv\r\n")
        # The same key spelled plainly and in base64 is one item; k returns the key the way
        # it was stored (an item stored with b comes back in base64 with b).
        self.set("foo", "plain")
        self.assertEqual(self.raw(b"mg Zm9v b v k\r\n"), b"VA 5 kfoo\r\nplain\r\n")
        self.assertEqual(self.raw(b"ms Zm9v 1 b\r\nx\r\nmg foo k\r\n"), b"HD\r\nHD kZm9v b\r\n")

    def test_C_skips_value_when_cas_matches(self):
        cas = self.set("k", "ab")
        self.assertEqual(self.raw(b"mg k C%d v c\r\n" % cas), b"HD c%d\r\n" % cas)
        self.assertEqual(self.raw(b"mg k C%d v c\r\n" % (cas + 1000)),
                         b"VA 2 c%d\r\nab\r\n" % cas)

    def test_E_sets_cas_of_vivified_item(self):
        self.assertEqual(self.raw(b"mg ev N30 E999 c\r\n"), b"HD c999 W\r\n")
        self.assertEqual(self.raw(b"mg ev c\r\n"), b"HD c999 Z\r\n")

    def test_E_does_not_change_cas_of_plain_hit(self):
        cas = self.set("k", "x")
        self.assertEqual(self.raw(b"mg k E77 c\r\n"), b"HD c%d\r\n" % cas)

    def test_T_updates_ttl(self):
        self.set("k", "x", "T100")
        self.assertEqual(self.raw(b"mg k T500 t v\r\n"), b"VA 1 t500\r\nx\r\n")
        self.assertEqual(self.raw(b"mg k t\r\n"), b"HD t500\r\n")
        self.assertEqual(self.raw(b"mg k T0 t\r\n"), b"HD t-1\r\n")

    def test_N_vivifies_miss_with_one_winner(self):
        self.assertEqual(self.raw(b"mg hot s v N30 t\r\n"), b"VA 0 s0 t30 W\r\n\r\n")
        self.assertEqual(self.raw(b"mg hot s v N30 t\r\n"), b"VA 0 s0 t30 Z\r\n\r\n")
        self.assertEqual(self.raw(b"mg hot v N30 q\r\n"), b"VA 0 Z\r\n\r\n")
        self.assertEqual(self.raw(b"mg hot\r\n"), b"HD Z\r\n")
        self.assertEqual(self.c.ms("hot", "new", "T60").code, b"HD")
        self.assertEqual(self.raw(b"mg hot v N30\r\n"), b"VA 3\r\nnew\r\n")

    def test_R_wins_recache_below_ttl(self):
        self.set("rc", "abc", "T100")
        self.assertEqual(self.raw(b"mg rc v R30 t\r\n"), b"VA 3 t100\r\nabc\r\n")
        self.assertEqual(self.raw(b"mg rc v R200 t\r\n"), b"VA 3 t100 W\r\nabc\r\n")
        self.assertEqual(self.raw(b"mg rc v R200 t\r\n"), b"VA 3 t100 Z\r\nabc\r\n")
        self.set("rc", "new", "T1000")
        self.assertEqual(self.raw(b"mg rc v R200\r\n"), b"VA 3\r\nnew\r\n")

    def test_stale_item_reports_X_with_one_W(self):
        self.set("st", "old", "T100")
        self.assertEqual(self.raw(b"md st I T30\r\n"), b"HD\r\n")
        cas = self.c.mg("st", "c").int("c")
        self.assertEqual(self.raw(b"mg st v t\r\n"), b"VA 3 t30 Z X\r\nold\r\n")
        self.set("st", "new")
        self.assertEqual(self.raw(b"mg st v\r\n"), b"VA 3\r\nnew\r\n")
        self.assertGreater(cas, 0)

    def test_first_fetch_of_stale_item_wins(self):
        self.set("st", "old")
        self.raw(b"md st I\r\n")
        self.assertEqual(self.raw(b"mg st v\r\n"), b"VA 3 X W\r\nold\r\n")
        self.assertEqual(self.raw(b"mg st v\r\n"), b"VA 3 Z X\r\nold\r\n")

    def test_P_and_L_are_ignored(self):
        self.set("k", "x")
        self.assertEqual(self.raw(b"mg k Lpath/ Pproxy v\r\n"), b"VA 1\r\nx\r\n")
        self.assertEqual(self.raw(b"mg k P L v\r\n"), b"VA 1\r\nx\r\n")


class MetaSetTest(MetaCase):
    def test_hd_and_stored_value(self):
        self.assertEqual(self.raw(b"ms k 2\r\nhi\r\n"), b"HD\r\n")
        self.assertEqual(self.raw(b"mg k v f t\r\n"), b"VA 2 f0 t-1\r\nhi\r\n")

    def test_empty_value(self):
        self.assertEqual(self.raw(b"ms k 0\r\n\r\nmg k v s\r\n"), b"HD\r\nVA 0 s0\r\n\r\n")

    def test_F_and_T(self):
        self.assertEqual(self.raw(b"ms k 1 F123 T100\r\nx\r\nmg k f t\r\n"),
                         b"HD\r\nHD f123 t100\r\n")

    def test_c_k_O_s_in_order(self):
        r = self.c.ms("k", "abc", "s", "c", "k", "O1")
        self.assertEqual(r.raw(), b"HD s3 c%d kk O1\r\n" % r.int("c"))

    def test_s_is_new_size_after_append(self):
        self.set("k", "abc")
        self.assertEqual(self.raw(b"ms k 2 MA s\r\nde\r\n"), b"HD s5\r\n")

    def test_q_hides_only_hd(self):
        cas = self.set("k", "x")
        self.assertEqual(
            self.raw(b"ms k 1 q\r\ny\r\nms k 1 q C%d\r\nz\r\nms nokey 1 q MR\r\nz\r\n"
                     b"ms nokey 1 q C5\r\nz\r\n" % cas),
            b"EX\r\nNS\r\nNF\r\n")
        self.assertEqual(self.raw(b"mg k v\r\n"), b"VA 1\r\ny\r\n")

    def test_C_compare_and_swap(self):
        cas = self.set("k", "x")
        self.assertEqual(self.raw(b"ms k 1 C%d c\r\ny\r\n" % (cas + 1000)), b"EX c0\r\n")
        r = self.c.ms("k", "z", "C%d" % cas, "c")
        self.assertEqual(r.code, b"HD")
        self.assertGreater(r.int("c"), cas)
        self.assertEqual(self.raw(b"ms nokey 1 C1\r\nx\r\n"), b"NF\r\n")

    def test_E_sets_cas(self):
        self.assertEqual(self.raw(b"ms k 1 E5000 c\r\nx\r\n"), b"HD c5000\r\n")
        self.assertEqual(self.raw(b"mg k c\r\n"), b"HD c5000\r\n")
        self.assertEqual(self.raw(b"ms k 1 C5000 E6000\r\ny\r\nmg k c v\r\n"),
                         b"HD\r\nVA 1 c6000\r\ny\r\n")

    def test_mode_E_adds(self):
        self.assertEqual(self.raw(b"ms k 1 ME\r\nx\r\nms k 1 ME\r\ny\r\nmg k v\r\n"),
                         b"HD\r\nNS\r\nVA 1\r\nx\r\n")

    def test_mode_R_replaces(self):
        self.assertEqual(self.raw(b"ms k 1 MR\r\nx\r\n"), b"NS\r\n")
        self.set("k", "x")
        self.assertEqual(self.raw(b"ms k 1 MR\r\ny\r\nmg k v\r\n"), b"HD\r\nVA 1\r\ny\r\n")

    def test_mode_A_and_P(self):
        self.assertEqual(self.raw(b"ms k 1 MA\r\nx\r\nms k 1 MP\r\nx\r\n"), b"NS\r\nNS\r\n")
        self.set("k", "mid", "F9")
        self.assertEqual(self.raw(b"ms k 1 MA F1\r\n+\r\nms k 1 MP\r\n-\r\nmg k v f\r\n"),
                         b"HD\r\nHD\r\nVA 5 f9\r\n-mid+\r\n")

    def test_mode_S_sets(self):
        self.assertEqual(self.raw(b"ms k 1 MS\r\nx\r\nms k 1 MS\r\ny\r\nmg k v\r\n"),
                         b"HD\r\nHD\r\nVA 1\r\ny\r\n")

    def test_append_respects_cas(self):
        cas = self.set("k", "a")
        self.assertEqual(self.raw(b"ms k 1 MA C%d\r\nb\r\n" % (cas + 1000)), b"EX\r\n")
        self.assertEqual(self.raw(b"ms k 1 MA C%d\r\nb\r\nmg k v\r\n" % cas),
                         b"HD\r\nVA 2\r\nab\r\n")

    def test_N_vivifies_append_on_miss(self):
        self.assertEqual(self.raw(b"ms k 3 MA N30\r\nabc\r\nmg k v t\r\n"),
                         b"HD\r\nVA 3 t30\r\nabc\r\n")

    def test_invalid_mode_swallows_data(self):
        self.assertEqual(self.raw(b"ms k 2 MZ\r\nhi\r\n"),
                         b"CLIENT_ERROR invalid mode for ms M token\r\n")
        self.assertEqual(self.raw(b"ms k 1 Ms\r\nx\r\n"),
                         b"CLIENT_ERROR invalid mode for ms M token\r\n")
        self.assertEqual(self.raw(b"mg k v\r\n"), b"EN\r\n")

    def test_I_with_older_cas_stores_as_stale(self):
        cas = self.set("st", "old")
        self.assertEqual(self.raw(b"md st I\r\n"), b"HD\r\n")
        stale_cas = self.c.mg("st", "c").int("c")
        self.assertGreater(stale_cas, cas)
        self.assertEqual(self.raw(b"ms st 3 I C%d\r\nxxx\r\n" % cas), b"HD\r\n")
        r = self.c.mg("st", "v", "c")
        self.assertEqual(r.raw(), b"VA 3 c%d Z X\r\nxxx\r\n" % r.int("c"))

    def test_I_without_C_is_plain_set(self):
        self.assertEqual(self.raw(b"ms k 2 I\r\nhi\r\nmg k v\r\n"), b"HD\r\nVA 2\r\nhi\r\n")

    def test_b_base64_key(self):
        self.assertEqual(self.raw(b"ms Zm9v 2 b k\r\nhi\r\n"), b"HD kZm9v b\r\n")
        self.assertEqual(self.raw(b"mg foo v\r\n"), b"VA 2\r\nhi\r\n")

    def test_too_large_value_swallowed(self):
        big = 2 * 1024 * 1024
        self.assertEqual(self.raw(b"ms k %d T0\r\n" % big + b"a" * big + b"\r\n"),
                         b"SERVER_ERROR object too large for cache\r\n")
        self.assertEqual(self.raw(b"mg k v\r\n"), b"EN\r\n")


class MetaDeleteTest(MetaCase):
    def test_hd_and_nf(self):
        self.set("k", "x")
        self.assertEqual(self.raw(b"md k\r\nmd k\r\nmg k\r\n"), b"HD\r\nNF\r\nEN\r\n")

    def test_q_hides_only_hd(self):
        self.set("k", "x")
        self.assertEqual(self.raw(b"md k q\r\nmd k q\r\n"), b"NF\r\n")
        cas = self.set("k", "x")
        self.assertEqual(self.raw(b"md k q C%d\r\n" % (cas + 1000)), b"EX\r\n")

    def test_C_compare(self):
        cas = self.set("k", "x")
        self.assertEqual(self.raw(b"md k C%d\r\n" % (cas + 1000)), b"EX\r\n")
        self.assertEqual(self.raw(b"md k C%d\r\nmg k\r\n" % cas), b"HD\r\nEN\r\n")

    def test_k_O_b(self):
        self.set("k", "x")
        self.assertEqual(self.raw(b"md k k O9\r\n"), b"HD kk O9\r\n")
        self.assertEqual(self.raw(b"md k k O9\r\n"), b"NF kk O9\r\n")
        self.set("foo", "x")
        self.assertEqual(self.raw(b"md Zm9v b k\r\n"), b"HD kZm9v b\r\n")

    def test_I_marks_stale_and_bumps_cas(self):
        cas = self.set("k", "x", "T100")
        self.assertEqual(self.raw(b"md k I T30\r\n"), b"HD\r\n")
        r = self.c.mg("k", "v", "c", "t")
        self.assertGreater(r.int("c"), cas)
        self.assertEqual(r.raw(), b"VA 1 c%d t30 X W\r\nx\r\n" % r.int("c"))

    def test_I_with_E_sets_cas(self):
        self.set("k", "x")
        self.assertEqual(self.raw(b"md k E88 I\r\nmg k c\r\n"), b"HD\r\nHD c88 X W\r\n")

    def test_I_on_miss_is_nf(self):
        self.assertEqual(self.raw(b"md nokey I\r\n"), b"NF\r\n")

    def test_T_without_I_deletes(self):
        self.set("k", "x", "T100")
        self.assertEqual(self.raw(b"md k T5\r\nmg k t\r\n"), b"HD\r\nEN\r\n")

    def test_x_removes_value_keeps_item(self):
        self.set("k", "abc", "T100", "F7")
        # The emptied item keeps neither the client flags nor the TTL.
        self.assertEqual(self.raw(b"md k x\r\nmg k v s f t\r\n"),
                         b"HD\r\nVA 0 s0 f0 t-1\r\n\r\n")

    def test_x_with_I_leaves_stale_tombstone(self):
        self.set("k", "abc", "T100")
        self.assertEqual(self.raw(b"md k x I T50\r\nmg k v t\r\n"), b"HD\r\nVA 0 t50 X W\r\n\r\n")


class MetaArithmeticTest(MetaCase):
    def test_hd_nf(self):
        self.set("n", "5")
        self.assertEqual(self.raw(b"ma n\r\nmg n v\r\nma nokey\r\n"), b"HD\r\nVA 1\r\n6\r\nNF\r\n")

    def test_v_D_and_modes(self):
        self.set("n", "10")
        self.assertEqual(
            self.raw(b"ma n v D5\r\nma n v MI\r\nma n v M+\r\nma n v MD D3\r\nma n v M-\r\n"
                     b"ma n v MD D100\r\n"),
            b"VA 2\r\n15\r\nVA 2\r\n16\r\nVA 2\r\n17\r\nVA 2\r\n14\r\nVA 2\r\n13\r\nVA 1\r\n0\r\n")

    def test_incr_wraps(self):
        self.set("n", "18446744073709551615")
        self.assertEqual(self.raw(b"ma n v\r\n"), b"VA 1\r\n0\r\n")
        self.set("n", "18446744073709551615")
        self.assertEqual(self.raw(b"ma n v D2\r\n"), b"VA 1\r\n1\r\n")

    def test_N_J_autovivify(self):
        self.assertEqual(self.raw(b"ma n N0 J10 v\r\nma n v\r\n"), b"VA 2\r\n10\r\nVA 2\r\n11\r\n")
        self.assertEqual(self.raw(b"ma m N0 v\r\n"), b"VA 1\r\n0\r\n")
        self.assertEqual(self.raw(b"ma t N100 J1 t v\r\n"), b"VA 1 t100\r\n1\r\n")

    def test_t_c_k_O(self):
        self.set("n", "1", "T0")
        r = self.c.ma("n", "v", "t", "c", "k", "O5")
        self.assertEqual(r.raw(), b"VA 1 t-1 c%d kn O5\r\n2\r\n" % r.int("c"))
        self.assertEqual(self.c.mg("n", "c").int("c"), r.int("c"))

    def test_T_updates_ttl(self):
        self.set("n", "1", "T0")
        self.assertEqual(self.raw(b"ma n T300 t\r\n"), b"HD t300\r\n")

    def test_C_compare(self):
        cas = self.set("n", "1")
        self.assertEqual(self.raw(b"ma n C%d v\r\n" % (cas + 1000)), b"EX\r\n")
        self.assertEqual(self.raw(b"ma n C%d v\r\n" % cas), b"VA 1\r\n2\r\n")

    def test_E_sets_cas(self):
        self.set("n", "1")
        self.assertEqual(self.raw(b"ma n E4242 c\r\n"), b"HD c4242\r\n")

    def test_q_hides_success_only(self):
        cas = self.set("n", "5")
        self.assertEqual(
            self.raw(b"ma n q v\r\nma n q\r\nma n C%d q\r\nma nokey q\r\nmg n v\r\n" % (cas + 1000)),
            b"EX\r\nNF\r\nVA 1\r\n7\r\n")

    def test_b_key(self):
        self.set("cx", "7")
        self.assertEqual(self.raw(b"ma Y3g= b v k\r\n"), b"VA 1 kY3g= b\r\n8\r\n")

    def test_non_numeric_value(self):
        self.set("s", "hi")
        self.assertEqual(self.raw(b"ma s\r\n"),
                         b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")

    def test_bad_mode_and_numbers(self):
        self.set("n", "1")
        self.assertEqual(self.raw(b"ma n MX\r\n"), b"CLIENT_ERROR invalid mode for ma M token\r\n")
        self.assertEqual(self.raw(b"ma n Dx\r\n"), b"CLIENT_ERROR invalid or duplicate flag\r\n")
        self.assertEqual(self.raw(b"ma n Jx\r\n"), b"CLIENT_ERROR invalid or duplicate flag\r\n")
        self.assertEqual(self.raw(b"ma n v v\r\n"), b"CLIENT_ERROR invalid or duplicate flag\r\n")


class MetaNoopDebugTest(MetaCase):
    def test_mn(self):
        self.assertEqual(self.c.mn().raw(), b"MN\r\n")
        self.assertEqual(self.raw(b"mn\r\n"), b"MN\r\n")

    def test_me_miss(self):
        self.assertEqual(self.raw(b"me nokey\r\n"), b"EN\r\n")

    def test_me_hit(self):
        cas = self.set("k", "x")
        line = self.raw(b"me k\r\n")
        self.assertRegex(line, rb"^ME k exp=-1 la=\d+ cas=%d fetch=no cls=\d+ size=\d+\r\n$" % cas)
        self.c.mg("k", "v")
        self.assertRegex(self.raw(b"me k\r\n"), rb"^ME k exp=-1 la=\d+ cas=%d fetch=yes " % cas)
        self.set("t", "x", "T100")
        self.assertRegex(self.raw(b"me t\r\n"), rb"^ME t exp=(99|100) ")

    def test_me_of_binary_key_prints_base64(self):
        self.assertEqual(self.raw(b"ms Y20= 1 b\r\nx\r\n"), b"HD\r\n")
        self.assertRegex(self.raw(b"me cm\r\n"), rb"^ME Y20= exp=-1 ")

    def test_me_without_key(self):
        self.assertEqual(self.raw(b"me\r\n"), b"CLIENT_ERROR bad command line format\r\n")


class MetaErrorTest(MetaCase):
    def test_no_key(self):
        for cmd in (b"mg", b"md", b"ma"):
            self.assertEqual(self.raw(cmd + b"\r\n"), b"CLIENT_ERROR bad command line format\r\n")

    def test_key_too_long(self):
        long_key = b"a" * 251
        self.assertEqual(self.raw(b"mg " + long_key + b" v\r\n"),
                         b"CLIENT_ERROR bad command line format\r\n")
        self.assertEqual(self.raw(b"mg " + b"a" * 250 + b" v\r\n"), b"EN\r\n")

    def test_invalid_flag(self):
        self.assertEqual(self.raw(b"mg k zz\r\n"), b"CLIENT_ERROR invalid flag\r\n")
        self.assertEqual(self.raw(b"mg k j\r\n"), b"CLIENT_ERROR invalid flag\r\n")
        self.assertEqual(self.raw(b"mg k !\r\n"), b"CLIENT_ERROR bad command line format\r\n")

    def test_duplicate_flag(self):
        self.assertEqual(self.raw(b"mg k v v\r\n"), b"CLIENT_ERROR duplicate flag\r\n")
        self.assertEqual(self.raw(b"mg k T1 T2\r\n"), b"CLIENT_ERROR duplicate flag\r\n")

    def test_bad_token(self):
        self.assertEqual(self.raw(b"mg k T\r\n"), b"CLIENT_ERROR bad token in command line format\r\n")
        self.assertEqual(self.raw(b"mg k Nx\r\n"),
                         b"CLIENT_ERROR bad token in command line format\r\n")

    def test_bad_base64(self):
        for key in (b"!!!!", b"Zm9", b"Zm9v="):
            self.assertEqual(self.raw(b"mg " + key + b" b\r\n"),
                             b"CLIENT_ERROR error decoding key\r\n", key)

    def test_opaque_too_long(self):
        self.assertEqual(self.raw(b"mg k O" + b"o" * 32 + b"\r\n"),
                         b"CLIENT_ERROR opaque token too long\r\n")

    def test_empty_line(self):
        self.assertEqual(self.raw(b"\r\n"), b"CLIENT_ERROR bad command line format\r\n")


class RefusedSetTest(MetaCase):
    """A refused ms must leave the stream in step: each case is followed by mn and mg."""

    def check_in_step(self):
        self.assertEqual(self.raw(b"mg after v\r\n"), b"EN\r\n")

    def test_invalid_flag_swallows_data(self):
        self.assertEqual(self.raw(b"ms k 2 zz\r\nhi\r\n"), b"CLIENT_ERROR invalid flag\r\n")
        self.check_in_step()

    def test_duplicate_flag_swallows_data(self):
        self.assertEqual(self.raw(b"ms k 2 F5 F6\r\nhi\r\n"), b"CLIENT_ERROR duplicate flag\r\n")
        self.check_in_step()

    def test_bad_token_swallows_data(self):
        self.assertEqual(self.raw(b"ms k 2 T\r\nhi\r\n"),
                         b"CLIENT_ERROR bad token in command line format\r\n")
        self.assertEqual(self.raw(b"ms k 2 Fx\r\nhi\r\n"),
                         b"CLIENT_ERROR bad command line format\r\n")
        self.check_in_step()

    def test_key_too_long_swallows_data(self):
        self.assertEqual(self.raw(b"ms " + b"a" * 251 + b" 2\r\nhi\r\n"),
                         b"CLIENT_ERROR bad command line format\r\n")
        self.check_in_step()

    def test_data_as_command_when_length_unreadable(self):
        # Without a readable length there is no data block: the next line is a command.
        self.assertEqual(self.raw(b"ms k bar\r\nhi\r\n"),
                         b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
        self.assertEqual(self.raw(b"ms k -1\r\nhi\r\n"),
                         b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
        self.assertEqual(self.raw(b"ms k S2\r\nhi\r\n"),
                         b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
        self.check_in_step()

    def test_bad_data_chunk(self):
        # memcached reads datalen + 2 bytes; the byte after them starts the next line.
        self.assertEqual(self.raw(b"ms k 2\r\nhiX\r\n"),
                         b"CLIENT_ERROR bad data chunk\r\nCLIENT_ERROR bad command line format\r\n")
        self.assertEqual(self.raw(b"ms k 2\r\nhiXY"), b"CLIENT_ERROR bad data chunk\r\n")
        self.assertEqual(self.raw(b"mg k v\r\n"), b"EN\r\n")
        self.check_in_step()

    def test_base64_error_swallows_data(self):
        self.assertEqual(self.raw(b"ms !!!! 2 b\r\nhi\r\n"), b"CLIENT_ERROR error decoding key\r\n")
        self.check_in_step()


class MixedProtocolTest(MetaCase):
    def test_classic_and_meta_share_items(self):
        self.c.send(b"set k 5 0 3\r\nabc\r\n")
        self.assertEqual(self.c.line(), b"STORED")
        self.assertEqual(self.raw(b"mg k v f\r\n"), b"VA 3 f5\r\nabc\r\n")
        cas = self.set("k", "xyz", "F7")
        self.c.send(b"gets k\r\n")
        self.assertEqual([self.c.line() for _ in range(3)],
                         [b"VALUE k 7 3 %d" % cas, b"xyz", b"END"])

    def test_interleaved_pipeline(self):
        data = (b"set a 0 0 1\r\n1\r\nmg a v\r\nincr a 5\r\nma a v\r\nms b 2\r\nhi\r\nget a b\r\n"
                b"md a q\r\ndelete a\r\nmg a v q\r\ntouch b 100\r\nmg b t\r\n")
        self.assertEqual(self.raw(data),
                         b"STORED\r\nVA 1\r\n1\r\n6\r\nVA 1\r\n7\r\nHD\r\n"
                         b"VALUE a 0 1\r\n7\r\nVALUE b 0 2\r\nhi\r\nEND\r\n"
                         b"NOT_FOUND\r\nTOUCHED\r\nHD t100\r\n")


class PipelineTest(MetaCase):
    def test_quiet_multiget_matched_by_opaque(self):
        items = {"key%d" % i: ("value %d" % i).encode() for i in range(0, 100, 3)}
        self.assertEqual(self.c.set_multi(items), {})
        keys = ["key%d" % i for i in range(100)]
        found = self.c.get_multi(keys, "v")
        self.assertEqual({k: r.value for k, r in found.items()}, items)

    def test_binary_keys_round_trip(self):
        items = {bytes([i, 0, 255 - i, 10, 13]): b"v%d" % i for i in range(20)}
        self.assertEqual(self.c.set_multi(items), {})
        found = self.c.get_multi(list(items), "v", "k")
        self.assertEqual({k: r.value for k, r in found.items()}, items)
        for r in found.values():
            self.assertTrue(r.has("b"))


class MetaStatsTest(MetaCase):
    def delta(self, request):
        before = self.c.stats()
        self.raw(request)
        after = self.c.stats()
        names = ("cmd_get", "get_hits", "get_misses", "cmd_set", "cmd_touch", "touch_hits",
                 "touch_misses", "delete_hits", "delete_misses", "incr_hits", "incr_misses",
                 "decr_hits", "decr_misses", "cas_hits", "cas_misses", "cas_badval", "cmd_meta")
        return {n: int(after[n]) - int(before[n]) for n in names
                if int(after[n]) != int(before[n])}

    def test_mg(self):
        self.assertEqual(self.delta(b"mg s v\r\n"), {"cmd_get": 1, "get_misses": 1})
        self.set("s", "x")
        self.assertEqual(self.delta(b"mg s v\r\n"), {"cmd_get": 1, "get_hits": 1})
        self.assertEqual(self.delta(b"mg s\r\n"), {"cmd_get": 1, "get_hits": 1})
        self.assertEqual(self.delta(b"mg s q v\r\nmg t q v\r\n"),
                         {"cmd_get": 2, "get_hits": 1, "get_misses": 1})

    def test_mg_with_T_counts_as_touch(self):
        self.set("s", "x")
        self.assertEqual(self.delta(b"mg s T30 v\r\n"), {"cmd_touch": 1, "touch_hits": 1})
        self.assertEqual(self.delta(b"mg nos T30 v\r\n"), {"cmd_get": 1, "get_misses": 1})

    def test_mg_vivify_counts_as_hit(self):
        self.assertEqual(self.delta(b"mg nos N30 v\r\n"), {"cmd_get": 1, "get_hits": 1})

    def test_ms(self):
        self.assertEqual(self.delta(b"ms s 1\r\nx\r\n"), {"cmd_set": 1})
        self.assertEqual(self.delta(b"ms s 1 MR\r\nx\r\nms nos 1 MR\r\nx\r\n"), {"cmd_set": 2})
        cas = self.c.mg("s", "c").int("c")
        self.assertEqual(self.delta(b"ms s 1 C%d\r\nx\r\n" % cas), {"cmd_set": 1, "cas_hits": 1})
        self.assertEqual(self.delta(b"ms s 1 C%d\r\nx\r\n" % cas),
                         {"cmd_set": 1, "cas_badval": 1})
        self.assertEqual(self.delta(b"ms nos 1 C1\r\nx\r\n"), {"cmd_set": 1, "cas_misses": 1})

    def test_md(self):
        self.set("s", "x")
        self.assertEqual(self.delta(b"md s\r\n"), {"delete_hits": 1})
        self.assertEqual(self.delta(b"md s\r\n"), {"delete_misses": 1})
        self.set("s", "x")
        self.assertEqual(self.delta(b"md s C1\r\n"), {"delete_misses": 1})
        # Emptying the value (x) counts as a delete hit; marking stale (I) counts nothing.
        self.assertEqual(self.delta(b"md s x\r\n"), {"delete_hits": 1})
        self.assertEqual(self.delta(b"md s I\r\n"), {})

    def test_ma(self):
        self.set("n", "5")
        self.assertEqual(self.delta(b"ma n\r\n"), {"incr_hits": 1})
        self.assertEqual(self.delta(b"ma n MD\r\n"), {"decr_hits": 1})
        self.assertEqual(self.delta(b"ma non\r\n"), {"incr_misses": 1})
        self.assertEqual(self.delta(b"ma non MD\r\n"), {"decr_misses": 1})

    def test_me_mn(self):
        self.assertEqual(self.delta(b"me s\r\n"), {"cmd_meta": 1})
        self.assertEqual(self.delta(b"mn\r\n"), {})


class MetaTransportTest(unittest.TestCase):
    def test_udp(self):
        with mcd_server.Server(mcd_server.BINARY, udp=True) as server:
            with UdpMetaClient(server.port) as u:
                self.assertEqual(u.request(b"ms uk 2 T0\r\nhi\r\n"), b"HD\r\n")
                self.assertRegex(u.request(b"mg uk v k c\r\n"), rb"^VA 2 kuk c\d+\r\nhi\r\n$")
                self.assertEqual(u.request(b"mg uk s v\r\n"), b"VA 2 s2\r\nhi\r\n")
                self.assertEqual(u.request(b"mg nokey v\r\n"), b"EN\r\n")
                self.assertEqual(u.request(b"mn\r\n"), b"MN\r\n")
                self.assertEqual(u.request(b"md uk q\r\nmg uk v\r\n"), b"EN\r\n")
                value = b"z" * 5000  # a reply of several datagrams
                with MetaClient(server.port) as c:
                    self.assertEqual(c.ms("big", value).code, b"HD")
                replies = u.replies(b"mg big v\r\n")
                self.assertEqual([(r.code, r.value) for r in replies], [(b"VA", value)])

    def test_unix_socket(self):
        with tempfile.TemporaryDirectory() as d:
            os.chmod(d, 0o777)  # the server may drop to user nobody before it binds
            path = os.path.join(d, "mc.sock")
            with mcd_server.Server(mcd_server.BINARY, unix_path=path):
                with MetaClient(unix_path=path) as c:
                    self.assertEqual(c.ms("k", "hi", "T0").code, b"HD")
                    self.assertEqual(c.mg("k", "v", "s").raw(), b"VA 2 s2\r\nhi\r\n")
                    self.assertEqual(c.pipeline([b"mg nokey v q\r\n", b"md k q\r\n"]), [])
                    self.assertEqual(c.mg("k", "v").raw(), b"EN\r\n")


class StaleWhileRevalidateTest(MetaCase):
    """Many connections ask for one hot key at once: exactly one is told to recache (W)."""

    def concurrent(self, request):
        """Sends `request` on CONCURRENT_CLIENTS connections released together; the replies."""
        clients = [MetaClient(self.server.port) for _ in range(CONCURRENT_CLIENTS)]
        barrier = threading.Barrier(len(clients))
        replies = [None] * len(clients)
        errors = []

        def run(i):
            try:
                barrier.wait(timeout=10)
                clients[i].send(request)
                replies[i] = clients[i].reply()
            except Exception as e:  # pylint: disable=broad-except
                errors.append(e)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
        for c in clients:
            c.close()
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(errors, [])
        return replies

    def assert_one_winner(self, replies):
        winners = [r for r in replies if r.has("W")]
        self.assertEqual(len(winners), 1, replies)
        for r in replies:
            if r is not winners[0]:
                self.assertTrue(r.has("Z") and not r.has("W"), r)

    def test_miss_with_vivify(self):
        replies = self.concurrent(b"mg hot v c N30\r\n")
        self.assert_one_winner(replies)
        for r in replies:
            self.assertEqual((r.code, r.value), (b"VA", b""))
        # Until the winner recaches, everyone else keeps seeing Z.
        self.assertTrue(self.c.mg("hot", "v", "N30").has("Z"))
        winner_cas = [r for r in replies if r.has("W")][0].int("c")
        self.assertEqual(self.c.ms("hot", "fresh", "T60", "C%d" % winner_cas).code, b"HD")
        for r in self.concurrent(b"mg hot v N30\r\n"):
            self.assertEqual(r.raw(), b"VA 5\r\nfresh\r\n")

    def test_recache_before_expiry(self):
        self.set("hot", "old", "T100")
        replies = self.concurrent(b"mg hot v R200\r\n")
        self.assert_one_winner(replies)
        for r in replies:
            self.assertEqual(r.value, b"old")
        self.set("hot", "new", "T1000")
        for r in self.concurrent(b"mg hot v R200\r\n"):
            self.assertEqual(r.raw(), b"VA 3\r\nnew\r\n")

    def test_invalidation(self):
        self.set("hot", "old")
        self.assertEqual(self.c.md("hot", "I", "T30").code, b"HD")
        replies = self.concurrent(b"mg hot v c\r\n")
        self.assert_one_winner(replies)
        for r in replies:
            self.assertTrue(r.has("X"), r)
            self.assertEqual(r.value, b"old")
        stale_cas = replies[0].int("c")
        self.assertEqual(self.c.ms("hot", "new", "C%d" % stale_cas).code, b"HD")
        for r in self.concurrent(b"mg hot v\r\n"):
            self.assertEqual(r.raw(), b"VA 3\r\nnew\r\n")

    def test_many_rounds_each_have_one_winner(self):
        for rnd in range(5):
            key = b"round%d" % rnd
            self.assert_one_winner(self.concurrent(build("mg", key, "N30", "v")))


if __name__ == "__main__":
    mcd_server.main()
