// The LRU crawler: requested crawls (`lru_crawler crawl`), its settings (enable, sleep, tocrawl),
// its counters, and item walks (`lru_crawler metadump`/`mgdump`), on a fake clock. The crawler
// thread itself is exercised by CrawlerThreadTest.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mcd/storage/cache.h"
#include "mcd/storage/item.h"
#include "test_util.h"

namespace mcd::storage {
namespace {

using testing::GetValue;
using testing::Stored;

uint64_t Bit(int id) { return uint64_t{1} << id; }

class CrawlerTest : public ::testing::Test {
 protected:
  CrawlerTest() { cache_ = std::make_unique<Cache>(testing::SmallPageOptions(16), &clock_); }

  static std::string Key(int i) { return testing::NumberedKey(i); }
  // Two sizes of item, each in its own class.
  static std::string SmallValue() { return std::string(100, 's'); }
  static std::string BigValue() { return std::string(1000, 'b'); }
  int ClassOfKey(const std::string& key) {
    LookupResult r;
    Item* it = cache_->Get(key, &r);
    if (it == nullptr) return 0;
    const int cls = cache_->ClassOf(it);
    cache_->Release(it);
    return cls;
  }
  ClassStats Class(int id) {
    ClassStats out;
    cache_->VisitClasses([&](const ClassStats& c) {
      if (c.id == id) out = c;
    });
    return out;
  }
  // Every item a walk over class_mask reports, by key, run to its end in steps of `step`.
  std::map<std::string, ItemMeta> WalkAll(uint64_t class_mask, uint64_t step = 100) {
    std::map<std::string, ItemMeta> seen;
    auto walk = cache_->WalkItems(class_mask);
    int steps = 0;
    bool more = true;
    while (more && ++steps < 100000) {
      more = walk->Step(step, [&](const ItemMeta& m) {
        ItemMeta copy = m;
        copy.key = {};  // valid only during the call
        EXPECT_TRUE(seen.emplace(std::string(m.key), copy).second) << "twice: " << m.key;
      });
    }
    EXPECT_FALSE(more);
    return seen;
  }

  FakeClock clock_{1000};
  std::unique_ptr<Cache> cache_;
};

TEST_F(CrawlerTest, RequestedCrawlFreesExpiredItemsOfTheNamedClassesOnly) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Stored(*cache_, Key(i), SmallValue(), StoreMode::kSet, 0,
                       i % 2 == 0 ? clock_.Now() + 10 : 0));
    ASSERT_TRUE(Stored(*cache_, Key(1000 + i), BigValue(), StoreMode::kSet, 0, clock_.Now() + 10));
  }
  const int small = ClassOfKey(Key(1));
  const int big = ClassOfKey(Key(1001));
  ASSERT_NE(small, big);
  clock_.Advance(10);
  const uint64_t starts = cache_->CrawlerCounters().starts;
  EXPECT_FALSE(cache_->CrawlerCounters().running);
  EXPECT_EQ(cache_->RequestCrawl(Bit(small)), CrawlResult::kOk);
  EXPECT_TRUE(cache_->CrawlerCounters().running);  // from the reply on, until it has ended
  EXPECT_EQ(cache_->CrawlerCounters().starts, starts + 1);
  EXPECT_EQ(cache_->RequestCrawl(Bit(big)), CrawlResult::kBusy);
  ASSERT_TRUE(cache_->CrawlPending());
  EXPECT_FALSE(cache_->CrawlPending());
  EXPECT_FALSE(cache_->CrawlerCounters().running);
  ClassStats s = Class(small);
  EXPECT_EQ(s.crawler_reclaimed, 50u);
  EXPECT_EQ(s.expired_unfetched, 50u);  // never read, as memcached counts them
  EXPECT_EQ(s.crawler_items_checked, 100u);
  EXPECT_EQ(s.used_chunks, 50u);
  EXPECT_EQ(Class(big).crawler_reclaimed, 0u);
  EXPECT_EQ(Class(big).used_chunks, 100u);
  // The other class now; classes that do not exist are fine.
  EXPECT_EQ(cache_->RequestCrawl(Bit(big) | Bit(63)), CrawlResult::kOk);
  ASSERT_TRUE(cache_->CrawlPending());
  EXPECT_EQ(Class(big).crawler_reclaimed, 100u);
  EXPECT_EQ(Class(big).used_chunks, 0u);
  EXPECT_EQ(cache_->Stats().curr_items, 50u);
}

TEST_F(CrawlerTest, FlushedItemsAreReclaimedButNotCountedUnfetched) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Stored(*cache_, Key(i), SmallValue()));
  cache_->FlushAll(0);
  EXPECT_EQ(cache_->RequestCrawl(~uint64_t{1}), CrawlResult::kOk);
  ASSERT_TRUE(cache_->CrawlPending());
  const GlobalStats g = cache_->Stats();
  EXPECT_EQ(g.crawler_reclaimed, 20u);
  EXPECT_EQ(g.expired_unfetched, 0u);
  EXPECT_EQ(g.curr_items, 0u);
}

