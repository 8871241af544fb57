// `lru_crawler ...` through the session: every reply string (memcached 1.6.18's, checked against
// Debian's memcached with tests/tools/mcprobe.py; mgdump as memcached 1.6.45), the dumps'
// formats, their streaming in bounded pieces, and the crawler's stats lines. Plain strings in,
// reply bytes out, a cache without background threads on a fake clock.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "handler_test_base.h"
#include "mcd/handler/session.h"
#include "mcd/storage/cache.h"

namespace mcd::handler {
namespace {

class LruCrawlerTest : public HandlerTestBase {
 protected:
  LruCrawlerTest() { Reset(); }

  void Reset(bool crawler = true) {
    storage::CacheOptions o = SmallCache();
    o.lru_crawler = crawler;
    NewCache(o);
  }

  // Feeds `input` in pieces of `piece` bytes (0 = all at once), each piece one Consume() call
  // (one read), calling again while the session yields, as the server does.
  std::string Run(std::string_view input, size_t piece = 0) {
    Session s(&ctx_, registry_.Thread(0), 7);
    return Feed(s, input, piece);
  }

  void ExpectAtEverySplit(std::string_view input, std::string_view expected) {
    for (size_t piece = 0; piece <= input.size(); ++piece) {
      Reset();
      EXPECT_EQ(Run(input, piece), expected) << "piece size " << piece;
    }
  }

  // The class an item of this total size (header + key + value + "\r\n") goes to.
  int ClassForSize(uint32_t size) const {
    for (int id = 1; id <= cache_->NumClasses(); ++id) {
      if (cache_->ChunkSize(id) >= size) return id;
    }
    return 0;
  }

