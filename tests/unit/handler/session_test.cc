// Session tests: plain strings in, reply bytes out, a real Cache on a fake clock. Every scripted
// conversation is also fed at every split point, the way a socket may deliver it.
#include "mcd/handler/session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "handler_test_base.h"
#include "mcd/storage/cache.h"

namespace mcd::handler {
namespace {

class SessionTest : public HandlerTestBase {
 protected:
  std::string Run(std::string_view input, size_t piece = 0) {
    Session s(&ctx_, registry_.Thread(0), 7);
    return Feed(s, input, piece);
  }

  // Runs `input` whole on a fresh cache, then at every split size on fresh caches, expecting
  // `expected` each time.
  void ExpectAtEverySplit(std::string_view input, std::string_view expected) {
    for (size_t piece = 0; piece <= input.size(); ++piece) {
      Reset();
      EXPECT_EQ(Run(input, piece), expected) << "piece size " << piece;
    }
  }

  void Reset() { NewCache(); }
};

TEST_F(SessionTest, SetGetAtEverySplit) {
  ExpectAtEverySplit("set a 0 0 1\r\nx\r\nget a\r\n", "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
}

TEST_F(SessionTest, PipelinedConversationAtEverySplit) {
  ExpectAtEverySplit(
      "set k 5 0 3\r\nabc\r\nappend k 0 0 2\r\nde\r\nprepend k 0 0 1\r\nz\r\nget k nope\r\n"
      "add k 0 0 1\r\nx\r\nreplace nope 0 0 1\r\nx\r\ndelete k\r\ndelete k\r\n"
      "set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nincr nope 1\r\nversion\r\n",
      "STORED\r\nSTORED\r\nSTORED\r\nVALUE k 5 6\r\nzabcde\r\nEND\r\n"
      "NOT_STORED\r\nNOT_STORED\r\nDELETED\r\nNOT_FOUND\r\n"
      "STORED\r\n15\r\n0\r\nNOT_FOUND\r\nVERSION 1.6.18-mcd-test\r\n");
}

TEST_F(SessionTest, BinaryValueWithCrlfAndNul) {
  std::string value("a\r\nb\0c\r\n", 8);
  std::string input = "set b 0 0 8\r\n" + value + "\r\nget b\r\n";
  ExpectAtEverySplit(input, "STORED\r\nVALUE b 0 8\r\n" + value + "\r\nEND\r\n");
}

TEST_F(SessionTest, BadDataChunkThenResync) {
  // memcached 1.6.18: exactly bytes+2 are read; the rest is parsed as commands.
  ExpectAtEverySplit("set a 0 0 1\r\nxyzw\r\nget a\r\n",
                     "CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n");
  // What is left of the chunk may be a blank line: a format error, as in memcached 1.6.45
  // (1.6.18: ERROR; compatibility.md C28).
  const std::string blank =
      "CLIENT_ERROR bad data chunk\r\nCLIENT_ERROR bad command line format\r\n";
  ExpectAtEverySplit("set a 0 0 1\r\nxyz\r\nget a\r\n", blank + "END\r\n");
  ExpectAtEverySplit("set a 0 0 1\r\nxy\r\nget a\r\n", blank + "END\r\n");
}

// A blank line shorter than 4 bytes is a format error (memcached 1.6.45); other short lines
// keep 1.6.18's ERROR (compatibility.md C28).
TEST_F(SessionTest, BlankLineIsAFormatErrorOtherShortLinesAreUnknown) {
  const std::string fmt = "CLIENT_ERROR bad command line format\r\n";
  ExpectAtEverySplit(
      "\n\r\n \n \r\nx\r\nab\n  \r\nversion\r\n",
      fmt + fmt + fmt + fmt + "ERROR\r\nERROR\r\nERROR\r\nVERSION 1.6.18-mcd-test\r\n");
}

TEST_F(SessionTest, BadCommandLineDoesNotSwallowData) {
  ExpectAtEverySplit("set a 0 0 -1\r\nx\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n");
}

TEST_F(SessionTest, NoreplySuppressesRepliesInOrder) {
  ExpectAtEverySplit(
      "set a 0 0 1 noreply\r\nx\r\nadd a 0 0 1 noreply\r\ny\r\nincr a 1 noreply\r\n"
      "delete zz noreply\r\ntouch a 10 noreply\r\nget a\r\n",
      "VALUE a 0 1\r\nx\r\nEND\r\n");
}

// Regression (found by tests/integration/slab_mover_test.cc against memcached 1.6.18): the
// slabs command kept only 8 tokens, so a noreply after more than seven arguments went unseen and
// "OK" was sent. memcached splits a line into at most 23 tokens and takes noreply from the last
// of them: silent with noreply as the 22nd token after "slabs", answered with it as the 23rd.
TEST_F(SessionTest, SlabsAutomoveNoreplyAfterManyTokens) {
  std::string x19;
  for (int i = 0; i < 19; ++i) x19 += "x ";
  EXPECT_EQ(Run("slabs automove 2 x x x x x x x x noreply\r\n"
                "slabs automove 1 " +
                x19 +
                "noreply\r\n"
                "slabs automove 0 x " +
                x19 + "noreply\r\n"),
            "OK\r\n");
  EXPECT_EQ(cache_->Automove(), 0);
}

// Compatibility C25: memcached accepts a NaN ratio, which turns the age rule off silently.
TEST_F(SessionTest, SlabsAutomoveRatioNanIsRefused) {
  EXPECT_EQ(Run("slabs automove ratio 0.5\r\nslabs automove ratio nan\r\n"), "OK\r\nERROR\r\n");
  EXPECT_DOUBLE_EQ(cache_->AutomoveRatio(), 0.5);
}

TEST_F(SessionTest, TooLargeSwallowsDataAndRemovesOldValue) {
  std::string big(2 << 20, 'x');
  std::string input = "set k 0 0 1\r\nv\r\nset k 0 0 " + std::to_string(big.size()) + "\r\n" + big +
                      "\r\nget k\r\n";
  EXPECT_EQ(Run(input), "STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n");
  Reset();
  EXPECT_EQ(Run(input, 4096), "STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n");
}

// memcached 1.6.18 removes the old value only when a `set` fails; a failed add, replace,
// append, prepend or cas leaves it (mcd removed it for every store).
TEST_F(SessionTest, TooLargeOtherStoresKeepOldValue) {
  const std::string big(2 << 20, 'x');
  const std::string n = std::to_string(big.size());
  for (const std::string cmd :
       {"add k 0 0 ", "replace k 0 0 ", "append k 0 0 ", "prepend k 0 0 "}) {
    Reset();
    EXPECT_EQ(Run("set k 0 0 1\r\nv\r\n" + cmd + n + "\r\n" + big + "\r\nget k\r\n"),
              "STORED\r\nSERVER_ERROR object too large for cache\r\nVALUE k 0 1\r\nv\r\nEND\r\n")
        << cmd;
  }
  Reset();
  EXPECT_EQ(Run("set k 0 0 1\r\nv\r\ncas k 0 0 " + n + " 1\r\n" + big + "\r\nget k\r\n"),
            "STORED\r\nSERVER_ERROR object too large for cache\r\nVALUE k 0 1\r\nv\r\nEND\r\n");
}

TEST_F(SessionTest, IncrDecrEdges) {
  ExpectAtEverySplit(
      "set n 0 0 20\r\n18446744073709551615\r\nincr n 1\r\nget n\r\n"
      "set w 0 0 3\r\n100\r\ndecr w 1\r\nget w\r\nset s 0 0 2\r\nab\r\nincr s 1\r\n"
      "incr w abc\r\n",
      "STORED\r\n0\r\nVALUE n 0 20\r\n0                   \r\nEND\r\n"
      "STORED\r\n99\r\nVALUE w 0 3\r\n99 \r\nEND\r\nSTORED\r\n"
      "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
      "CLIENT_ERROR invalid numeric delta argument\r\n");
}

TEST_F(SessionTest, CasFlow) {
  std::string r = Run("set c 0 0 1\r\nx\r\ngets c\r\n");
  // "VALUE c 0 1 <cas>\r\n"
  size_t p = r.find("VALUE c 0 1 ");
  ASSERT_NE(p, std::string::npos);
  std::string cas = r.substr(p + 12, r.find("\r\n", p) - p - 12);
  EXPECT_EQ(
      Run("cas c 0 0 1 " + cas + "\r\ny\r\ncas c 0 0 1 " + cas + "\r\nz\r\ncas q 0 0 1 1\r\nz\r\n"),
      "STORED\r\nEXISTS\r\nNOT_FOUND\r\n");
}

TEST_F(SessionTest, ExpiryWithFakeClock) {
  EXPECT_EQ(Run("set e 0 10 1\r\nx\r\nset neg 0 -1 1\r\nx\r\nget e neg\r\n"),
            "STORED\r\nSTORED\r\nVALUE e 0 1\r\nx\r\nEND\r\n");
  clock_.Advance(11);
  EXPECT_EQ(Run("get e\r\n"), "END\r\n");
}

TEST_F(SessionTest, TouchAndGat) {
  EXPECT_EQ(Run("set t 3 10 1\r\nx\r\ntouch t 100\r\ntouch q 1\r\n"),
            "STORED\r\nTOUCHED\r\nNOT_FOUND\r\n");
  clock_.Advance(50);
  EXPECT_EQ(Run("gat 0 t q\r\n"), "VALUE t 3 1\r\nx\r\nEND\r\n");
  clock_.Advance(100);
  EXPECT_EQ(Run("get t\r\n"), "VALUE t 3 1\r\nx\r\nEND\r\n");  // gat 0 made it permanent
}

TEST_F(SessionTest, FlushAllImmediateAndDelayed) {
  EXPECT_EQ(Run("set a 0 0 1\r\nx\r\nflush_all\r\nget a\r\n"), "STORED\r\nOK\r\nEND\r\n");
  EXPECT_EQ(Run("set a 0 0 1\r\nx\r\nflush_all 10\r\nget a\r\n"),
            "STORED\r\nOK\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
  clock_.Advance(10);
  EXPECT_EQ(Run("get a\r\n"), "END\r\n");
  ctx_.options.flush_enabled = false;
  EXPECT_EQ(Run("flush_all\r\n"), "CLIENT_ERROR flush_all not allowed\r\n");
}

TEST_F(SessionTest, QuitClosesAndStopsProcessing) {
  Session s(&ctx_, registry_.Thread(0), 7);
  EXPECT_EQ(Feed(s, "quit\r\nget a\r\n"), "");
  EXPECT_TRUE(s.want_close());
}

TEST_F(SessionTest, MaxCommandsYields) {
  Session s(&ctx_, registry_.Thread(0), 7);
  OutBuf out(&ReleaseItemRef, cache_.get());
  std::string in = "version\r\nversion\r\nversion\r\n";
  size_t used = s.Consume(in, &out, 2);
  EXPECT_TRUE(s.yielded());
  EXPECT_EQ(used, 18u);
  used = s.Consume(std::string_view(in).substr(used), &out, 2);
  EXPECT_FALSE(s.yielded());
  EXPECT_EQ(used, 9u);
}

TEST_F(SessionTest, LongMultigetStreamsAtEverySplit) {
  std::string input = "set k1 0 0 1\r\na\r\nget";
  std::string expected = "STORED\r\n";
  for (int i = 0; i < 600; ++i) {
    input += (i % 7 == 0) ? " k1" : " miss" + std::to_string(i);
    if (i % 7 == 0) expected += "VALUE k1 0 1\r\na\r\n";
  }
  input += "\r\nversion\r\n";
  expected += "END\r\nVERSION 1.6.18-mcd-test\r\n";
  ASSERT_GT(input.size(), 4000u);
  for (size_t piece : {0, 1, 7, 100, 1000, 2047, 2049, 3000}) {
    Reset();
    EXPECT_EQ(Run(input, piece), expected) << piece;
  }
}

TEST_F(SessionTest, DirectDataSpanFillsItem) {
  Session s(&ctx_, registry_.Thread(0), 7);
  OutBuf out(&ReleaseItemRef, cache_.get());
  std::string value(300000, 'q');
  std::string head = "set big 0 0 300000\r\n";
  EXPECT_EQ(s.Consume(head, &out), head.size());
  std::string rest = value + "\r\n";
  size_t off = 0;
  while (off < rest.size()) {
    std::span<char> span = s.DirectDataSpan();
    ASSERT_FALSE(span.empty());
    size_t n = std::min(span.size(), rest.size() - off);
    std::memcpy(span.data(), rest.data() + off, n);
    off += n;
    s.DataWritten(n, &out);
  }
  EXPECT_TRUE(s.DirectDataSpan().empty());
  EXPECT_EQ(out.ToString(), "STORED\r\n");
  out.Consume(out.size());
  EXPECT_EQ(s.Consume("get big\r\n", &out), 9u);
  EXPECT_EQ(out.ToString(), "VALUE big 0 300000\r\n" + rest + "END\r\n");
}

TEST_F(SessionTest, StatsCountersMove) {
  Run("set a 0 0 1\r\nx\r\nget a b\r\ndelete a\r\nincr x 1\r\n");
  stats::ThreadTotals t = registry_.Totals();
  EXPECT_EQ(t.cmd_set, 1u);
  EXPECT_EQ(t.cmd_get, 2u);
  EXPECT_EQ(t.get_hits, 1u);
  EXPECT_EQ(t.get_misses, 1u);
  EXPECT_EQ(t.delete_hits, 1u);
  EXPECT_EQ(t.incr_misses, 1u);
  std::string r = Run("stats\r\n");
  EXPECT_NE(r.find("STAT cmd_get 2\r\n"), std::string::npos);
  EXPECT_NE(r.find("STAT curr_items 0\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 5), "END\r\n");
  EXPECT_EQ(Run("stats reset\r\n"), "RESET\r\n");
  EXPECT_EQ(registry_.Totals().cmd_get, 0u);
}

TEST_F(SessionTest, StatsSubcommands) {
  Run("set a 0 0 1\r\nx\r\n");
  std::string slabs = Run("stats slabs\r\n");
  EXPECT_NE(slabs.find(":chunk_size "), std::string::npos);
  EXPECT_NE(slabs.find("STAT active_slabs 1\r\n"), std::string::npos);
  std::string items = Run("stats items\r\n");
  EXPECT_NE(items.find(":number 1\r\n"), std::string::npos);
  EXPECT_EQ(Run("stats sizes\r\n"), "STAT sizes_status disabled\r\nEND\r\n");
  EXPECT_EQ(Run("stats foo\r\n"), "ERROR\r\n");
  EXPECT_EQ(Run("stats cachedump\r\n"), "CLIENT_ERROR bad command line\r\n");
  EXPECT_EQ(Run("stats cachedump 99 1\r\n"), "CLIENT_ERROR Illegal slab id\r\n");
  EXPECT_EQ(Run("stats detail on\r\n"), "OK\r\n");
  ctx_.options.dump_enabled = false;
  EXPECT_EQ(Run("stats cachedump 1 1\r\n"), "CLIENT_ERROR stats cachedump not allowed\r\n");
}

TEST_F(SessionTest, ShutdownDisabledByDefault) {
  EXPECT_EQ(Run("shutdown\r\n"), "ERROR: shutdown not enabled\r\n");
}

}  // namespace
}  // namespace mcd::handler

namespace mcd::handler {
namespace {

// `shutdown` with -A: no argument stops now, `graceful` drains first, anything else is refused
// (memcached 1.6.18's replies), and the connection closes once a stop was asked for.
TEST_F(SessionTest, ShutdownModes) {
  std::vector<bool> calls;
  ctx_.options.shutdown_enabled = true;
  ctx_.shutdown = [&calls](bool graceful) { calls.push_back(graceful); };
  EXPECT_EQ(Run("shutdown foo\r\nshutdown graceful now\r\n"),
            "CLIENT_ERROR invalid shutdown mode\r\nCLIENT_ERROR invalid shutdown mode\r\n");
  EXPECT_TRUE(calls.empty());
  {
    Session s(&ctx_, registry_.Thread(0), 7);
    EXPECT_EQ(Feed(s, "shutdown   graceful  \r\nget a\r\n"), "");
    EXPECT_TRUE(s.want_close());
  }
  EXPECT_EQ(Run("shutdown\r\n"), "");
  EXPECT_EQ(calls, (std::vector<bool>{true, false}));
  ctx_.options.shutdown_enabled = false;
  EXPECT_EQ(Run("shutdown graceful\r\n"), "ERROR: shutdown not enabled\r\n");
  EXPECT_EQ(calls.size(), 2u);
}

}  // namespace
}  // namespace mcd::handler

namespace mcd::handler {
namespace {

std::vector<std::string> StatNames(const std::string& reply) {
  std::vector<std::string> names;
  size_t pos = 0;
  while ((pos = reply.find("STAT ", pos)) != std::string::npos) {
    pos += 5;
    names.push_back(reply.substr(pos, reply.find(' ', pos) - pos));
  }
  return names;
}

bool Has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// memcached 1.6.18 prints some general `stats` lines only while the matching machinery is on;
// the session follows the same switches (HandlerOptions, and the crawler's live state).
TEST_F(SessionTest, GeneralStatsListFollowsOptions) {
  std::vector<std::string> all = StatNames(Run("stats\r\n"));
  EXPECT_EQ(all.size(), 92u);
  for (const char* name : {"rejected_connections", "slabs_moved", "lru_crawler_starts",
                           "lru_maintainer_juggles", "evicted_active", "lru_bumps_dropped"}) {
    EXPECT_TRUE(Has(all, name)) << name;
  }
  cache_->DisableCrawler();  // `lru_crawler disable` (or -o no_lru_crawler)
  ctx_.options.lru_maintainer = false;
  std::vector<std::string> stats_t = StatNames(Run("stats\r\n"));
  EXPECT_EQ(stats_t.size(), 83u);  // what memcached's t/stats.t counts
  for (const char* name : {"lru_crawler_running", "lru_crawler_starts", "lru_maintainer_juggles",
                           "evicted_active", "moves_to_cold", "moves_to_warm", "moves_within_lru",
                           "direct_reclaims", "lru_bumps_dropped"}) {
    EXPECT_FALSE(Has(stats_t, name)) << name;
  }
  ctx_.options.maxconns_fast = false;
  ctx_.options.slab_reassign = false;
  std::vector<std::string> bare = StatNames(Run("stats\r\n"));
  EXPECT_EQ(bare.size(), 74u);
  EXPECT_FALSE(Has(bare, "rejected_connections"));
  EXPECT_FALSE(Has(bare, "slab_reassign_running"));
  EXPECT_EQ(bare.front(), "pid");
  EXPECT_EQ(bare.back(), "lrutail_reflocked");
}

TEST_F(SessionTest, StatsDetailOnCountDumpOffReset) {
  EXPECT_EQ(Run("stats detail dump\r\n"), "END\r\n");
  // Off: nothing is counted.
  Run("set foo:1 0 0 1\r\nx\r\n");
  EXPECT_EQ(Run("stats detail dump\r\n"), "END\r\n");
  EXPECT_EQ(Run("stats detail on\r\n"), "OK\r\n");
  EXPECT_TRUE(registry_.Prefixes().enabled());
  Run("set foo:1 0 0 1\r\nx\r\nget foo:1 foo:2 bar:1 plain\r\ndelete foo:3\r\n"
      "incr foo:1 1\r\ntouch foo:1 0\r\ngat 0 bar:1\r\n");
  EXPECT_EQ(Run("stats detail dump\r\n"),
            "PREFIX bar get 2 hit 0 set 0 del 0\r\n"
            "PREFIX foo get 2 hit 1 set 1 del 1\r\nEND\r\n");
  EXPECT_EQ(Run("stats detail off\r\n"), "OK\r\n");
  Run("get foo:1\r\n");
  EXPECT_NE(Run("stats detail dump\r\n").find("PREFIX foo get 2 hit 1 "), std::string::npos);
  EXPECT_EQ(Run("stats reset\r\n"), "RESET\r\n");
  EXPECT_EQ(Run("stats detail dump\r\n"), "END\r\n");
}

TEST_F(SessionTest, StatsDetailArguments) {
  const std::string usage = "CLIENT_ERROR usage: stats detail on|off|dump\r\n";
  EXPECT_EQ(Run("stats detail\r\n"), usage);
  EXPECT_EQ(Run("stats detail On\r\n"), usage);
  EXPECT_EQ(Run("stats detail dumpx\r\n"), usage);
  EXPECT_EQ(Run("stats detail on now\r\n"), "OK\r\n");
  EXPECT_TRUE(registry_.Prefixes().enabled());
  EXPECT_EQ(Run("stats detail dump all\r\n"), "END\r\n");
  // `stats settings` shows the switch as it is now, not as the options set it.
  ctx_.options.settings = {{"stat_key_prefix", ":"}, {"detail_enabled", "no"}};
  EXPECT_EQ(Run("stats settings\r\n"),
            "STAT stat_key_prefix :\r\nSTAT detail_enabled yes\r\nEND\r\n");
  EXPECT_EQ(Run("stats detail off\r\n"), "OK\r\n");
  EXPECT_FALSE(registry_.Prefixes().enabled());
}

// Storage commands count at the command line, whatever happens to the data (memcached 1.6.18).
TEST_F(SessionTest, StatsDetailCountsStoresAtEverySplit) {
  registry_.Prefixes().SetEnabled(true);
  const std::string input =
      "set a:1 0 0 1\r\nxyz\r\nadd a:1 0 0 1\r\nx\r\nadd a:1 0 0 1\r\nx\r\ncas b:1 0 0 1 5\r\nx\r\n"
      "delete a:1\r\nget a:1\r\nstats detail dump\r\n";
  const std::string expected =
      "CLIENT_ERROR bad data chunk\r\nCLIENT_ERROR bad command line "
      "format\r\nSTORED\r\nNOT_STORED\r\nNOT_FOUND\r\n"
      "DELETED\r\nEND\r\n"
      "PREFIX a get 1 hit 0 set 3 del 1\r\nPREFIX b get 0 hit 0 set 1 del 0\r\nEND\r\n";
  for (size_t piece = 0; piece <= input.size(); ++piece) {
    Reset();
    registry_.Prefixes().Clear();
    EXPECT_EQ(Run(input, piece), expected) << "piece size " << piece;
  }
}

TEST_F(SessionTest, StatsMcd) {
  ctx_.options.version = "1.6.18-mcd-9.8.7";
  registry_.Server().rejected_connections.store(3);
  registry_.Prefixes().SetEnabled(true);
  Run("get x:1 y:1\r\n");
  EXPECT_EQ(Run("stats mcd\r\n"),
            "STAT version 9.8.7\r\nSTAT rejected_connections 3\r\nSTAT detail_prefixes 2\r\n"
            "END\r\n");
}

}  // namespace
}  // namespace mcd::handler

namespace mcd::handler {
namespace {

// `cache_memlimit`: memcached 1.6.18's replies, checked by hand against Debian's memcached, in
// the order memcached checks (number, at least 8 MB, at most 10^9 MB, the change itself).
TEST_F(SessionTest, CacheMemlimitRepliesAtEverySplit) {
  ExpectAtEverySplit(
      "cache_memlimit 16\r\ncache_memlimit 7\r\ncache_memlimit 0\r\n"
      "cache_memlimit 1000000001\r\ncache_memlimit 4294967295\r\ncache_memlimit 4294967304\r\n"
      "cache_memlimit\r\ncache_memlimit abc\r\ncache_memlimit -1\r\ncache_memlimit 8 foo bar\r\n"
      "cache_memlimit 9 noreply\r\ncache_memlimit 7 noreply\r\ncache_memlimit abc noreply\r\n"
      "cache_memlimit noreply\r\ncache_memlimit 8 9 noreply\r\ncache_memlimit 10 x\r\nversion\r\n",
      "OK\r\n"
      "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n"
      "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n"
      "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n"
      "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n"
      "OK\r\n"
      "ERROR\r\nERROR\r\nERROR\r\nERROR\r\n"
      "ERROR\r\n"
      "OK\r\n"
      "VERSION 1.6.18-mcd-test\r\n");
}

TEST_F(SessionTest, CacheMemlimitChangesTheLimitAndTheStats) {
  ctx_.options.settings = {{"maxbytes", "8388608"}, {"maxconns", "1024"}};
  EXPECT_EQ(Run("stats settings\r\n"), "STAT maxbytes 8388608\r\nSTAT maxconns 1024\r\nEND\r\n");
  EXPECT_EQ(Run("cache_memlimit 12\r\n"), "OK\r\n");
  EXPECT_EQ(cache_->MemoryLimit(), 12u << 20);
  EXPECT_EQ(Run("stats settings\r\n"), "STAT maxbytes 12582912\r\nSTAT maxconns 1024\r\nEND\r\n");
  EXPECT_NE(Run("stats\r\n").find("\r\nSTAT limit_maxbytes 12582912\r\n"), std::string::npos);
  // Refused or suppressed changes leave the limit alone; noreply still applies a good one.
  EXPECT_EQ(Run("cache_memlimit 7\r\ncache_memlimit abc noreply\r\n"),
            "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n");
  EXPECT_EQ(cache_->MemoryLimit(), 12u << 20);
  EXPECT_EQ(Run("cache_memlimit 9 noreply\r\n"), "");
  EXPECT_EQ(cache_->MemoryLimit(), 9u << 20);
}

// mcd reserves address space for growth at start-up (256 GB by default); a limit beyond it is
// refused with memcached's reply for a limit it cannot adjust (memcached itself says OK to any
// limit up to 10^9 MB and fails later, when malloc does). See compatibility.md.
TEST_F(SessionTest, CacheMemlimitBeyondTheReservationIsRefused) {
  EXPECT_EQ(Run("cache_memlimit 1000000000\r\n"),
            "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n");
  EXPECT_EQ(cache_->MemoryLimit(), 8u << 20);
}

// With -L (memory laid out at start-up), memcached refuses to change the limit; so does mcd.
TEST_F(SessionTest, CacheMemlimitRefusedWithPreallocatedMemory) {
  storage::CacheOptions o;
  o.memory_limit = 8 << 20;
  o.prealloc = true;
  o.start_maintainer = false;
  ctx_.cache = nullptr;
  cache_ = std::make_unique<storage::Cache>(o, &clock_);
  ctx_.cache = cache_.get();
  EXPECT_EQ(Run("cache_memlimit 16\r\n"),
            "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n");
  EXPECT_EQ(cache_->MemoryLimit(), 8u << 20);
}

}  // namespace
}  // namespace mcd::handler

namespace mcd::handler {
namespace {

// Message boundaries (server::Session::MarkMessages), what UDP cuts its replies by: the reply
// bytes split at the marks, fed as the server feeds them (the output is not sent in between, so
// every mark stays valid).
class SessionMessagesTest : public SessionTest {
 protected:
  std::vector<std::string> Messages(std::string_view input, size_t piece = 0) {
    Session s(&ctx_, registry_.Thread(0), 7);
    std::vector<size_t> ends;
    s.MarkMessages(&ends);
    const std::string reply = Feed(s, input, piece);
    std::vector<std::string> msgs;
    size_t start = 0;
    for (size_t i = 0; i <= ends.size(); ++i) {
      const size_t end = i < ends.size() ? ends[i] : reply.size();
      EXPECT_GT(end, start) << "marks must grow";
      EXPECT_LE(end, reply.size());
      if (end > start && end <= reply.size()) msgs.push_back(reply.substr(start, end - start));
      start = end;
    }
    return msgs;
  }

  uint64_t UsedChunks() const {
    uint64_t used = 0;
    cache_->VisitClasses([&](const storage::ClassStats& c) { used += c.used_chunks; });
    return used;
  }
};

TEST_F(SessionMessagesTest, EachReplyAndEachValueBlockWithEndOnTheLastAtEverySplit) {
  const std::string big(5000, 'z');  // sent by reference, not copied into the arena
  const std::string input = "set a 0 0 1\r\nx\r\nset b 0 0 5000\r\n" + big +
                            "\r\nget a miss b\r\ngets miss\r\nbogus\r\ndelete a noreply\r\n"
                            "delete a\r\nget a b\r\n";
  const std::vector<std::string> expected = {
      "STORED\r\n",
      "STORED\r\n",
      "VALUE a 0 1\r\nx\r\n",
      "VALUE b 0 5000\r\n" + big + "\r\nEND\r\n",
      "END\r\n",
      "ERROR\r\n",
      "NOT_FOUND\r\n",  // the noreply delete replied nothing: no empty message either
      "VALUE b 0 5000\r\n" + big + "\r\nEND\r\n",
  };
  for (size_t piece : {size_t{0}, size_t{1}, size_t{2}, size_t{7}, size_t{100}, size_t{4096}}) {
    Reset();
    EXPECT_EQ(Messages(input, piece), expected) << "piece size " << piece;
  }
}

TEST_F(SessionMessagesTest, ErrorInsideAStreamedKeyListRidesOnTheLastValue) {
  // A key list streamed (its first piece holds more than kMaxLineLength bytes and no newline)
  // with a key that is too long in a later piece: the error is part of the same command.
  std::string get = "get a";
  for (int i = 0; i < 600; ++i) get += " k" + std::to_string(i);
  get += " " + std::string(251, 'x') + "\r\n";
  const std::vector<std::string> msgs = Messages("set a 0 0 1\r\nx\r\n" + get, 2100);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0], "STORED\r\n");
  EXPECT_EQ(msgs[1].substr(0, 16), "VALUE a 0 1\r\nx\r\n");
  EXPECT_EQ(msgs[1].substr(16, 13), "CLIENT_ERROR ");
}

TEST_F(SessionMessagesTest, ResetDropsACommandUnderWayAndKeepsMarking) {
  Session s(&ctx_, registry_.Thread(0), 7);
  std::vector<size_t> ends;
  s.MarkMessages(&ends);
  OutBuf out(&ReleaseItemRef, cache_.get());
  EXPECT_EQ(s.Consume("set a 0 0 5\r\nab", &out), 15u);
  EXPECT_TRUE(s.InCommand());
  EXPECT_EQ(s.ConnStateName(), "conn_nread");
  EXPECT_EQ(UsedChunks(), 1u);  // the item being filled
  s.Reset();                    // gives it back to the cache
  EXPECT_EQ(UsedChunks(), 0u);
  EXPECT_FALSE(s.InCommand());
  EXPECT_EQ(s.ConnStateName(), "conn_read");
  EXPECT_EQ(s.Consume("get a\r\nversion\r\n", &out), 16u);
  EXPECT_EQ(out.ToString(), "END\r\nVERSION 1.6.18-mcd-test\r\n");
  EXPECT_EQ(ends, std::vector<size_t>{5});
  out.Clear();
  ends.clear();
  s.Reset();
  s.Consume("set a 0 0 2\r\nhi\r\nget a\r\n", &out);
  EXPECT_EQ(out.ToString(), "STORED\r\nVALUE a 0 2\r\nhi\r\nEND\r\n");
  EXPECT_EQ(ends, std::vector<size_t>{8});
}

}  // namespace
}  // namespace mcd::handler