TEST_F(CrawlerTest, RepliesForNoClassAndWhenDisabled) {
  EXPECT_EQ(cache_->RequestCrawl(0), CrawlResult::kNotStarted);
  EXPECT_FALSE(cache_->EnableCrawler());  // on by default: memcached's "failed to start"
  cache_->DisableCrawler();
  EXPECT_FALSE(cache_->CrawlerCounters().enabled);
  EXPECT_EQ(cache_->RequestCrawl(Bit(1)), CrawlResult::kDisabled);
  cache_->DisableCrawler();  // twice is fine, as in memcached
  EXPECT_TRUE(cache_->EnableCrawler());
  EXPECT_TRUE(cache_->CrawlerCounters().enabled);
  EXPECT_EQ(cache_->RequestCrawl(Bit(1)), CrawlResult::kOk);
  // Busy comes before "no class", as memcached checks.
  EXPECT_EQ(cache_->RequestCrawl(0), CrawlResult::kBusy);
  ASSERT_TRUE(cache_->CrawlPending());
  EXPECT_EQ(cache_->CrawlerCounters().starts, 1u);
}

TEST_F(CrawlerTest, ToCrawlLimitsTheItemsExaminedPerClass) {
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(Stored(*cache_, Key(i), SmallValue(), StoreMode::kSet, 0, clock_.Now() + 1));
  }
  const int small = ClassOfKey(Key(0));
  clock_.Advance(1);
  cache_->SetCrawlerToCrawl(30);
  EXPECT_EQ(cache_->CrawlerCounters().tocrawl, 30u);
  ASSERT_EQ(cache_->RequestCrawl(Bit(small)), CrawlResult::kOk);
  ASSERT_TRUE(cache_->CrawlPending());
  EXPECT_EQ(Class(small).crawler_items_checked, 30u);
  EXPECT_EQ(Class(small).crawler_reclaimed, 30u);
  cache_->SetCrawlerToCrawl(0);  // all
  ASSERT_EQ(cache_->RequestCrawl(Bit(small)), CrawlResult::kOk);
  ASSERT_TRUE(cache_->CrawlPending());
  EXPECT_EQ(Class(small).crawler_reclaimed, 200u);
}

TEST_F(CrawlerTest, ResetClearsStarts) {
  ASSERT_EQ(cache_->RequestCrawl(Bit(1)), CrawlResult::kOk);
  ASSERT_TRUE(cache_->CrawlPending());
  { auto walk = cache_->WalkItems(Bit(1)); }
  EXPECT_EQ(cache_->CrawlerCounters().starts, 2u);
  cache_->ResetStats();
  EXPECT_EQ(cache_->CrawlerCounters().starts, 0u);
}

TEST_F(CrawlerTest, WalkReportsEveryLiveItemOnceWithItsMetadata) {
  const RelTime now = clock_.Now();
  std::map<std::string, RelTime> exptimes;
  for (int i = 0; i < 500; ++i) {
    const RelTime exptime = i % 5 == 0 ? 0 : now + 100 + static_cast<RelTime>(i);
    ASSERT_TRUE(Stored(*cache_, Key(i), SmallValue(), StoreMode::kSet, 0, exptime));
    exptimes[Key(i)] = exptime;
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(Stored(*cache_, Key(1000 + i), BigValue(), StoreMode::kSet, 0, now + 65));
  }
  const std::string long_key(250, 'L');
  ASSERT_TRUE(Stored(*cache_, long_key, "v"));
  clock_.Advance(61);  // a hit refreshes the access time once a minute at most
  ASSERT_TRUE(GetValue(*cache_, Key(7)).has_value());  // fetched, and accessed now
  const int small = ClassOfKey(Key(1));
  const int big = ClassOfKey(Key(1001));
  const uint64_t starts = cache_->CrawlerCounters().starts;

  std::map<std::string, ItemMeta> all = WalkAll(~uint64_t{1}, 7);
  EXPECT_EQ(cache_->CrawlerCounters().starts, starts + 1);
  EXPECT_FALSE(cache_->CrawlerCounters().running);  // the walk is gone
  ASSERT_EQ(all.size(), 551u);
  for (const auto& [key, exptime] : exptimes) {
    const ItemMeta& m = all.at(key);
    EXPECT_EQ(m.exptime, exptime) << key;
    EXPECT_EQ(m.class_id, small);
    EXPECT_EQ(m.size, 40u + key.size() + 100 + 2);  // header + key + value + "\r\n"
    EXPECT_EQ(m.cas, testing::GetCas(*cache_, key));
  }
  EXPECT_TRUE(all.at(Key(7)).fetched);
  EXPECT_EQ(all.at(Key(7)).last_access, now + 61);
  EXPECT_FALSE(all.at(Key(8)).fetched);
  EXPECT_EQ(all.at(Key(8)).last_access, now);
  EXPECT_EQ(all.at(long_key).size, 40u + 250 + 1 + 2);
  EXPECT_EQ(all.at(Key(1001)).class_id, big);

  // Only the classes asked for; dead items are left out.
  EXPECT_EQ(WalkAll(Bit(big)).size(), 50u);
  clock_.Advance(4);  // the big ones expire
  EXPECT_EQ(WalkAll(Bit(big)).size(), 0u);
  EXPECT_EQ(WalkAll(Bit(small) | Bit(big), 1).size(), 500u);
  cache_->FlushAll(0);
  EXPECT_EQ(WalkAll(~uint64_t{1}).size(), 0u);
}

