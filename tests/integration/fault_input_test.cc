// Fault suite, malformed input: bad numbers and missing arguments, key length limits, control
// bytes, lines without "\r", garbage without a newline, seeded random junk, data blocks longer or
// shorter than declared, and a pipeline split at every byte. Each case checks the exact reply
// (memcached 1.6.18's where behaviour is shared; mcd's deliberate differences are in
// docs/compatibility.md), that the connection resynchronises or closes, that nothing was stored
// wrongly, and that the server still answers on a new connection.
#include <poll.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "fault_util.h"
#include "gtest/gtest.h"
#include "server_process.h"

namespace mcd::testing {
namespace {

using fault::ServerAnswers;
using fault::StatNum;

using FaultInputTest = SharedServerTest;

constexpr char kBadFormat[] = "CLIENT_ERROR bad command line format\r\n";
constexpr char kBadDelta[] = "CLIENT_ERROR invalid numeric delta argument\r\n";
constexpr char kBadExptime[] = "CLIENT_ERROR invalid exptime argument\r\n";
constexpr char kBadChunk[] = "CLIENT_ERROR bad data chunk\r\n";

struct Case {
  std::string request;
  std::string reply;
};

// Bad numbers (negative, overflowing, non-numeric) and missing or extra arguments, for every
// command that takes them. Replies are memcached 1.6.18's. None of these stores anything.
TEST_F(FaultInputTest, BadNumbersAndMissingArgumentsStoreNothing) {
  const std::string bf = kBadFormat;
  const std::string blank = BlankLineReply(server().port());
  const std::vector<Case> cases = {
      // lengths
      {"set m 0 0 -5\r\nx\r\n", bf + "ERROR\r\n"},
      {"set m 0 0 -0x1\r\nx\r\n", bf + "ERROR\r\n"},
      {"set m 0 0 99999999999999999999\r\nx\r\n", bf + "ERROR\r\n"},
      {"set m 0 0 2147483648\r\nx\r\n", bf + "ERROR\r\n"},
      {"set m 0 0 2147483646\r\n", bf},
      {"set m 0 0 1x\r\nx\r\n", bf + "ERROR\r\n"},
      {"set m 0 0 abc\r\nx\r\n", bf + "ERROR\r\n"},
      {"add m 0 0 \x01\r\nx\r\n", bf + "ERROR\r\n"},
      // flags
      {"set m -1 0 1\r\nx\r\n", bf + "ERROR\r\n"},
      {"set m 18446744073709551616 0 1\r\nx\r\n", bf + "ERROR\r\n"},
      {"set m 0x1 0 1\r\nx\r\n", bf + "ERROR\r\n"},
      {"replace m flags 0 1\r\nx\r\n", bf + "ERROR\r\n"},
      // exptime
      {"set m 0 9999999999999999999 1\r\nx\r\n", bf + "ERROR\r\n"},
      {"set m 0 abc 1\r\nx\r\n", bf + "ERROR\r\n"},
      {"touch m abc\r\n", kBadExptime},
      {"touch m 99999999999999999999\r\n", kBadExptime},
      {"gat abc m\r\n", kBadExptime},
      {"gats -x m\r\n", kBadExptime},
      {"flush_all abc\r\n", kBadExptime},
      // cas unique
      {"cas m 0 0 1 -1\r\nx\r\n", bf + "ERROR\r\n"},
      {"cas m 0 0 1 abc\r\nx\r\n", bf + "ERROR\r\n"},
      {"cas m 0 0 1 18446744073709551616\r\nx\r\n", bf + "ERROR\r\n"},
      // deltas
      {"incr m -1\r\n", kBadDelta},
      {"incr m 18446744073709551616\r\n", kBadDelta},
      {"decr m abc\r\n", kBadDelta},
      // missing arguments
      {"set m 0 0\r\n", "ERROR\r\n"},
      {"set m\r\n", "ERROR\r\n"},
      {"set\r\n", "ERROR\r\n"},
      {"cas m 0 0 1\r\nx\r\n", "ERROR\r\nERROR\r\n"},
      {"get\r\n", "ERROR\r\n"},
      {"gets\r\n", "ERROR\r\n"},
      {"gat\r\n", "ERROR\r\n"},
      {"incr\r\n", "ERROR\r\n"},
      {"incr m\r\n", "ERROR\r\n"},
      {"decr m\r\n", "ERROR\r\n"},
      {"touch m\r\n", "ERROR\r\n"},
      {"delete\r\n", "ERROR\r\n"},
      {"verbosity\r\n", "ERROR\r\n"},
      // extra arguments
      {"set m 0 0 1 noreply extra\r\nx\r\n", "ERROR\r\nERROR\r\n"},
      {"incr m 1 2 3\r\n", "ERROR\r\n"},
      // noreply hides the CLIENT_ERROR, not the ERROR of the data line read as a command
      {"set m 0 0 -1 noreply\r\nx\r\n", "ERROR\r\n"},
      {"set m 0 0 1 noreply\r\nxyzw\r\n", "ERROR\r\n"},
      {"set m 0 0 1 noreply\r\nxy\r\n", blank},  // the rest, "\n", is a blank line (C28)
  };
  const uint64_t total_items = StatNum(*c_, "total_items");
  for (const Case& c : cases) {
    EXPECT_TRUE(c_->Expect(c.request, c.reply)) << Escape(c.request);
    // Still in sync after each one.
    EXPECT_TRUE(c_->Expect("get m\r\n", "END\r\n")) << "after " << Escape(c.request);
  }
  EXPECT_EQ(StatNum(*c_, "total_items"), total_items);
  EXPECT_TRUE(ServerAnswers(server().port()));
}

// 250-byte keys work with every command; 251-byte keys are refused by every command, and the data
// block of a refused storage command is then read as a command line.
TEST_F(FaultInputTest, KeysOf250And251BytesForEveryCommand) {
  const std::string ok(250, 'k');
  const std::string bad = std::string(250, 'k') + "z";
  EXPECT_TRUE(c_->Expect("set " + ok + " 0 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("add " + ok + " 0 0 1\r\ny\r\n", "NOT_STORED\r\n"));
  EXPECT_TRUE(c_->Expect("replace " + ok + " 0 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("append " + ok + " 0 0 1\r\n1\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("prepend " + ok + " 0 0 1\r\n2\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get " + ok + "\r\n", "VALUE " + ok + " 0 3\r\n2x1\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("set " + ok + " 0 0 1\r\n5\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("incr " + ok + " 2\r\n", "7\r\n"));
  EXPECT_TRUE(c_->Expect("decr " + ok + " 1\r\n", "6\r\n"));
  EXPECT_TRUE(c_->Expect("touch " + ok + " 0\r\n", "TOUCHED\r\n"));
  EXPECT_TRUE(c_->Expect("gat 0 " + ok + "\r\n", "VALUE " + ok + " 0 1\r\n6\r\nEND\r\n"));
  std::string gets = c_->Call("gets " + ok + "\r\n");
  EXPECT_EQ(gets.rfind("VALUE " + ok + " 0 1 ", 0), 0u) << Escape(gets);

  const std::string refused = std::string(kBadFormat) + "ERROR\r\n";
  for (const char* cmd : {"set", "add", "replace", "append", "prepend"}) {
    EXPECT_TRUE(c_->Expect(std::string(cmd) + " " + bad + " 0 0 1\r\nx\r\n", refused)) << cmd;
  }
  EXPECT_TRUE(c_->Expect("cas " + bad + " 0 0 1 1\r\nx\r\n", refused));
  for (const std::string& line :
       {"get " + bad, "gets " + bad, "get a " + bad + " b", "gat 0 " + bad, "gats 0 " + bad,
        "delete " + bad, "incr " + bad + " 1", "decr " + bad + " 1", "touch " + bad + " 0"}) {
    EXPECT_TRUE(c_->Expect(line + "\r\n", kBadFormat)) << line.substr(0, 8);
  }
  // Nothing was stored under the long key, nor under its 250-byte prefix.
  EXPECT_TRUE(c_->Expect("get " + ok + "\r\n", "VALUE " + ok + " 0 1\r\n6\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("delete " + ok + "\r\n", "DELETED\r\n"));
  EXPECT_TRUE(ServerAnswers(server().port()));
}

// Control bytes in command names are unknown commands everywhere; in keys, memcached accepts them
// and mcd refuses them (docs/compatibility.md C1).
TEST_F(FaultInputTest, ControlBytes) {
  const bool is_mcd = ServerIsMcd(server().port());
  EXPECT_TRUE(c_->Expect(std::string("\x00\x01\x02\r\n", 5), "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("se\x01t a 0 0 1\r\nx\r\n", "ERROR\r\nERROR\r\n"));
  EXPECT_TRUE(c_->Expect("\x7f\x1b[A\r\n", "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("\t\r\n", "ERROR\r\n"));
  const std::string with_ctl[] = {"a\x01",
                                  "\x1f"
                                  "b",
                                  "c\x7f"};
  for (const std::string& key : with_ctl) {
    if (is_mcd) {
      EXPECT_TRUE(
          c_->Expect("set " + key + " 0 0 1\r\nx\r\n", std::string(kBadFormat) + "ERROR\r\n"))
          << Escape(key);
      EXPECT_TRUE(c_->Expect("get " + key + "\r\n", kBadFormat)) << Escape(key);
    } else {
      EXPECT_TRUE(c_->Expect("set " + key + " 0 0 1\r\nx\r\n", "STORED\r\n")) << Escape(key);
      EXPECT_TRUE(c_->Expect("get " + key + "\r\n", "VALUE " + key + " 0 1\r\nx\r\nEND\r\n"));
    }
  }
  // Values may hold any byte.
  const std::string v("\x00\x01\r\n\x7f\xff", 6);
  EXPECT_TRUE(c_->Expect("set v 0 0 6\r\n" + v + "\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get v\r\n", "VALUE v 0 6\r\n" + v + "\r\nEND\r\n"));
  EXPECT_TRUE(ServerAnswers(server().port()));
}

// A bare "\n" ends a command line; a data block must still end in "\r\n".
TEST_F(FaultInputTest, LinesWithoutCarriageReturn) {
  const std::string blank = BlankLineReply(server().port());
  EXPECT_TRUE(c_->Expect("set a 0 0 1\nx\r\nget a\n", "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("set b 0 0 1\nx\nget b\n", std::string(kBadChunk) + "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect("get b\n", "END\r\n"));
  EXPECT_TRUE(c_->Expect("incr a 1\ndelete a\nget a\n",
                         "CLIENT_ERROR cannot increment or "
                         "decrement non-numeric value\r\n"
                         "DELETED\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("\n\n", blank + blank));
  EXPECT_TRUE(c_->Expect("version\n", "VERSION "));
  c_->ReadLine();
  EXPECT_TRUE(c_->Expect("get a b\r\n", "END\r\n"));
  EXPECT_TRUE(ServerAnswers(server().port()));
}

// Long garbage without a newline: a short line waits, a long one closes the connection; a
// megabyte of it sent in pieces does not grow the server.
TEST_F(FaultInputTest, LongGarbageWithoutNewlineCloses) {
  ASSERT_TRUE(c_->Send(std::string(1500, 'g')));
  EXPECT_EQ(c_->ReadFor(Duration(100)), "");
  EXPECT_TRUE(c_->Expect("\r\n", "ERROR\r\n"));

  auto junk = NewClient();
  const std::string piece(16 * 1024, 'z');
  const auto deadline = fault::SteadyClock::now() + std::chrono::seconds(5);
  size_t sent = 0;
  bool closed = false;
  while (sent < (1u << 20) && fault::SteadyClock::now() < deadline) {
    ssize_t n = fault::SendSome(junk->fd(), piece);
    if (n < 0) {
      closed = true;  // the server has already closed the connection
      break;
    }
    sent += static_cast<size_t>(n);
    if (n == 0) {
      pollfd p{junk->fd(), POLLOUT, 0};
      ::poll(&p, 1, 50);
    }
  }
  std::string trailing;
  EXPECT_TRUE(closed || junk->WaitForClose(Duration(3000), &trailing));
  EXPECT_EQ(trailing, "");
  EXPECT_TRUE(c_->Expect("get a\r\n", "END\r\n"));
  EXPECT_TRUE(ServerAnswers(server().port()));
}

// Seeded random bytes after a valid first command: every reply is an error line (or the answer
// to our own commands), the connection is either back in sync or closed, nothing is stored.
TEST_F(FaultInputTest, RandomBinaryJunk) {
  const uint64_t total_items = StatNum(*c_, "total_items");
  std::mt19937 rng(20240611);
  constexpr int kRounds = 60;
  int closed = 0;
  for (int round = 0; round < kRounds; ++round) {
    auto c = NewClient();
    ASSERT_TRUE(c->Connected());
    // The first command fixes the text protocol (memcached switches to binary on 0x80 first).
    ASSERT_TRUE(c->Expect("version\r\n", "VERSION "));
    c->ReadLine();
    std::uniform_int_distribution<int> len_dist(1, 4096);
    std::uniform_int_distribution<int> byte_dist(0, 255);
    std::uniform_int_distribution<int> pick(0, 99);
    std::string junk(static_cast<size_t>(len_dist(rng)), '\0');
    // Every fourth round has no newline at all (a long one must close the connection).
    const int newline_pct = round % 4 == 3 ? 0 : 3;
    for (char& ch : junk) {
      int p = pick(rng);
      ch = p < newline_pct ? '\n' : p < 10 ? ' ' : static_cast<char>(byte_dist(rng));
      if (ch == '\n' && newline_pct == 0) ch = ' ';
    }
    ASSERT_TRUE(c->Send(junk));
    // Terminates any partial line; then a marker command.
    c->Send("\r\nversion\r\n");
    // Either the marker is answered, or the server closed the connection.
    c->set_timeout(Duration(3000));
    std::string reply = c->ReadUntil("VERSION ");
    if (reply.size() >= 8 && reply.compare(reply.size() - 8, 8, "VERSION ") == 0) {
      reply += c->ReadLine();
    } else {
      EXPECT_TRUE(c->WaitForClose(Duration(2000)))
          << "round " << round << ": neither answered nor closed";
      ++closed;
    }
    // Every line is an error (or our marker's answer).
    size_t pos = 0;
    while (pos < reply.size()) {
      size_t nl = reply.find("\r\n", pos);
      if (nl == std::string::npos) break;
      std::string line = reply.substr(pos, nl - pos);
      EXPECT_TRUE(line == "ERROR" || line.rfind("CLIENT_ERROR ", 0) == 0 ||
                  line.rfind("SERVER_ERROR ", 0) == 0 || line.rfind("VERSION ", 0) == 0 ||
                  line == "END")
          << "round " << round << ": unexpected reply line \"" << Escape(line) << "\"";
      pos = nl + 2;
    }
  }
  fault::Figure("junk_rounds_closed", static_cast<uint64_t>(closed));
  EXPECT_EQ(StatNum(*c_, "total_items"), total_items);
  EXPECT_TRUE(ServerAnswers(server().port()));
}

// Data blocks longer or shorter than declared: "bad data chunk", the rest is parsed as commands,
// the old value stays; a block that is merely late is waited for.
TEST_F(FaultInputTest, DataBlocksLongerOrShorterThanDeclared) {
  EXPECT_TRUE(c_->Expect("set d 0 0 3\r\nold\r\n", "STORED\r\n"));
  const std::string chunk_then_error = std::string(kBadChunk) + "ERROR\r\n";
  // A leftover "\n" or "\r\n" is a blank line (compatibility.md C28).
  const std::string chunk_then_blank = kBadChunk + BlankLineReply(server().port());
  // Longer: the server reads 3 + 2 bytes, finds no "\r\n" there; "ef\r\n" is a command.
  EXPECT_TRUE(c_->Expect("set d 0 0 3\r\nabcdef\r\n", chunk_then_error));
  // Shorter: the next command's bytes complete the block.
  EXPECT_TRUE(c_->Expect("set d 0 0 5\r\nabc\r\nget d\r\n", chunk_then_error));
  // Declared 0, sent 1: the leftover is "\n".
  EXPECT_TRUE(c_->Expect("set d 0 0 0\r\nx\r\n", chunk_then_blank));
  EXPECT_TRUE(c_->Expect("get d\r\n", "VALUE d 0 3\r\nold\r\nEND\r\n"));
  // A large block one byte too long: the last two bytes are "x\r", the leftover "\n" is a
  // blank command line.
  const std::string big(100000, 'b');
  EXPECT_TRUE(c_->Expect("set d 0 0 100000\r\n" + big + "x\r\n", chunk_then_blank));
  // A large block one byte short, completed by the next line.
  EXPECT_TRUE(
      c_->Expect("set d 0 0 100000\r\n" + big.substr(1) + "\r\nget d\r\n", chunk_then_error));
  EXPECT_TRUE(c_->Expect("get d\r\n", "VALUE d 0 3\r\nold\r\nEND\r\n"));
  // Late but correct: nothing happens until the block is complete.
  ASSERT_TRUE(c_->Send("set d 0 0 10\r\nabc\r\n"));
  EXPECT_EQ(c_->ReadFor(Duration(100)), "");
  EXPECT_TRUE(c_->Expect("defgh\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("get d\r\n", "VALUE d 0 10\r\nabc\r\ndefgh\r\nEND\r\n"));
  EXPECT_TRUE(ServerAnswers(server().port()));
}

// A pipeline of valid and invalid commands; replies are independent of how it is split.
// memcached 1.6.18 drops every reply still queued on the connection when a get line has a bad
// key (here: all replies between the first END and the CLIENT_ERROR), so that command is left out
// when testing memcached.
std::pair<std::string, std::string> SplitPipeline(bool is_mcd) {
  const std::string key250(250, 'q');
  std::string req, want;
  auto add = [&](const std::string& r, const std::string& w) {
    req += r;
    want += w;
  };
  add("set s 1 0 5\r\nhe\r\no\r\n", "STORED\r\n");
  add("get s nope\r\n", "VALUE s 1 5\r\nhe\r\no\r\nEND\r\n");
  add("append s 0 0 2 noreply\r\n!!\r\n", "");
  add("set n 0 0 2\r\n40\r\n", "STORED\r\n");
  add("incr n 2\r\n", "42\r\n");
  add("decr n 50\r\n", "0\r\n");
  add("bogus\r\n", "ERROR\r\n");
  add("set x 0 0 2\r\nabcde\r\n", std::string(kBadChunk) + "ERROR\r\n");
  // The leftover "\n" is a blank line (compatibility.md C28).
  add("set x 0 0 2\r\nabc\r\n", kBadChunk + std::string(is_mcd ? kBadFormat : "ERROR\r\n"));
  if (is_mcd) add("get " + key250 + "z\r\n", kBadFormat);
  add("set " + key250 + " 0 0 1\r\nk\r\n", "STORED\r\n");
  add("touch s 0\nget s " + key250 + "\n",
      "TOUCHED\r\nVALUE s 1 7\r\nhe\r\no!!\r\nVALUE " + key250 + " 0 1\r\nk\r\nEND\r\n");
  add("delete " + key250 + "\r\n", "DELETED\r\n");
  add("delete x\r\n", "NOT_FOUND\r\n");
  add("version\r\n", "VERSION ");
  return {req, want};
}

void SendSplit(Client& c, std::string_view req, size_t at) {
  ASSERT_TRUE(c.Send(req.substr(0, at)));
  // TCP_NODELAY is set; a short poll lets the first piece leave as its own segment.
  pollfd p{c.fd(), POLLIN, 0};
  ::poll(&p, 1, 1);
  ASSERT_TRUE(c.Send(req.substr(at)));
}

TEST_F(FaultInputTest, PipelineSplitAtEveryByte) {
  auto [req, want] = SplitPipeline(ServerIsMcd(server().port()));
  ASSERT_LT(req.size(), 1500u);  // bounds the loop: one round per byte
  for (size_t at = 1; at < req.size(); ++at) {
    SendSplit(*c_, req, at);
    std::string got = c_->ReadExactly(want.size());
    ASSERT_EQ(Escape(got), Escape(want)) << "split at " << at;
    c_->ReadLine();  // rest of the version line
  }
  // And one byte per write.
  for (size_t i = 0; i < req.size(); ++i) ASSERT_TRUE(c_->Send(req.substr(i, 1)));
  EXPECT_EQ(Escape(c_->ReadExactly(want.size())), Escape(want));
  c_->ReadLine();
  EXPECT_TRUE(c_->Expect("get x\r\n", "END\r\n"));
  EXPECT_TRUE(ServerAnswers(server().port()));
}

// A 40 KB value (large enough for the server to read it straight into the item) split at
// seeded positions and at the edges of its command line and terminator.
TEST_F(FaultInputTest, LargeValueSplitAnywhere) {
  std::string value(40 * 1024, '\0');
  std::mt19937 rng(7);
  for (char& ch : value) ch = static_cast<char>(rng() & 0xff);
  const std::string req =
      "set big 3 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\nget big\r\n";
  const std::string want =
      "STORED\r\nVALUE big 3 " + std::to_string(value.size()) + "\r\n" + value + "\r\nEND\r\n";
  const size_t line = req.find('\n') + 1;
  std::vector<size_t> cuts = {1, line - 2, line - 1, line, line + 1};
  const size_t tail = line + value.size();
  for (size_t c : {tail - 1, tail, tail + 1, tail + 2, tail + 3}) cuts.push_back(c);
  std::uniform_int_distribution<size_t> any(1, req.size() - 1);
  for (int i = 0; i < 40; ++i) cuts.push_back(any(rng));
  for (size_t at : cuts) {
    SendSplit(*c_, req, at);
    std::string got = c_->ReadExactly(want.size());
    ASSERT_TRUE(got == want) << "split at " << at << ", got " << got.size() << " bytes";
  }
  EXPECT_TRUE(ServerAnswers(server().port()));
}

}  // namespace
}  // namespace mcd::testing
