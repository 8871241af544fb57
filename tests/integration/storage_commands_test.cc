// Classic text-protocol commands, success and error replies byte for byte (as memcached 1.6.18
// sends them).
#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "server_process.h"

namespace mcd::testing {
namespace {

using StorageCommandsTest = SharedServerTest;
// Delayed flushes leave a timer pending, so they get a server of their own.
using FlushDelayTest = ServerTest;

// Returns the cas unique of `key` from a `gets`, or 0 if it is missing.
uint64_t CasOf(Client& c, const std::string& key) {
  std::string reply = c.Call("gets " + key + "\r\n");
  // VALUE <key> <flags> <bytes> <cas>\r\n
  size_t eol = reply.find("\r\n");
  if (reply.rfind("VALUE ", 0) != 0 || eol == std::string::npos) return 0;
  size_t sp = reply.rfind(' ', eol);
  return std::stoull(reply.substr(sp + 1, eol - sp - 1));
}

TEST_F(StorageCommandsTest, SetThenGet) {
  EXPECT_TRUE(c_->Expect("set k 0 0 5\r\nhello\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get k\r\n", "VALUE k 0 5\r\nhello\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("set k 42 0 3\r\nbye\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get k\r\n", "VALUE k 42 3\r\nbye\r\nEND\r\n"));
}

TEST_F(StorageCommandsTest, MaxFlagsRoundTrip) {
  EXPECT_TRUE(c_->Expect("set f 4294967295 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get f\r\n", "VALUE f 4294967295 1\r\nx\r\nEND\r\n"));
}

TEST_F(StorageCommandsTest, EmptyValue) {
  EXPECT_TRUE(c_->Expect("set e 0 0 0\r\n\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get e\r\n", "VALUE e 0 0\r\n\r\nEND\r\n"));
}

TEST_F(StorageCommandsTest, GetMiss) { EXPECT_TRUE(c_->Expect("get nope\r\n", "END\r\n")); }

TEST_F(StorageCommandsTest, AddStoresOnlyWhenAbsent) {
  EXPECT_TRUE(c_->Expect("add a 1 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("add a 2 0 1\r\ny\r\n", "NOT_STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get a\r\n", "VALUE a 1 1\r\nx\r\nEND\r\n"));
}

TEST_F(StorageCommandsTest, ReplaceStoresOnlyWhenPresent) {
  EXPECT_TRUE(c_->Expect("replace r 0 0 1\r\nx\r\n", "NOT_STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get r\r\n", "END\r\n"));
  EXPECT_TRUE(c_->Expect("set r 0 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("replace r 7 0 2\r\nyy\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get r\r\n", "VALUE r 7 2\r\nyy\r\nEND\r\n"));
}

TEST_F(StorageCommandsTest, AppendPrependKeepFlags) {
  EXPECT_TRUE(c_->Expect("append ap 0 0 1\r\n+\r\n", "NOT_STORED\r\n"));
  EXPECT_TRUE(c_->Expect("prepend ap 0 0 1\r\n-\r\n", "NOT_STORED\r\n"));
  EXPECT_TRUE(c_->Expect("set ap 5 0 2\r\nmm\r\n", "STORED\r\n"));
  // The flags (and exptime) given to append/prepend are ignored.
  EXPECT_TRUE(c_->Expect("append ap 9 0 1\r\n+\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("prepend ap 9 0 1\r\n-\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get ap\r\n", "VALUE ap 5 4\r\n-mm+\r\nEND\r\n"));
}

TEST_F(StorageCommandsTest, MultiGetHitsAndMisses) {
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\n1\r\nset b 3 0 2\r\n22\r\n", "STORED\r\nSTORED\r\n"));
  EXPECT_TRUE(c_->Expect("get x a y b z\r\n", "VALUE a 0 1\r\n1\r\nVALUE b 3 2\r\n22\r\nEND\r\n"));
  // A key asked twice is returned twice.
  EXPECT_TRUE(c_->Expect("get a a\r\n", "VALUE a 0 1\r\n1\r\nVALUE a 0 1\r\n1\r\nEND\r\n"));
}

TEST_F(StorageCommandsTest, GetsReturnsCasThatChangesOnWrite) {
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\n1\r\n", "STORED\r\n"));
  uint64_t cas1 = CasOf(*c_, "a");
  ASSERT_NE(cas1, 0u);
  EXPECT_TRUE(
      c_->Expect("gets a nope\r\n", "VALUE a 0 1 " + std::to_string(cas1) + "\r\n1\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\n2\r\n", "STORED\r\n"));
  uint64_t cas2 = CasOf(*c_, "a");
  EXPECT_NE(cas2, 0u);
  EXPECT_NE(cas1, cas2);
}

TEST_F(StorageCommandsTest, CasStoredExistsNotFound) {
  EXPECT_TRUE(c_->Expect("cas c 0 0 1 1\r\nz\r\n", "NOT_FOUND\r\n"));
  EXPECT_TRUE(c_->Expect("set c 0 0 1\r\nx\r\n", "STORED\r\n"));
  uint64_t cas = CasOf(*c_, "c");
  ASSERT_NE(cas, 0u);
  std::string cas_s = std::to_string(cas);
  EXPECT_TRUE(c_->Expect("cas c 0 0 1 " + std::to_string(cas + 1000) + "\r\nq\r\n", "EXISTS\r\n"));
  EXPECT_TRUE(c_->Expect("cas c 3 0 1 " + cas_s + "\r\ny\r\n", "STORED\r\n"));
  // The unique changed with the store, so the same cas now fails.
  EXPECT_TRUE(c_->Expect("cas c 0 0 1 " + cas_s + "\r\nz\r\n", "EXISTS\r\n"));
  EXPECT_TRUE(c_->Expect("get c\r\n", "VALUE c 3 1\r\ny\r\nEND\r\n"));
}

TEST_F(StorageCommandsTest, CasFormatErrors) {
  // Missing unique: too few tokens is an unknown command; the data line is one more.
  EXPECT_TRUE(c_->Expect("cas c 0 0 1\r\n", "ERROR\r\n"));
  EXPECT_TRUE(
      c_->Expect("cas c 0 0 1 abc\r\nz\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n"));
}

TEST_F(StorageCommandsTest, TouchHitAndMiss) {
  EXPECT_TRUE(c_->Expect("touch t 10\r\n", "NOT_FOUND\r\n"));
  EXPECT_TRUE(c_->Expect("set t 0 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("touch t 10\r\n", "TOUCHED\r\n"));
  EXPECT_TRUE(c_->Expect("get t\r\n", "VALUE t 0 1\r\nx\r\nEND\r\n"));
}

TEST_F(StorageCommandsTest, TouchErrors) {
  EXPECT_TRUE(c_->Expect("touch t\r\n", "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("touch t abc\r\n", "CLIENT_ERROR invalid exptime argument\r\n"));
}

TEST_F(StorageCommandsTest, TouchWithNegativeExptimeExpires) {
  EXPECT_TRUE(c_->Expect("set t 0 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("touch t -1\r\n", "TOUCHED\r\n"));
  EXPECT_TRUE(c_->Expect("get t\r\n", "END\r\n"));
}

TEST_F(StorageCommandsTest, GatAndGats) {
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\n1\r\nset b 5 0 2\r\n22\r\n", "STORED\r\nSTORED\r\n"));
  EXPECT_TRUE(
      c_->Expect("gat 100 a nope b\r\n", "VALUE a 0 1\r\n1\r\nVALUE b 5 2\r\n22\r\nEND\r\n"));
  uint64_t cas = CasOf(*c_, "a");
  ASSERT_NE(cas, 0u);
  EXPECT_TRUE(
      c_->Expect("gats 100 a\r\n", "VALUE a 0 1 " + std::to_string(cas) + "\r\n1\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("gat 100 nope\r\n", "END\r\n"));
  // gat with a negative exptime returns the value and then expires it.
  EXPECT_TRUE(c_->Expect("gat -1 b\r\n", "VALUE b 5 2\r\n22\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("get b\r\n", "END\r\n"));
}

TEST_F(StorageCommandsTest, GatErrors) {
  EXPECT_TRUE(c_->Expect("gat\r\n", "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("gats\r\n", "ERROR\r\n"));
  // memcached quirk: an exptime without keys is an empty multi-get.
  EXPECT_TRUE(c_->Expect("gat 10\r\n", "END\r\n"));
  EXPECT_TRUE(c_->Expect("gat a\r\n", "CLIENT_ERROR invalid exptime argument\r\n"));
  EXPECT_TRUE(c_->Expect("gat abc k\r\n", "CLIENT_ERROR invalid exptime argument\r\n"));
}

TEST_F(StorageCommandsTest, GetWithoutKeyIsError) {
  EXPECT_TRUE(c_->Expect("get\r\n", "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("gets\r\n", "ERROR\r\n"));
}

TEST_F(StorageCommandsTest, DeleteHitMissAndForms) {
  const std::string usage =
      "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n";
  EXPECT_TRUE(c_->Expect("delete d\r\n", "NOT_FOUND\r\n"));
  EXPECT_TRUE(c_->Expect("set d 0 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("delete d\r\n", "DELETED\r\n"));
  EXPECT_TRUE(c_->Expect("get d\r\n", "END\r\n"));
  EXPECT_TRUE(c_->Expect("delete d\r\n", "NOT_FOUND\r\n"));
  // `delete <key> 0` is accepted for old clients; any other time is the usage error.
  EXPECT_TRUE(c_->Expect("set d 0 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("delete d 0\r\n", "DELETED\r\n"));
  EXPECT_TRUE(c_->Expect("set d 0 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("delete d 1\r\n", usage));
  EXPECT_TRUE(c_->Expect("delete d noreply x\r\n", usage));
  EXPECT_TRUE(c_->Expect("get d\r\n", "VALUE d 0 1\r\nx\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("delete\r\n", "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("delete d 0 noreply\r\nget d\r\n", "END\r\n"));
}

TEST_F(StorageCommandsTest, IncrDecrBasics) {
  EXPECT_TRUE(c_->Expect("incr n 1\r\n", "NOT_FOUND\r\n"));
  EXPECT_TRUE(c_->Expect("decr n 1\r\n", "NOT_FOUND\r\n"));
  EXPECT_TRUE(c_->Expect("set n 3 0 2\r\n10\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("incr n 5\r\n", "15\r\n"));
  EXPECT_TRUE(c_->Expect("decr n 3\r\n", "12\r\n"));
  EXPECT_TRUE(c_->Expect("incr n 0\r\n", "12\r\n"));
  EXPECT_TRUE(c_->Expect("get n\r\n", "VALUE n 3 2\r\n12\r\nEND\r\n"));
}

TEST_F(StorageCommandsTest, DecrPadsWithSpacesInPlace) {
  EXPECT_TRUE(c_->Expect("set n 0 0 3\r\n100\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("decr n 1\r\n", "99\r\n"));
  // The length stays 3: the shorter number is padded with a space.
  EXPECT_TRUE(c_->Expect("get n\r\n", "VALUE n 0 3\r\n99 \r\nEND\r\n"));
  // Trailing spaces are accepted on the next incr; growing makes a new, longer value.
  EXPECT_TRUE(c_->Expect("incr n 1\r\n", "100\r\n"));
  EXPECT_TRUE(c_->Expect("incr n 900\r\n", "1000\r\n"));
  EXPECT_TRUE(c_->Expect("get n\r\n", "VALUE n 0 4\r\n1000\r\nEND\r\n"));
}

TEST_F(StorageCommandsTest, IncrWrapsAt2To64) {
  EXPECT_TRUE(c_->Expect("set m 0 0 20\r\n18446744073709551615\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("incr m 1\r\n", "0\r\n"));
  EXPECT_TRUE(c_->Expect("incr m 2\r\n", "2\r\n"));
  EXPECT_TRUE(c_->Expect("set m 0 0 1\r\n5\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("incr m 18446744073709551615\r\n", "4\r\n"));
}

TEST_F(StorageCommandsTest, DecrFloorsAtZero) {
  EXPECT_TRUE(c_->Expect("set m 0 0 1\r\n5\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("decr m 6\r\n", "0\r\n"));
  EXPECT_TRUE(c_->Expect("decr m 1\r\n", "0\r\n"));
  EXPECT_TRUE(c_->Expect("get m\r\n", "VALUE m 0 1\r\n0\r\nEND\r\n"));
}

TEST_F(StorageCommandsTest, IncrErrors) {
  const std::string non_numeric =
      "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
  const std::string bad_delta = "CLIENT_ERROR invalid numeric delta argument\r\n";
  EXPECT_TRUE(c_->Expect("set s 0 0 3\r\nabc\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("incr s 1\r\n", non_numeric));
  EXPECT_TRUE(c_->Expect("decr s 1\r\n", non_numeric));
  EXPECT_TRUE(c_->Expect("set e 0 0 0\r\n\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("incr e 1\r\n", non_numeric));
  // A value above 2^64-1 is not a number either.
  EXPECT_TRUE(c_->Expect("set l 0 0 20\r\n18446744073709551616\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("incr l 1\r\n", non_numeric));
  EXPECT_TRUE(c_->Expect("set n 0 0 1\r\n1\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("incr n abc\r\n", bad_delta));
  EXPECT_TRUE(c_->Expect("incr n -1\r\n", bad_delta));
  EXPECT_TRUE(c_->Expect("decr n 18446744073709551616\r\n", bad_delta));
  EXPECT_TRUE(c_->Expect("incr n\r\n", "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("incr\r\n", "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("get n s\r\n", "VALUE n 0 1\r\n1\r\nVALUE s 0 3\r\nabc\r\nEND\r\n"));
}

TEST_F(StorageCommandsTest, FlushAllImmediate) {
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\n", "STORED\r\nSTORED\r\n"));
  EXPECT_TRUE(c_->Expect("flush_all\r\n", "OK\r\n"));
  EXPECT_TRUE(c_->Expect("get a b\r\n", "END\r\n"));
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\n3\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("flush_all 0\r\n", "OK\r\n"));
  EXPECT_TRUE(c_->Expect("get a\r\n", "END\r\n"));
  // Items stored after a flush are kept.
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\n4\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get a\r\n", "VALUE a 0 1\r\n4\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("flush_all abc\r\n", "CLIENT_ERROR invalid exptime argument\r\n"));
}

TEST_F(FlushDelayTest, FlushAllDelayed) {
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\n1\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("flush_all 2\r\n", "OK\r\n"));
  EXPECT_TRUE(c_->Expect("get a\r\n", "VALUE a 0 1\r\n1\r\nEND\r\n"));
  // We wait on the server's own timer here; the deadline only bounds the wait.
  EXPECT_TRUE(PollUntil([&] { return c_->Call("get a\r\n") == "END\r\n"; }, Duration(10000),
                        Duration(100)));
}

}  // namespace
}  // namespace mcd::testing
