// Eviction: per-class CLOCK, -M, reclaim of dead items, counters.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "mcd/storage/cache.h"
#include "mcd/storage/item.h"
#include "test_util.h"

namespace mcd::storage {
namespace {

using testing::GetValue;
using testing::Put;
using testing::Stored;

// 64 KB pages, 4 pages: every test item (key "kNNNNN", 100-byte value: 147 bytes) lands in the
// 152-byte class, 431 per page, 1724 in all.
constexpr uint32_t kPerClass = 4 * (65536 / 152);

class EvictionTest : public ::testing::Test {
 protected:
  void Make(bool evict) {
    CacheOptions o = testing::SmallPageOptions(4);
    o.evict = evict;
    cache_ = std::make_unique<Cache>(o, &clock_);
  }
  static std::string Key(int i) { return testing::NumberedKey(i); }
  bool Set(int i, RelTime exptime = 0) {
    return Stored(*cache_, Key(i), std::string(100, 'v'), StoreMode::kSet, 0, exptime);
  }
  bool Has(int i) { return GetValue(*cache_, Key(i)).has_value(); }
  ClassStats OnlyClass() {
    ClassStats out;
    int n = 0;
    cache_->VisitClasses([&](const ClassStats& c) {
      out = c;
      ++n;
    });
    EXPECT_EQ(n, 1);
    return out;
  }

  FakeClock clock_{1000};
  std::unique_ptr<Cache> cache_;
};

TEST_F(EvictionTest, RecentlyReadItemsSurviveAFloodUnreadOldOnesGoFirst) {
  Make(true);
  for (uint32_t i = 0; i < kPerClass; ++i) ASSERT_TRUE(Set(static_cast<int>(i)));
  EXPECT_EQ(OnlyClass().total_chunks, kPerClass);
  EXPECT_EQ(cache_->Stats().evictions, 0u);
  clock_.Advance(30);
  // One more item: the hand clears every (new-item) active bit in one turn, then evicts item 0.
  ASSERT_TRUE(Set(100000));
  EXPECT_FALSE(Has(0));
  EXPECT_EQ(cache_->Stats().evictions, 1u);
  // Read a block in the middle; then flood with new items.
  constexpr int kHotStart = kPerClass / 2, kHot = 100, kFlood = kPerClass / 2 + 100;
  // Read twice: as in memcached, the first read only marks an item fetched, the second active.
  for (int i = kHotStart; i < kHotStart + kHot; ++i) ASSERT_TRUE(Has(i) && Has(i));
  for (int i = 0; i < kFlood; ++i) ASSERT_TRUE(Set(200000 + i));
  for (int i = kHotStart; i < kHotStart + kHot; ++i) EXPECT_TRUE(Has(i)) << i;
  for (int i = 1; i < kHotStart; ++i) EXPECT_FALSE(Has(i)) << i;
  EXPECT_TRUE(Has(kPerClass - 1));  // unread but newer than what the hand reached
  for (int i = 0; i < kFlood; ++i) EXPECT_TRUE(Has(200000 + i)) << i;
  GlobalStats g = cache_->Stats();
  EXPECT_EQ(g.evictions, 1u + kFlood);
  EXPECT_EQ(g.evicted_unfetched, 1u + kFlood);
  EXPECT_EQ(g.curr_items, kPerClass);
  ClassStats c = OnlyClass();
  EXPECT_EQ(c.evicted, 1u + kFlood);
  EXPECT_EQ(c.evicted_nonzero, 0u);
  EXPECT_EQ(c.evicted_time, 30u);
  EXPECT_EQ(c.outofmemory, 0u);
  EXPECT_EQ(c.number, kPerClass);
  EXPECT_EQ(c.used_chunks, kPerClass);
  cache_->ResetStats();
  EXPECT_EQ(cache_->Stats().evictions, 0u);
  EXPECT_EQ(OnlyClass().evicted, 0u);
}

TEST_F(EvictionTest, EvictedNonzeroCountsItemsWithExptime) {
  Make(true);
  for (uint32_t i = 0; i < kPerClass; ++i) ASSERT_TRUE(Set(static_cast<int>(i), 1000000));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Set(100000 + i));
  ClassStats c = OnlyClass();
  EXPECT_EQ(c.evicted, 10u);
  EXPECT_EQ(c.evicted_nonzero, 10u);
}

TEST_F(EvictionTest, NoEvictGivesOutOfMemory) {
  Make(false);
  for (uint32_t i = 0; i < kPerClass; ++i) ASSERT_TRUE(Set(static_cast<int>(i)));
  Item* it = nullptr;
  EXPECT_EQ(cache_->Allocate(Key(100000), 0, 0, 100, &it), AllocResult::kNoMemory);
  EXPECT_EQ(it, nullptr);
  EXPECT_EQ(cache_->Stats().evictions, 0u);
  EXPECT_EQ(OnlyClass().outofmemory, 1u);
  for (uint32_t i = 0; i < kPerClass; ++i) ASSERT_TRUE(Has(static_cast<int>(i)));
  // append needs a new item: no memory.
  EXPECT_EQ(Put(*cache_, Key(0), "x", StoreMode::kAppend).store, StoreResult::kNoMemory);
  // Delete frees a chunk that the next store can use.
  EXPECT_TRUE(cache_->Delete(Key(5)));
  EXPECT_TRUE(Set(100000));
}

TEST_F(EvictionTest, NoEvictStillReclaimsExpired) {
  Make(false);
  for (uint32_t i = 0; i < kPerClass; ++i) {
    ASSERT_TRUE(Set(static_cast<int>(i), i < 10 ? clock_.Now() + 5 : 0));
  }
  clock_.Advance(5);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Set(100000 + i));
  GlobalStats g = cache_->Stats();
  EXPECT_EQ(g.reclaimed, 10u);
  EXPECT_EQ(g.expired_unfetched, 10u);
  EXPECT_EQ(g.evictions, 0u);
  Item* it = nullptr;
  EXPECT_EQ(cache_->Allocate(Key(100010), 0, 0, 100, &it), AllocResult::kNoMemory);
}

