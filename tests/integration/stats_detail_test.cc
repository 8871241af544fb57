// `stats detail on|off|dump` and -D: per-prefix get/hit/set/del counters over real TCP, with
// memcached 1.6.18's replies. memcached lists prefixes in its hash table's order and mcd sorted
// by prefix (docs/compatibility.md C21), so tests with several prefixes compare them as a set.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server_process.h"

namespace mcd::testing {
namespace {

using StatsDetailTest = ServerTest;

// The PREFIX lines of a `stats detail dump` reply (which must end with END), as a set.
std::set<std::string> DumpLines(Client& c) {
  std::string reply = c.Call("stats detail dump\r\n");
  std::set<std::string> lines;
  size_t pos = 0;
  while (pos < reply.size()) {
    size_t eol = reply.find("\r\n", pos);
    if (eol == std::string::npos) {
      ADD_FAILURE() << "unterminated line in " << Escape(reply);
      break;
    }
    std::string line = reply.substr(pos, eol - pos);
    pos = eol + 2;
    if (line == "END") {
      EXPECT_EQ(pos, reply.size()) << Escape(reply);
      break;
    }
    EXPECT_EQ(line.rfind("PREFIX ", 0), 0u) << line;
    lines.insert(line);
  }
  return lines;
}

// memcached's t/stats-detail.t, step by step.
TEST_F(StatsDetailTest, MemcachedsScript) {
  EXPECT_TRUE(c_->Expect("stats detail dump\r\n", "END\r\n"));
  EXPECT_TRUE(c_->Expect("stats detail on\r\n", "OK\r\n"));
  EXPECT_TRUE(c_->Expect("set foo:123 0 0 6\r\nfooval\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("stats detail dump\r\n", "PREFIX foo get 0 hit 0 set 1 del 0\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("get foo:123\r\n", "VALUE foo:123 0 6\r\nfooval\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("stats detail dump\r\n", "PREFIX foo get 1 hit 1 set 1 del 0\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("get foo:124\r\n", "END\r\n"));
  EXPECT_TRUE(c_->Expect("stats detail dump\r\n", "PREFIX foo get 2 hit 1 set 1 del 0\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("delete foo:125\r\n", "NOT_FOUND\r\n"));
  EXPECT_TRUE(c_->Expect("stats detail dump\r\n", "PREFIX foo get 2 hit 1 set 1 del 1\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("stats reset\r\n", "RESET\r\n"));
  EXPECT_TRUE(c_->Expect("stats detail dump\r\n", "END\r\n"));
  EXPECT_TRUE(c_->Expect("get foo:123\r\n", "VALUE foo:123 0 6\r\nfooval\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("stats detail dump\r\n", "PREFIX foo get 1 hit 1 set 0 del 0\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("stats detail off\r\n", "OK\r\n"));
  EXPECT_TRUE(c_->Expect("get foo:124\r\nget foo:123\r\n",
                         "END\r\nVALUE foo:123 0 6\r\nfooval\r\nEND\r\n"));
  // Off stops counting and keeps what was counted.
  EXPECT_TRUE(c_->Expect("stats detail dump\r\n", "PREFIX foo get 1 hit 1 set 0 del 0\r\nEND\r\n"));
}

// Which commands count, as memcached 1.6.18 counts them: every key of get/gets/gat/gats (hit or
// not), every well-formed storage command (stored, refused, too large or with a bad data
// chunk), every well-formed delete; not incr/decr/touch, nor keys without the delimiter.
TEST_F(StatsDetailTest, WhatCounts) {
  ASSERT_TRUE(c_->Expect("stats detail on\r\n", "OK\r\n"));
  ASSERT_TRUE(c_->Expect("set a:1 0 0 1\r\nx\r\n", "STORED\r\n"));
  const std::string big(1024 * 1024 + 1, 'x');
  ASSERT_TRUE(c_->Expect("set b:1 0 0 " + std::to_string(big.size()) + "\r\n" + big + "\r\n",
                         "SERVER_ERROR object too large for cache\r\n"));
  ASSERT_TRUE(
      c_->Expect("add a:1 0 0 1\r\ny\r\ncas a:1 0 0 1 999\r\ny\r\ncas c:1 0 0 1 999\r\ny\r\n"
                 "replace d:1 0 0 1\r\ny\r\nappend a:1 0 0 1\r\nz\r\nprepend e:1 0 0 1\r\nz\r\n",
                 "NOT_STORED\r\nEXISTS\r\nNOT_FOUND\r\nNOT_STORED\r\nSTORED\r\nNOT_STORED\r\n"));
  ASSERT_TRUE(c_->Expect("incr a:1 1\r\ntouch a:1 0\r\n",
                         "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
                         "TOUCHED\r\n"));
  ASSERT_TRUE(c_->Expect("gat 0 a:1 f:2\r\ngats 0 a:1\r\n",
                         "VALUE a:1 0 2\r\nxz\r\nEND\r\nVALUE a:1 0 2 "));
  c_->ReadUntil("END\r\n");
  c_->Call("gets a:1\r\n");
  ASSERT_TRUE(
      c_->Expect("delete a:1 noreply\r\ndelete g:1 0\r\ndelete h:1 1\r\n",
                 "NOT_FOUND\r\n"
                 "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"));
  ASSERT_TRUE(c_->Expect("get plain :x a::b\r\n", "END\r\n"));
  ASSERT_TRUE(c_->Expect("set i:1 0 0 1\r\nxyzw\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n"));
  ASSERT_TRUE(c_->Expect("set j:1 0 0 1 noreply\r\nx\r\nset k:1 0 0 -1\r\n",
                         "CLIENT_ERROR bad command line format\r\n"));
  EXPECT_EQ(DumpLines(*c_), (std::set<std::string>{
                                "PREFIX  get 1 hit 0 set 0 del 0",
                                "PREFIX a get 4 hit 3 set 4 del 1",
                                "PREFIX b get 0 hit 0 set 1 del 0",
                                "PREFIX c get 0 hit 0 set 1 del 0",
                                "PREFIX d get 0 hit 0 set 1 del 0",
                                "PREFIX e get 0 hit 0 set 1 del 0",
                                "PREFIX f get 1 hit 0 set 0 del 0",
                                "PREFIX g get 0 hit 0 set 0 del 1",
                                "PREFIX i get 0 hit 0 set 1 del 0",
                                "PREFIX j get 0 hit 0 set 1 del 0",
                            }));
}

TEST_F(StatsDetailTest, ArgumentsAndUsage) {
  const std::string usage = "CLIENT_ERROR usage: stats detail on|off|dump\r\n";
  EXPECT_TRUE(c_->Expect("stats detail\r\n", usage));
  EXPECT_TRUE(c_->Expect("stats detail ON\r\n", usage));
  EXPECT_TRUE(c_->Expect("stats detail bogus\r\n", usage));
  // Only the first argument counts.
  EXPECT_TRUE(c_->Expect("stats detail on extra\r\n", "OK\r\n"));
  EXPECT_TRUE(c_->Expect("set p:1 0 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(
      c_->Expect("stats detail dump extra\r\n", "PREFIX p get 0 hit 0 set 1 del 0\r\nEND\r\n"));
  EXPECT_TRUE(c_->Expect("stats  detail  off\r\n", "OK\r\n"));
  EXPECT_TRUE(c_->Expect("set p:1 0 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect("stats detail dump\r\n", "PREFIX p get 0 hit 0 set 1 del 0\r\nEND\r\n"));
}

TEST_F(StatsDetailTest, SettingsShowTheSwitch) {
  auto s = c_->Stats("settings");
  EXPECT_EQ(s["detail_enabled"], "no");
  EXPECT_EQ(s["stat_key_prefix"], ":");
  ASSERT_TRUE(c_->Expect("stats detail on\r\n", "OK\r\n"));
  EXPECT_EQ(c_->Stats("settings")["detail_enabled"], "yes");
  ASSERT_TRUE(c_->Expect("stats detail off\r\n", "OK\r\n"));
  EXPECT_EQ(c_->Stats("settings")["detail_enabled"], "no");
}

// Counters are shared by every connection (and worker thread).
TEST_F(StatsDetailTest, CountsFromEveryConnection) {
  ASSERT_TRUE(c_->Expect("stats detail on\r\n", "OK\r\n"));
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(NewClient());
    ASSERT_TRUE(
        clients.back()->Expect("set s:" + std::to_string(i) + " 0 0 1\r\nx\r\n", "STORED\r\n"));
    ASSERT_TRUE(clients.back()->Expect("get s:0 s:99\r\n", "VALUE s:0 0 1\r\nx\r\nEND\r\n"));
  }
  EXPECT_TRUE(c_->Expect("stats detail dump\r\n", "PREFIX s get 16 hit 8 set 8 del 0\r\nEND\r\n"));
}

// -D sets the delimiter and turns detail on from the start.
TEST(StatsDetailOptionTest, DashDSetsTheDelimiterAndTurnsDetailOn) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-D", "/"}));
  Client c(server.port());
  auto s = c.Stats("settings");
  EXPECT_EQ(s["detail_enabled"], "yes");
  EXPECT_EQ(s["stat_key_prefix"], "/");
  ASSERT_TRUE(c.Expect("set a/b:c 0 0 1\r\nx\r\nset a:b 0 0 1\r\nx\r\n", "STORED\r\nSTORED\r\n"));
  EXPECT_TRUE(c.Expect("stats detail dump\r\n", "PREFIX a get 0 hit 0 set 1 del 0\r\nEND\r\n"));
}

}  // namespace
}  // namespace mcd::testing