  std::string Stat(const std::string& reply, const std::string& name) {
    const std::string tag = "STAT " + name + " ";
    const size_t p = reply.find(tag);
    if (p == std::string::npos) return "(none)";
    return reply.substr(p + tag.size(), reply.find("\r\n", p) - p - tag.size());
  }
};

TEST_F(LruCrawlerTest, CrawlRepliesAtEverySplit) {
  ExpectAtEverySplit(
      "lru_crawler\r\nlru_crawler crawl\r\nlru_crawler crawl 0\r\nlru_crawler crawl 64\r\n"
      "lru_crawler crawl -1\r\nlru_crawler crawl 1,x\r\nlru_crawler crawl ,\r\n"
      "lru_crawler crawl hash\r\nlru_crawler crawl all noreply\r\nlru_crawler crawl 1 2\r\n"
      "lru_crawler crawl +3,,63\r\nlru_crawler crawl 1\r\nlru_crawler crawl hash\r\n"
      "lru_crawler crawl ,\r\nlru_crawler  crawl   all  \r\n",
      "ERROR\r\nERROR\r\nBADCLASS invalid class id\r\nBADCLASS invalid class id\r\n"
      "BADCLASS invalid class id\r\nBADCLASS invalid class id\r\n"
      "NOTSTARTED no items to crawl\r\nERROR an unknown error happened\r\nERROR\r\nERROR\r\n"
      "OK\r\nBUSY currently processing crawler request\r\n"
      "BUSY currently processing crawler request\r\nBUSY currently processing crawler request\r\n"
      "BUSY currently processing crawler request\r\n");
  // Once the crawl has run, the next one may start.
  ASSERT_TRUE(cache_->CrawlPending());
  EXPECT_EQ(Run("lru_crawler crawl all\r\n"), "OK\r\n");
}

TEST_F(LruCrawlerTest, EnableDisableSleepTocrawlRepliesAtEverySplit) {
  ExpectAtEverySplit(
      "lru_crawler enable\r\nlru_crawler disable\r\nlru_crawler disable\r\n"
      "lru_crawler crawl 1\r\nlru_crawler metadump all\r\nlru_crawler mgdump all\r\n"
      "lru_crawler enable\r\nlru_crawler enable\r\nlru_crawler foo\r\nlru_crawler foo bar\r\n"
      "lru_crawler enable now\r\n"
      "lru_crawler sleep 5\r\nlru_crawler sleep 1000001\r\nlru_crawler sleep 1000000\r\n"
      "lru_crawler sleep -1\r\nlru_crawler sleep x\r\nlru_crawler sleep\r\n"
      "lru_crawler sleep 4294967297\r\n"
      "lru_crawler tocrawl 5\r\nlru_crawler tocrawl -5\r\nlru_crawler tocrawl 4294967296\r\n"
      "lru_crawler tocrawl 1 2\r\n",
      "ERROR failed to start lru crawler thread\r\nOK\r\nOK\r\n"
      "CLIENT_ERROR lru crawler disabled\r\nCLIENT_ERROR lru crawler disabled\r\n"
      "CLIENT_ERROR lru crawler disabled\r\n"
      "OK\r\nERROR failed to start lru crawler thread\r\nERROR\r\nERROR\r\nERROR\r\n"
      "OK\r\nCLIENT_ERROR sleep must be one second or less\r\nOK\r\n"
      "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n"
      "OK\r\n"
      "OK\r\nCLIENT_ERROR bad command line format\r\nOK\r\nERROR\r\n");
  // As memcached: 4294967297 is 1 in 32 bits, 4294967296 is 0.
  EXPECT_EQ(cache_->CrawlerCounters().sleep_us, 1u);
  EXPECT_EQ(cache_->CrawlerCounters().tocrawl, 0u);
}

TEST_F(LruCrawlerTest, MetadumpLineFormatAtEverySplit) {
  // A get flushes the output in memcached, so the dump after it is not "pipelined".
  const std::string input =
      "set a 0 0 1\r\nx\r\nset exp/%\xc3\xa9~._- 5 100 3\r\nabc\r\nget a\r\n"
      "lru_crawler metadump all\r\nversion\r\n";
  const int cls = ClassForSize(40 + 1 + 1 + 2);
  const int cls2 = ClassForSize(40 + 11 + 3 + 2);
  ASSERT_EQ(cls, cls2);  // in the order stored, then
  const std::string la = std::to_string(clock_.Epoch() + clock_.Now());
  const std::string exp = std::to_string(clock_.Epoch() + clock_.Now() + 100);
  ExpectAtEverySplit(input,
                     "STORED\r\nSTORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n"
                     "key=a exp=-1 la=" +
                         la + " cas=1 fetch=yes cls=" + std::to_string(cls) +
                         " size=44\n"
                         "key=exp%2F%25%C3%A9~._- exp=" +
                         exp + " la=" + la + " cas=2 fetch=no cls=" + std::to_string(cls) +
                         " size=56\nEND\r\nVERSION 1.6.18-mcd-test\r\n");
}

TEST_F(LruCrawlerTest, MgdumpFormatAtEverySplit) {
  ExpectAtEverySplit("set a 0 0 1\r\nx\r\nget a\r\nlru_crawler mgdump hash\r\nversion\r\n",
                     "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nOK\r\nmg a\r\nEN\r\n"
                     "VERSION 1.6.18-mcd-test\r\n");
  EXPECT_EQ(Run("lru_crawler mgdump 2,3\r\n"), "OK\r\nEN\r\n");
}

TEST_F(LruCrawlerTest, DumpErrors) {
  EXPECT_EQ(Run("lru_crawler metadump 99\r\n"), "BADCLASS invalid class id\r\n");
  EXPECT_EQ(Run("lru_crawler metadump 1,x\r\n"), "BADCLASS invalid class id\r\n");
  EXPECT_EQ(Run("lru_crawler metadump ,\r\n"), "NOTSTARTED no items to crawl\r\n");
  EXPECT_EQ(Run("lru_crawler mgdump 0\r\n"), "BADCLASS invalid class id\r\n");
  EXPECT_EQ(Run("lru_crawler metadump 1\r\n"), "END\r\n");
  EXPECT_EQ(Run("lru_crawler metadump\r\n"), "ERROR\r\n");
  EXPECT_EQ(Run("lru_crawler metadump all now\r\n"), "ERROR\r\n");
  // A crawl does not keep a dump from starting (memcached: BUSY; compatibility.md).
  EXPECT_EQ(Run("lru_crawler crawl all\r\n"), "OK\r\n");
  EXPECT_EQ(Run("lru_crawler metadump all\r\n"), "END\r\n");
  ctx_.options.dump_enabled = false;  // -X
  EXPECT_EQ(Run("lru_crawler metadump all\r\n"), "ERROR metadump not allowed\r\n");
  EXPECT_EQ(Run("lru_crawler mgdump all\r\n"), "ERROR key dump not allowed\r\n");
}

// memcached refuses a dump behind replies still queued in the same read, except after a
// retrieval (whose replies it writes out first); noreply commands and errors count too.
TEST_F(LruCrawlerTest, DumpsRefuseToPipeline) {
  const std::string meta = "ERROR cannot pipeline other commands before metadump\r\n";
  EXPECT_EQ(Run("set a 0 0 1\r\nx\r\nlru_crawler metadump all\r\n"), "STORED\r\n" + meta);
  EXPECT_EQ(Run("set b 0 0 1 noreply\r\nx\r\nlru_crawler metadump all\r\n"), meta);
  EXPECT_EQ(Run("mg foo v\r\nlru_crawler metadump all\r\n"), "EN\r\n" + meta);
  EXPECT_EQ(Run("version\r\nlru_crawler mgdump all\r\n"),
            "VERSION 1.6.18-mcd-test\r\nERROR cannot pipeline other commands before mgdump\r\n");
  EXPECT_EQ(Run("lru_crawler crawl all\r\nlru_crawler metadump all\r\n"), "OK\r\n" + meta);
  EXPECT_EQ(Run("get a\r\nset c 0 0 1\r\nx\r\nlru_crawler metadump all\r\n"),
            "VALUE a 0 1\r\nx\r\nEND\r\nSTORED\r\n" + meta);
  // After a get, or in a later read, it runs.
  const std::string mg = "OK\r\nmg a\r\nmg b\r\nmg c\r\nEN\r\n";
  EXPECT_EQ(Run("get zz\r\nlru_crawler mgdump all\r\n"), "END\r\n" + mg);
  EXPECT_EQ(Run("version\r\nlru_crawler mgdump all\r\n", 9), "VERSION 1.6.18-mcd-test\r\n" + mg);
  // A dump that has ended does not count; the commands behind a dump wait for it.
  EXPECT_EQ(Run("lru_crawler mgdump all\r\nlru_crawler mgdump all\r\nget a\r\n"),
            mg + mg + "VALUE a 0 1\r\nx\r\nEND\r\n");
}

// A large dump comes in bounded pieces, one per Consume() call, each yielding; it stops at the
// output limit and goes on, with no input, once the caller calls again. Every item appears once,
// and the command behind the dump is answered after END.
TEST_F(LruCrawlerTest, LargeMetadumpStreamsInBoundedPieces) {
  std::string sets;
  for (int i = 0; i < 20000; ++i) {
    sets += "set key:" + std::to_string(i) + " 0 0 10 noreply\r\n0123456789\r\n";
  }
  Run(sets);
  ASSERT_EQ(cache_->Stats().curr_items, 20000u);
  Session s(&ctx_, registry_.Thread(0), 7);
  OutBuf out(&ReleaseItemRef, cache_.get());
  const std::string in = "lru_crawler metadump all\r\nversion\r\n";
  size_t used = s.Consume(in, &out, 1 << 30, 100000);
  EXPECT_EQ(used, 26u);  // the dump's line; "version" waits
  EXPECT_TRUE(s.yielded());
  EXPECT_TRUE(s.Dumping());
  EXPECT_TRUE(s.InCommand());
  EXPECT_TRUE(cache_->CrawlerCounters().running);
  EXPECT_LE(out.size(), 64u * 1024 + 8192);
  // Output not drained: a second piece, then nothing past the limit.
  s.Consume({}, &out, 1 << 30, 100000);
  const size_t queued = out.size();
  EXPECT_GT(queued, 100000u);
  EXPECT_EQ(s.Consume({}, &out, 1 << 30, 100000), 0u);
  EXPECT_TRUE(s.yielded());
  EXPECT_EQ(out.size(), queued);
  std::string all = out.ToString();
  out.Consume(out.size());
  int calls = 3;
  while (s.Dumping() && calls < 10000) {
    s.Consume({}, &out, 1 << 30, 100000);
    ++calls;
    EXPECT_LE(out.size(), 64u * 1024 + 8192);
    all += out.ToString();
    out.Consume(out.size());
  }
  EXPECT_GT(calls, 10);
  EXPECT_FALSE(cache_->CrawlerCounters().running);
  EXPECT_EQ(s.Consume(std::string_view(in).substr(used), &out), 9u);
  all += out.ToString();
  EXPECT_TRUE(all.ends_with("\nEND\r\nVERSION 1.6.18-mcd-test\r\n"));
  std::set<std::string> keys;
  size_t lines = 0;
  for (size_t p = 0; p < all.size();) {
    const size_t nl = all.find('\n', p);
    const std::string line = all.substr(p, nl - p);
    p = nl + 1;
    if (line.rfind("key=", 0) != 0) continue;
    ++lines;
    keys.insert(line.substr(4, line.find(' ') - 4));
  }
  EXPECT_EQ(lines, 20000u);
  EXPECT_EQ(keys.size(), 20000u);
  EXPECT_TRUE(keys.count("key%3A19999"));
}

TEST_F(LruCrawlerTest, StatsFollowTheCrawler) {
  std::string stats = Run("stats\r\n");
  EXPECT_EQ(Stat(stats, "lru_crawler_running"), "0");
  EXPECT_EQ(Stat(stats, "lru_crawler_starts"), "0");
  EXPECT_EQ(Run("lru_crawler crawl 1\r\n"), "OK\r\n");
  stats = Run("stats\r\n");
  EXPECT_EQ(Stat(stats, "lru_crawler_running"), "1");
  EXPECT_EQ(Stat(stats, "lru_crawler_starts"), "1");
  ASSERT_TRUE(cache_->CrawlPending());
  EXPECT_EQ(Stat(Run("stats\r\n"), "lru_crawler_running"), "0");
  // Disabled: memcached hides both lines.
  EXPECT_EQ(Run("lru_crawler disable\r\n"), "OK\r\n");
  stats = Run("stats\r\n");
  EXPECT_EQ(Stat(stats, "lru_crawler_running"), "(none)");
  EXPECT_EQ(Stat(stats, "lru_crawler_starts"), "(none)");
  EXPECT_EQ(Run("lru_crawler enable\r\n"), "OK\r\n");
  EXPECT_EQ(Stat(Run("stats\r\n"), "lru_crawler_starts"), "1");
  EXPECT_EQ(Run("stats reset\r\n"), "RESET\r\n");
  EXPECT_EQ(Stat(Run("stats\r\n"), "lru_crawler_starts"), "0");
}

TEST_F(LruCrawlerTest, StatsSettingsShowLiveValues) {
  ctx_.options.settings = {{"lru_crawler", "yes"},
                           {"lru_crawler_sleep", "100"},
                           {"lru_crawler_tocrawl", "0"},
                           {"tail_repair_time", "0"}};
  EXPECT_EQ(Run("stats settings\r\n"),
            "STAT lru_crawler yes\r\nSTAT lru_crawler_sleep 100\r\nSTAT lru_crawler_tocrawl 0\r\n"
            "STAT tail_repair_time 0\r\nEND\r\n");
  EXPECT_EQ(Run("lru_crawler disable\r\nlru_crawler sleep 7\r\nlru_crawler tocrawl 9\r\n"),
            "OK\r\nOK\r\nOK\r\n");
  EXPECT_EQ(Run("stats settings\r\n"),
            "STAT lru_crawler no\r\nSTAT lru_crawler_sleep 7\r\nSTAT lru_crawler_tocrawl 9\r\n"
            "STAT tail_repair_time 0\r\nEND\r\n");
}

TEST_F(LruCrawlerTest, ItemsStatsCountTheCrawlersWork) {
  EXPECT_EQ(Run("set a 0 1 1\r\nx\r\nset b 0 0 1\r\ny\r\n"), "STORED\r\nSTORED\r\n");
  clock_.Advance(2);
  const std::string cls = std::to_string(ClassForSize(44));
  EXPECT_EQ(Run("lru_crawler crawl " + cls + "\r\n"), "OK\r\n");
  ASSERT_TRUE(cache_->CrawlPending());
  const std::string items = Run("stats items\r\n");
  EXPECT_EQ(Stat(items, "items:" + cls + ":crawler_reclaimed"), "1");
  EXPECT_EQ(Stat(items, "items:" + cls + ":crawler_items_checked"), "2");
  EXPECT_EQ(Stat(items, "items:" + cls + ":expired_unfetched"), "1");
  EXPECT_EQ(Stat(items, "items:" + cls + ":number"), "1");
}

// -o no_lru_crawler: off from the start, `lru_crawler enable` turns it on.
TEST_F(LruCrawlerTest, StartedDisabled) {
  Reset(/*crawler=*/false);
  EXPECT_EQ(Run("lru_crawler crawl all\r\n"), "CLIENT_ERROR lru crawler disabled\r\n");
  EXPECT_EQ(Stat(Run("stats\r\n"), "lru_crawler_running"), "(none)");
  EXPECT_EQ(Run("lru_crawler enable\r\nlru_crawler crawl all\r\n"), "OK\r\nOK\r\n");
}

}  // namespace
}  // namespace mcd::handler