TEST_F(EvictionTest, ReclaimsExpiredBeforeEvictingLive) {
  Make(true);
  // Every other item expires; some of those are read first (fetched).
  for (uint32_t i = 0; i < kPerClass; ++i) {
    ASSERT_TRUE(Set(static_cast<int>(i), i % 2 == 0 ? clock_.Now() + 10 : 0));
  }
  for (int i = 0; i < 20; i += 2) ASSERT_TRUE(Has(i));
  clock_.Advance(10);
  for (uint32_t i = 0; i < kPerClass / 2; ++i) ASSERT_TRUE(Set(100000 + static_cast<int>(i)));
  GlobalStats g = cache_->Stats();
  EXPECT_EQ(g.evictions, 0u);
  EXPECT_EQ(g.reclaimed, kPerClass / 2);
  EXPECT_EQ(g.expired_unfetched, kPerClass / 2 - 10);
  for (uint32_t i = 1; i < kPerClass; i += 2) EXPECT_TRUE(Has(static_cast<int>(i))) << i;
}

TEST_F(EvictionTest, FlushedItemsAreReclaimed) {
  Make(true);
  for (uint32_t i = 0; i < kPerClass; ++i) ASSERT_TRUE(Set(static_cast<int>(i)));
  cache_->FlushAll(0);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Set(100000 + i));
  GlobalStats g = cache_->Stats();
  EXPECT_EQ(g.reclaimed, 50u);
  EXPECT_EQ(g.evictions, 0u);
}

// memcached's t/issue_14.t: with memory to spare, expired items are still reused before the
// class takes another page (total_malloced does not grow).
TEST_F(EvictionTest, ExpiredItemsAreReusedBeforeANewPage) {
  Make(true);
  constexpr int kOnePage = 65536 / 152;
  for (int i = 0; i < kOnePage; ++i) ASSERT_TRUE(Set(i, clock_.Now() + 2));
  const uint64_t malloced = cache_->Stats().total_malloced;
  clock_.Advance(2);
  for (int i = 0; i < kOnePage; ++i) ASSERT_TRUE(Set(100000 + i));
  GlobalStats g = cache_->Stats();
  EXPECT_EQ(g.total_malloced, malloced);
  EXPECT_EQ(g.reclaimed, static_cast<uint64_t>(kOnePage));
  EXPECT_EQ(g.expired_unfetched, static_cast<uint64_t>(kOnePage));
  EXPECT_EQ(g.evictions, 0u);
  EXPECT_EQ(OnlyClass().reclaimed, static_cast<uint64_t>(kOnePage));
  for (int i = 0; i < kOnePage; ++i) EXPECT_TRUE(Has(100000 + i)) << i;
}

// memcached's t/issue_183.t: a store right after flush_all reuses the flushed item's memory,
// although the class has free chunks (the probe at every allocation).
TEST_F(EvictionTest, StoreAfterFlushReclaimsTheFlushedItem) {
  Make(true);
  ASSERT_TRUE(Set(1));
  EXPECT_EQ(cache_->Stats().reclaimed, 0u);
  cache_->FlushAll(0);
  ASSERT_TRUE(Set(1));
  EXPECT_EQ(cache_->Stats().reclaimed, 1u);
  EXPECT_TRUE(Has(1));
}

