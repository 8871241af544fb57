// Framing and error handling of the text protocol: bad lines, bad data, noreply, pipelining,
// value and key sizes, expiry, connection-closing inputs.
#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "server_process.h"

namespace mcd::testing {
namespace {

using ProtocolTest = SharedServerTest;

constexpr char kBadFormat[] = "CLIENT_ERROR bad command line format\r\n";

TEST_F(ProtocolTest, VersionLine) {
  std::string v = c_->Version();
  EXPECT_EQ(v.rfind("VERSION 1.6.", 0), 0u) << v;
}

TEST_F(ProtocolTest, Verbosity) {
  EXPECT_TRUE(c_->Expect("verbosity 1\r\n", "OK\r\n"));
  EXPECT_TRUE(c_->Expect("verbosity 0\r\n", "OK\r\n"));
  EXPECT_TRUE(c_->Expect("verbosity\r\n", "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("verbosity abc\r\n", kBadFormat));
  EXPECT_TRUE(c_->Expect("verbosity 1 2 3\r\n", "ERROR\r\n"));
}

TEST_F(ProtocolTest, QuitClosesConnection) {
  ASSERT_TRUE(c_->Send("quit\r\nversion\r\n"));
  std::string trailing;
  EXPECT_TRUE(c_->WaitForClose(Duration(3000), &trailing));
  EXPECT_EQ(trailing, "");
}

// A blank line: memcached 1.6.18 ERROR, mcd CLIENT_ERROR as memcached 1.6.45 (compatibility.md
// C28); other short lines are unknown commands.
TEST_F(ProtocolTest, UnknownCommandAndEmptyLine) {
  const std::string blank = BlankLineReply(server().port());
  EXPECT_TRUE(c_->Expect("foo\r\n", "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("foo bar baz\r\n", "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("\r\n", blank));
  EXPECT_TRUE(c_->Expect("\n", blank));
  EXPECT_TRUE(c_->Expect(" \r\n", blank));
  EXPECT_TRUE(c_->Expect(" \n", blank));
  EXPECT_TRUE(c_->Expect("x\r\n", "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("ab\n", "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("SET a 0 0 1\r\n", "ERROR\r\n"));
  // A bare "\n" ends a line too.
  EXPECT_TRUE(c_->Expect("version\n", "VERSION "));
  c_->ReadLine();
}

// Too few or too many tokens: ERROR, and the data line is then read as a command: ERROR again.
TEST_F(ProtocolTest, StorageWrongTokenCount) {
  EXPECT_TRUE(c_->Expect("set a 0 0\r\nxx\r\n", "ERROR\r\nERROR\r\n"));
  EXPECT_TRUE(c_->Expect("set a 0 0 1 2 3\r\nx\r\n", "ERROR\r\nERROR\r\n"));
  EXPECT_TRUE(c_->Expect("set\r\n", "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("get a\r\n", "END\r\n"));
}

// Bad numbers: CLIENT_ERROR, and the data line is then read as a command: ERROR.
TEST_F(ProtocolTest, StorageBadNumbers) {
  const std::string expected = std::string(kBadFormat) + "ERROR\r\n";
  EXPECT_TRUE(c_->Expect("set a 0 0 abc\r\nxx\r\n", expected));
  EXPECT_TRUE(c_->Expect("set a abc 0 1\r\nx\r\n", expected));
  EXPECT_TRUE(c_->Expect("set a 0 abc 1\r\nx\r\n", expected));
  EXPECT_TRUE(c_->Expect("set a 0 0 -1\r\nx\r\n", expected));
  EXPECT_TRUE(c_->Expect("set a -1 0 1\r\nx\r\n", expected));
  EXPECT_TRUE(c_->Expect("set a 99999999999999999999 0 1\r\nx\r\n", expected));
  EXPECT_TRUE(c_->Expect("add a 0 0 z\r\nx\r\n", expected));
  EXPECT_TRUE(c_->Expect("get a\r\n", "END\r\n"));
}

TEST_F(ProtocolTest, BadDataChunk) {
  const std::string chunk = "CLIENT_ERROR bad data chunk\r\n";
  const std::string blank = BlankLineReply(server().port());
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\nx\r\n", "STORED\r\n"));
  // Too many bytes: the server reads <bytes>+2, finds no "\r\n" there, and parses the rest.
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\nxyzw\r\n", chunk + "ERROR\r\n"));
  // The rest may be a blank line.
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\nxyz\r\n", chunk + blank));
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\nxy\r\n", chunk + blank));
  EXPECT_TRUE(c_->Expect("set a 0 0 3\r\nxy\r\n\r\n", chunk + blank));
  EXPECT_TRUE(c_->Expect("set a 0 0 1\r\nx\nget a\r\n", chunk + "ERROR\r\n"));
  // Unlike a too-large value, a bad data chunk leaves the old value in place.
  EXPECT_TRUE(c_->Expect("get a\r\n", "VALUE a 0 1\r\nx\r\nEND\r\n"));
}

TEST_F(ProtocolTest, NoreplyOnEveryCommand) {
  ASSERT_TRUE(
      c_->Send("set a 0 0 1 noreply\r\n1\r\n"
               "add a 0 0 1 noreply\r\n2\r\n"
               "add b 0 0 1 noreply\r\n5\r\n"
               "replace a 0 0 1 noreply\r\n3\r\n"
               "append a 0 0 1 noreply\r\n4\r\n"
               "prepend a 0 0 1 noreply\r\n2\r\n"
               "cas a 0 0 1 1 noreply\r\n9\r\n"
               "incr a 10 noreply\r\n"
               "decr a 1 noreply\r\n"
               "incr nope 1 noreply\r\n"
               "touch a 100 noreply\r\n"
               "touch nope 100 noreply\r\n"
               "delete b noreply\r\n"
               "delete b noreply\r\n"
               "verbosity 0 noreply\r\n"
               "version\r\n"));
  std::string line = c_->ReadLine();
  EXPECT_EQ(line.rfind("VERSION ", 0), 0u) << Escape(line);
  // 234 + 10 - 1
  EXPECT_TRUE(c_->Expect("get a b\r\n", "VALUE a 0 3\r\n243\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("flush_all noreply\r\nget a\r\n", "END\r\n"));
  EXPECT_TRUE(c_->Expect("flush_all 0 noreply\r\nversion\r\n", "VERSION "));
  c_->ReadLine();
  EXPECT_TRUE(c_->Expect("set c 0 0 1 noreply\r\n1\r\ngets c\r\n", "VALUE c 0 1 "));
  c_->ReadUntil("END\r\n");
}

TEST_F(ProtocolTest, NoreplySuppressesErrorReplies) {
  // The bad key's CLIENT_ERROR is suppressed; the data line is then an unknown command.
  const std::string key(251, 'k');
  EXPECT_TRUE(c_->Expect("set " + key + " 0 0 1 noreply\r\nx\r\nversion\r\n", "ERROR\r\nVERSION "));
  c_->ReadLine();
}

TEST_F(ProtocolTest, PipelinedMixedCommandsReplyInOrder) {
  std::string request, expected;
  for (int i = 0; i < 25; ++i) {
    std::string k = "p" + std::to_string(i);
    std::string v = std::to_string(i * 7);
    request += "set " + k + " " + std::to_string(i) + " 0 " + std::to_string(v.size()) + "\r\n" +
               v + "\r\n";
    expected += "STORED\r\n";
    request += "get " + k + " missing\r\n";
    expected += "VALUE " + k + " " + std::to_string(i) + " " + std::to_string(v.size()) + "\r\n" +
                v + "\r\nEND\r\n";
    request += "incr " + k + " 1\r\n";
    expected += std::to_string(i * 7 + 1) + "\r\n";
    request += (i % 2 == 0) ? "delete " + k + "\r\n" : "touch " + k + " 0\r\n";
    expected += (i % 2 == 0) ? "DELETED\r\n" : "TOUCHED\r\n";
  }
  EXPECT_TRUE(c_->Expect(request, expected));
}

std::string BinaryValue(size_t n) {
  std::string v(n, '\0');
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<char>((i * 131 + 7) % 256);
  // Make sure the protocol's own delimiters occur inside the value.
  const std::string tricky = "\r\nEND\r\n\0VALUE \r\n";
  for (size_t at = 0; at + tricky.size() < n; at += n / 7) v.replace(at, tricky.size(), tricky);
  return v;
}

TEST_F(ProtocolTest, LargeBinaryValueRoundTrip) {
  const size_t n = 1024 * 1024 - 1024;
  const std::string v = BinaryValue(n);
  EXPECT_TRUE(c_->Expect("set big 1 0 " + std::to_string(n) + "\r\n" + v + "\r\n", "STORED\r\n"));
  EXPECT_TRUE(
      c_->Expect("get big\r\n", "VALUE big 1 " + std::to_string(n) + "\r\n" + v + "\r\nEND\r\n"));
}

TEST_F(ProtocolTest, SmallBinaryValueRoundTrip) {
  const std::string v("a\r\nb\0c\r\n\0", 9);
  EXPECT_TRUE(c_->Expect("set bin 0 0 9\r\n" + v + "\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get bin\r\n", "VALUE bin 0 9\r\n" + v + "\r\nEND\r\n"));
}

TEST_F(ProtocolTest, TooLargeValueIsSwallowedAndOldValueRemoved) {
  const uint64_t too_large0 = std::stoull(c_->Stats()["store_too_large"]);
  EXPECT_TRUE(c_->Expect("set big 0 0 1\r\nx\r\n", "STORED\r\n"));
  const size_t n = 2 * 1024 * 1024;
  EXPECT_TRUE(c_->Expect(
      "set big 0 0 " + std::to_string(n) + "\r\n" + std::string(n, 'a') + "\r\nversion\r\n",
      "SERVER_ERROR object too large for cache\r\nVERSION "));
  c_->ReadLine();
  EXPECT_TRUE(c_->Expect("get big\r\n", "END\r\n"));
  // Exactly item_size_max is too large too (the item header needs room).
  const size_t m = 1024 * 1024;
  EXPECT_TRUE(c_->Expect("set big 0 0 " + std::to_string(m) + "\r\n" + std::string(m, 'b') + "\r\n",
                         "SERVER_ERROR object too large for cache\r\n"));
  EXPECT_EQ(std::stoull(c_->Stats()["store_too_large"]), too_large0 + 2);
}

TEST_F(ProtocolTest, NegativeExptimeIsGoneAtOnce) {
  EXPECT_TRUE(c_->Expect("set x 0 -1 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get x\r\n", "END\r\n"));
}

TEST_F(ProtocolTest, RelativeExptimeExpires) {
  EXPECT_TRUE(c_->Expect("set x 0 1 1\r\nx\r\nset y 0 100 1\r\ny\r\n", "STORED\r\nSTORED\r\n"));
  // Expiry has one-second resolution: gone after one to two seconds; allow up to 3.
  EXPECT_TRUE(
      PollUntil([&] { return c_->Call("get x\r\n") == "END\r\n"; }, Duration(3000), Duration(100)));
  EXPECT_TRUE(c_->Expect("get y\r\n", "VALUE y 0 1\r\ny\r\nEND\r\n"));
}

TEST_F(ProtocolTest, KeyLengthLimit) {
  const std::string ok(250, 'k');
  const std::string bad(251, 'k');
  EXPECT_TRUE(c_->Expect("set " + ok + " 0 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get " + ok + "\r\n", "VALUE " + ok + " 0 1\r\nx\r\nEND\r\n"));
  // The data of a refused set is still read as a command line.
  EXPECT_TRUE(c_->Expect("set " + bad + " 0 0 1\r\nx\r\n", std::string(kBadFormat) + "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("get " + bad + "\r\n", kBadFormat));
  EXPECT_TRUE(c_->Expect("get a " + bad + "\r\n", kBadFormat));
  EXPECT_TRUE(c_->Expect("delete " + bad + "\r\n", kBadFormat));
  EXPECT_TRUE(c_->Expect("incr " + bad + " 1\r\n", kBadFormat));
  EXPECT_TRUE(c_->Expect("touch " + bad + " 1\r\n", kBadFormat));
  EXPECT_TRUE(c_->Expect("gat 1 " + bad + "\r\n", kBadFormat));
  EXPECT_TRUE(c_->Expect("version\r\n", "VERSION "));
}

TEST_F(ProtocolTest, HttpRequestClosesConnection) {
  ASSERT_TRUE(c_->Send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  std::string trailing;
  EXPECT_TRUE(c_->WaitForClose(Duration(3000), &trailing));
  EXPECT_EQ(trailing, "");
}

TEST_F(ProtocolTest, LongLineWithoutNewlineClosesConnection) {
  ASSERT_TRUE(c_->Send(std::string(3000, 'x')));
  EXPECT_TRUE(c_->WaitForClose(Duration(3000)));
}

TEST_F(ProtocolTest, ShortPartialLineWaitsForMore) {
  ASSERT_TRUE(c_->Send(std::string(2000, 'x')));
  EXPECT_EQ(c_->ReadFor(Duration(300)), "");
  EXPECT_TRUE(c_->Expect("\r\n", "ERROR\r\n"));
}

TEST_F(ProtocolTest, LongGetLineIsAllowed) {
  // Key lists longer than the 2048-byte line limit are fine for get.
  std::string req = "get";
  for (int i = 0; i < 1000; ++i) req += " key" + std::to_string(i);
  ASSERT_GT(req.size(), 3000u);
  EXPECT_TRUE(c_->Expect("set key999 0 0 1\r\nz\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect(req + "\r\n", "VALUE key999 0 1\r\nz\r\nEND\r\n"));
}

TEST_F(ProtocolTest, LongSetLine) {
  std::string req = "set a 0 0 1" + std::string(3000, ' ') + "\r\nx\r\n";
  if (ServerIsMcd(server().port())) {
    // mcd closes on any non-retrieval line over 2048 bytes, however it arrives; memcached only
    // when the newline has not arrived with the first 2 KB (docs/compatibility.md).
    ASSERT_TRUE(c_->Send(req));
    std::string trailing;
    EXPECT_TRUE(c_->WaitForClose(Duration(3000), &trailing));
    EXPECT_EQ(trailing, "");
    return;
  }
  EXPECT_TRUE(c_->Expect(req, "STORED\r\n"));
}

}  // namespace
}  // namespace mcd::testing