TEST_F(CrawlerTest, WalkOfAnEmptyCacheEndsAtOnce) {
  auto walk = cache_->WalkItems(~uint64_t{1});
  EXPECT_TRUE(cache_->CrawlerCounters().running);
  int calls = 0;
  EXPECT_FALSE(walk->Step(1, [&](const ItemMeta&) { ++calls; }));
  EXPECT_EQ(calls, 0);
  walk.reset();
  EXPECT_FALSE(cache_->CrawlerCounters().running);
}

TEST_F(CrawlerTest, WalkWithChunkedItems) {
  CacheOptions o = testing::SmallPageOptions(16);
  o.slab_chunk_max = 4096;  // values above ~4 KB are chunked
  cache_ = std::make_unique<Cache>(o, &clock_);
  const std::string huge(20000, 'h');
  ASSERT_TRUE(Stored(*cache_, "huge", huge));
  ASSERT_TRUE(Stored(*cache_, "small", "x"));
  std::map<std::string, ItemMeta> all = WalkAll(~uint64_t{1});
  ASSERT_EQ(all.size(), 2u);  // the data chunks are not items
  EXPECT_EQ(all.at("huge").size, 40u + 4 + 20000 + 2);
}

// A page that leaves its class while a walk is under way is skipped; the items of the other
// pages are all reported, and nothing is reported that was never stored.
TEST_F(CrawlerTest, WalkSurvivesAPageMove) {
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(Stored(*cache_, Key(i), SmallValue()));
    keys.push_back(Key(i));
  }
  const int small = ClassOfKey(Key(0));
  const uint32_t chunks_per_page = (64 << 10) / cache_->ChunkSize(small);
  ASSERT_GE(Class(small).total_pages, 4u);
  std::set<std::string> seen;
  auto walk = cache_->WalkItems(Bit(small));
  bool more = walk->Step(2 * chunks_per_page + 10,
                         [&](const ItemMeta& m) { seen.insert(std::string(m.key)); });
  ASSERT_TRUE(more);
  ASSERT_EQ(cache_->ReassignPage(small, 0), ReassignResult::kOk);  // the oldest page, to the pool
  int steps = 0;
  while (cache_->MoveStep()) ASSERT_LT(++steps, 100000);
  while (more) {
    more = walk->Step(50, [&](const ItemMeta& m) { seen.insert(std::string(m.key)); });
  }
  // Items stored after the first page was full were never in the moved page.
  for (size_t i = chunks_per_page; i < keys.size(); ++i) {
    if (GetValue(*cache_, keys[i]).has_value()) {
      EXPECT_TRUE(seen.count(keys[i])) << keys[i];
    }
  }
  for (const std::string& k : seen) EXPECT_LT(k, Key(2000));
}

// The crawler thread of a cache with its maintainer threads: a requested crawl runs at once,
// paced by the sleep setting.
class CrawlerThreadTest : public ::testing::Test {
 protected:
  void Start(uint32_t sleep_us) {
    CacheOptions o = testing::SmallPageOptions(64);
    o.start_maintainer = true;
    o.slab_reassign = false;
    o.lru_segmented = false;  // no LRU maintainer tick (it frees dead items too)
    o.temp_lru = false;
    o.lru_crawler_sleep = sleep_us;
    cache_ = std::make_unique<Cache>(o, &clock_);
  }
  // Fills `n` items that expire at once, crawls them and returns how long the crawl took.
  std::chrono::milliseconds CrawlExpired(int n) {
    for (int i = 0; i < n; ++i) {
      EXPECT_TRUE(
          Stored(*cache_, testing::NumberedKey(i), "v", StoreMode::kSet, 0, clock_.Now() + 1));
    }
    clock_.Advance(1);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(cache_->RequestCrawl(~uint64_t{1}), CrawlResult::kOk);
    const auto deadline = start + std::chrono::seconds(20);
    while (cache_->CrawlerCounters().running && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_FALSE(cache_->CrawlerCounters().running);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  }

  FakeClock clock_{1000};
  std::unique_ptr<Cache> cache_;
};

TEST_F(CrawlerThreadTest, RequestedCrawlRunsOnTheCrawlerThread) {
  Start(0);
  CrawlExpired(3000);
  EXPECT_EQ(cache_->Stats().crawler_reclaimed, 3000u);
  EXPECT_EQ(cache_->Stats().curr_items, 0u);
}

// 5000 chunks at 1000 per step make at least four pauses: 4 x 50 ms.
TEST_F(CrawlerThreadTest, SleepPacesTheCrawl) {
  Start(50000);
  EXPECT_EQ(cache_->CrawlerCounters().sleep_us, 50000u);
  const auto took = CrawlExpired(5000);
  EXPECT_GE(took.count(), 200);
  EXPECT_EQ(cache_->Stats().crawler_reclaimed, 5000u);
}

}  // namespace
}  // namespace mcd::storage