// The probe takes only dead items: live ones keep their place and their active bit.
TEST_F(EvictionTest, ReclaimProbeLeavesLiveItemsAlone) {
  Make(true);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(Set(i, i % 4 == 0 ? clock_.Now() + 1 : 0));
  clock_.Advance(1);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(Set(100000 + i));
  GlobalStats g = cache_->Stats();
  EXPECT_EQ(g.reclaimed, 50u);
  EXPECT_EQ(g.evictions, 0u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(Has(i), i % 4 != 0) << i;
  EXPECT_EQ(g.curr_items, 350u);
}

// A reader's reference keeps a dead item from being reclaimed under it.
TEST_F(EvictionTest, ReclaimSkipsAnExpiredItemStillBeingRead) {
  Make(true);
  ASSERT_TRUE(Set(1, clock_.Now() + 1));
  LookupResult r;
  Item* held = cache_->Get(Key(1), &r);
  ASSERT_NE(held, nullptr);
  clock_.Advance(1);
  ASSERT_TRUE(Set(2));
  EXPECT_EQ(cache_->Stats().reclaimed, 0u);
  EXPECT_EQ(testing::ReadRegion(held), std::string(100, 'v') + "\r\n");
  cache_->Release(held);
}

TEST_F(EvictionTest, HeldItemIsNotEvicted) {
  Make(true);
  for (uint32_t i = 0; i < kPerClass; ++i) ASSERT_TRUE(Set(static_cast<int>(i)));
  LookupResult r;
  Item* held = cache_->Get(Key(0), &r);
  ASSERT_NE(held, nullptr);
  for (uint32_t i = 0; i < kPerClass; ++i) ASSERT_TRUE(Set(100000 + static_cast<int>(i)));
  EXPECT_EQ(testing::ReadRegion(held), std::string(100, 'v') + "\r\n");
  EXPECT_TRUE(Has(0));  // still linked: it had a reader during every pass
  cache_->Release(held);
}

// Four threads set, get, append, incr and delete over a key space larger than memory, so the
// sweep runs concurrently with lookups, holds and frees. Every value read must be intact.
TEST_F(EvictionTest, ConcurrentChurnUnderEvictionKeepsValuesIntact) {
  Make(true);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 6000; ++i) {
        int k = (i * 7 + t * 13) % 3000;
        std::string key = Key(k);
        std::string value(80 + k % 40, static_cast<char>('a' + k % 26));
        switch (i % 5) {
          case 0:
          case 1:
            Stored(*cache_, key, value);
            break;
          case 2: {
            LookupResult r;
            Item* it = cache_->Get(key, &r);
            if (it != nullptr) {
              std::string got = testing::ReadRegion(it);
              // Appends only add 'x' bytes; incr results are digits.
              bool ok = got.size() >= 2 && got.compare(got.size() - 2, 2, "\r\n") == 0;
              if (!ok) ++bad;
              cache_->Release(it);
            }
            break;
          }
          case 3:
            Put(*cache_, key, "x", StoreMode::kAppend);
            break;
          case 4:
            if (k % 2 == 0) {
              cache_->Delete(key);
            } else {
              uint64_t v;
              cache_->Delta(key, true, 1, &v);
            }
            break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  GlobalStats g = cache_->Stats();
  EXPECT_GT(g.evictions, 0u);
  uint64_t linked = 0;
  cache_->VisitClasses([&](const ClassStats& c) { linked += c.number; });
  EXPECT_EQ(linked, g.curr_items);
}

TEST(LargeItemEvictionTest, ChunkedItemsAreEvictedThroughTheirDataChunks) {
  FakeClock clock(1000);
  CacheOptions o;
  o.memory_limit = 4 << 20;
  o.start_maintainer = false;
  Cache cache(o, &clock);
  std::string value(700 * 1024, 'L');
  for (int i = 0; i < 20; ++i) {
    value[0] = static_cast<char>('a' + i);
    ASSERT_TRUE(Stored(cache, "big" + std::to_string(i), value)) << i;
    ASSERT_EQ(GetValue(cache, "big" + std::to_string(i)), value) << i;
  }
  GlobalStats g = cache.Stats();
  EXPECT_GT(g.evictions, 0u);
  EXPECT_LE(g.total_malloced, uint64_t{4 + 63} << 20);
  EXPECT_FALSE(GetValue(cache, "big0").has_value());
}

}  // namespace
}  // namespace mcd::storage
