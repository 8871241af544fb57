// The slab page mover: reassign replies, rescue into free chunks, eviction when there are none,
// busy items, the global page pool, and values intact while pages move under load.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "mcd/storage/cache.h"
#include "mcd/storage/item.h"
#include "test_util.h"

namespace mcd::storage {
namespace {

using testing::GetValue;
using testing::ReadRegion;
using testing::Stored;

// 64 KB pages, 8 of them. Small items ("kNNNNN", 100-byte value: 148 bytes) go to the 152-byte
// class, 431 per page; big ones (1000-byte value) to a class of their own.
constexpr uint32_t kPerPage = 65536 / 152;

class MoverTest : public ::testing::Test {
 protected:
  MoverTest() { cache_ = std::make_unique<Cache>(testing::SmallPageOptions(8), &clock_); }
  static std::string Key(int i) { return testing::NumberedKey(i); }
  // A value that names its key, so a value moved to the wrong place shows.
  static std::string Value(int i, size_t len = 100) {
    std::string v = Key(i);
    while (v.size() < len) v += static_cast<char>('a' + (v.size() + i) % 26);
    return v.substr(0, len);
  }
  bool Set(int i, size_t len = 100) { return Stored(*cache_, Key(i), Value(i, len)); }
  int ClassOfKey(int i) {
    LookupResult r;
    Item* it = cache_->Get(Key(i), &r);
    if (it == nullptr) return 0;
    int cls = cache_->ClassOf(it);
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
  // Runs the move to its end (bounded).
  void RunMove() {
    int steps = 0;
    while (cache_->MoveStep()) ASSERT_LT(++steps, 100000);
  }

  FakeClock clock_{1000};
  std::unique_ptr<Cache> cache_;
};

TEST_F(MoverTest, ReassignReplies) {
  ASSERT_TRUE(Set(0));
  ASSERT_TRUE(Set(100000, 1000));
  const int small = ClassOfKey(0);
  const int big = ClassOfKey(100000);
  EXPECT_EQ(cache_->ReassignPage(small, small), ReassignResult::kSame);
  EXPECT_EQ(cache_->ReassignPage(-2, big), ReassignResult::kBadClass);
  EXPECT_EQ(cache_->ReassignPage(0, big), ReassignResult::kNoSpare);    // the pool is empty
  EXPECT_EQ(cache_->ReassignPage(-1, big), ReassignResult::kBadClass);  // no class to spare
  EXPECT_EQ(cache_->ReassignPage(small, cache_->NumClasses() + 1), ReassignResult::kBadClass);
  EXPECT_EQ(cache_->ReassignPage(small, big), ReassignResult::kNoSpare);  // one page only
  for (int i = 1; i < static_cast<int>(kPerPage) + 10; ++i) ASSERT_TRUE(Set(i));
  EXPECT_EQ(cache_->ReassignPage(small, big), ReassignResult::kOk);
  EXPECT_EQ(cache_->ReassignPage(small, big), ReassignResult::kBusy);
  RunMove();
  EXPECT_EQ(cache_->ReassignPage(small, big), ReassignResult::kNoSpare);
  EXPECT_EQ(cache_->MoverCounters().slabs_moved, 1u);
}

// The oldest page is emptied: its items go to free chunks of the class while there are any,
// the rest are evicted; the page joins the destination with every chunk free.
TEST_F(MoverTest, RescuesIntoFreeChunksThenEvicts) {
  for (int i = 0; i < static_cast<int>(2 * kPerPage); ++i) ASSERT_TRUE(Set(i));
  for (int i = kPerPage; i < static_cast<int>(kPerPage) + 200; ++i) {
    ASSERT_TRUE(cache_->Delete(Key(i)));
  }
  ASSERT_TRUE(Set(100000, 1000));
  const int small = ClassOfKey(0);
  const int big = ClassOfKey(100000);
  const ClassStats big_before = Class(big);
  ASSERT_EQ(cache_->ReassignPage(small, big), ReassignResult::kOk);
  RunMove();
  MoverStats m = cache_->MoverCounters();
  EXPECT_EQ(m.slabs_moved, 1u);
  EXPECT_EQ(m.rescues, 200u);
  EXPECT_EQ(m.evictions_nomem, kPerPage - 200);
  EXPECT_EQ(Class(small).total_pages, 1u);
  EXPECT_EQ(Class(small).used_chunks, kPerPage);
  ClassStats big_after = Class(big);
  EXPECT_EQ(big_after.total_pages, big_before.total_pages + 1);
  EXPECT_EQ(big_after.total_chunks, big_before.total_chunks + (64u << 10) / cache_->ChunkSize(big));
  EXPECT_EQ(big_after.used_chunks, big_before.used_chunks);
  // Every item still there has its own value; exactly 200 of the first page's survived.
  int survivors = 0;
  for (int i = 0; i < static_cast<int>(kPerPage); ++i) {
    auto v = GetValue(*cache_, Key(i));
    if (v) {
      EXPECT_EQ(*v, Value(i)) << i;
      ++survivors;
    }
  }
  EXPECT_EQ(survivors, 200);
  for (int i = kPerPage + 200; i < static_cast<int>(2 * kPerPage); ++i) {
    EXPECT_EQ(GetValue(*cache_, Key(i)), Value(i)) << i;
  }
  EXPECT_EQ(cache_->Stats().curr_items, kPerPage + 1);
  // The destination uses its new page.
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(Set(200000 + i, 1000));
  EXPECT_EQ(Class(big).total_pages, big_after.total_pages);
}

// Data chunks of a live chunked item on the moving page are copied into free chunks of their class
// (memcached's slab_reassign_chunk_rescues); the item reads back whole. Values of exactly two
// full data chunks put every data chunk in the largest class, two per 64 KB page.
TEST_F(MoverTest, RescuesDataChunksOfChunkedItems) {
  const uint32_t largest = cache_->ChunkSize(cache_->NumClasses());
  const size_t len = 2 * (largest - 40) - 2;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Set(300000 + i, len));
  EXPECT_EQ(Class(cache_->NumClasses()).total_pages, 3u);
  ASSERT_TRUE(cache_->Delete(Key(300002)));  // frees the newest page's two chunks
  ASSERT_EQ(cache_->ReassignPage(cache_->NumClasses(), 0), ReassignResult::kOk);
  RunMove();
  const MoverStats m = cache_->MoverCounters();
  EXPECT_EQ(m.slabs_moved, 1u);
  EXPECT_EQ(m.chunk_rescues, 2u);
  EXPECT_EQ(m.evictions_nomem, 0u);
  EXPECT_EQ(cache_->PoolPages(), 1u);
  EXPECT_EQ(GetValue(*cache_, Key(300000)), Value(300000, len));
  EXPECT_EQ(GetValue(*cache_, Key(300001)), Value(300001, len));
  // With no free chunk left in the class, the next move evicts the chunked item whole.
  ASSERT_EQ(cache_->ReassignPage(cache_->NumClasses(), 0), ReassignResult::kOk);
  RunMove();
  EXPECT_EQ(cache_->MoverCounters().evictions_nomem, 1u);
  EXPECT_EQ(cache_->Stats().curr_items, 1u);
}

// A reader's reference keeps its item where it is: the move waits for it, then finishes.
TEST_F(MoverTest, WaitsForAnItemWithAReader) {
  for (int i = 0; i < static_cast<int>(2 * kPerPage); ++i) ASSERT_TRUE(Set(i));
  const int small = ClassOfKey(0);
  LookupResult r;
  Item* held = cache_->Get(Key(3), &r);
  ASSERT_NE(held, nullptr);
  ASSERT_EQ(cache_->ReassignPage(small, 0), ReassignResult::kOk);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(cache_->MoveStep());
  EXPECT_GT(cache_->MoverCounters().busy_items, 0u);
  EXPECT_EQ(ReadRegion(held), Value(3) + "\r\n");
  cache_->Release(held);
  RunMove();
  EXPECT_EQ(cache_->MoverCounters().slabs_moved, 1u);
  EXPECT_EQ(cache_->PoolPages(), 1u);
}

// Dead items on the page are reclaimed, not rescued.
TEST_F(MoverTest, ReclaimsDeadItems) {
  for (int i = 0; i < static_cast<int>(2 * kPerPage); ++i) {
    ASSERT_TRUE(Stored(*cache_, Key(i), Value(i), StoreMode::kSet, 0, clock_.Now() + 5));
  }
  const int small = ClassOfKey(0);
  clock_.Advance(5);
  ASSERT_EQ(cache_->ReassignPage(small, 0), ReassignResult::kOk);
  RunMove();
  MoverStats m = cache_->MoverCounters();
  EXPECT_EQ(m.inline_reclaim, kPerPage);
  EXPECT_EQ(m.rescues, 0u);
  EXPECT_EQ(m.evictions_nomem, 0u);
}

// Pages in the pool are taken first, even with -m used up.
TEST_F(MoverTest, PoolPagesAreReusedPastTheLimit) {
  // Fill all 8 pages with small items (evicting), then give two pages to the pool.
  for (int i = 0; i < static_cast<int>(9 * kPerPage); ++i) ASSERT_TRUE(Set(i));
  const int small = ClassOfKey(9 * kPerPage - 1);
  ASSERT_EQ(Class(small).total_pages, 8u);
  for (int k = 0; k < 2; ++k) {
    ASSERT_EQ(cache_->ReassignPage(small, 0), ReassignResult::kOk);
    RunMove();
  }
  EXPECT_EQ(cache_->PoolPages(), 2u);
  // A big item's class takes a pool page: no eviction of small items needed.
  const uint64_t evictions = cache_->Stats().evictions;
  ASSERT_TRUE(Set(300000, 1000));
  ASSERT_TRUE(Set(300001, 40000));
  EXPECT_EQ(cache_->PoolPages(), 0u);
  EXPECT_EQ(cache_->Stats().evictions, evictions);
  EXPECT_EQ(GetValue(*cache_, Key(300001)), Value(300001, 40000));
}

// Stores that evict while a page is being emptied leave no live item behind in it: the page's
// next owner overwrites it, and every item still counted is found with its own value.
TEST_F(MoverTest, EvictionDuringAMoveDoesNotReuseTheMovingPage) {
  int n = 0;
  for (; n < static_cast<int>(9 * kPerPage); ++n) ASSERT_TRUE(Set(n));
  const int small = ClassOfKey(n - 1);
  ASSERT_EQ(cache_->ReassignPage(small, 0), ReassignResult::kOk);
  int steps = 0;
  while (cache_->MoveStep()) {
    ASSERT_LT(++steps, 100000);
    for (int k = 0; k < 600; ++k) ASSERT_TRUE(Set(n++));
  }
  ASSERT_EQ(cache_->PoolPages(), 1u);
  // The pool page goes to the big class and is overwritten with its items.
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(Set(500000 + i, 1000));
  int live = 0;
  for (int i = 0; i < n; ++i) {
    auto v = GetValue(*cache_, Key(i));
    if (!v) continue;
    ++live;
    ASSERT_EQ(*v, Value(i)) << i;
  }
  for (int i = 0; i < 40; ++i) {
    auto v = GetValue(*cache_, Key(500000 + i));
    ASSERT_TRUE(v.has_value()) << i;
    EXPECT_EQ(*v, Value(500000 + i, 1000));
  }
  // An item left behind in the moved page would still be counted but could not be found.
  EXPECT_EQ(cache_->Stats().curr_items, static_cast<uint64_t>(live) + 40);
}

// A size shift, as the mover thread sees it once a second: old small items fill the memory,
// then only big items are stored and evict each other. After a window of ticks, automove gives
// the big class pages from the small one; with automove off nothing moves.
TEST_F(MoverTest, AutomoveFollowsASizeShift) {
  for (int mode : {0, 1}) {
    CacheOptions o = testing::SmallPageOptions(8);
    o.slab_automove = mode;
    o.automove_phases = 1;  // one AutomoveTick() call per second
    cache_ = std::make_unique<Cache>(o, &clock_);
    for (int i = 0; i < static_cast<int>(7 * kPerPage); ++i) ASSERT_TRUE(Set(i));
    const int small = ClassOfKey(0);
    int next = 100000;
    ASSERT_TRUE(Set(next++, 1000));
    const int big = ClassOfKey(100000);
    int moves = 0;
    for (int second = 0; second < 60; ++second) {
      clock_.Advance(1);
      for (int k = 0; k < 200; ++k) ASSERT_TRUE(Set(next++, 1000));
      if (cache_->AutomoveTick()) {
        ++moves;
        RunMove();
      }
    }
    if (mode == 0) {
      EXPECT_EQ(moves, 0);
      EXPECT_EQ(Class(small).total_pages, 7u);
    } else {
      EXPECT_GT(moves, 0);
      EXPECT_EQ(Class(small).total_pages, 7u - static_cast<uint64_t>(moves));
      EXPECT_EQ(Class(big).total_pages, 1u + static_cast<uint64_t>(moves));
      EXPECT_GE(Class(small).total_pages, 2u);
    }
  }
}

// The crawler frees dead items to the free lists without any store in their class, and leaves
// live ones (and those with a reader) alone.
TEST_F(MoverTest, CrawlerFreesDeadItems) {
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(
        Stored(*cache_, Key(i), Value(i), StoreMode::kSet, 0, i % 3 == 0 ? clock_.Now() + 5 : 0));
  }
  const int small = ClassOfKey(1);
  clock_.Advance(5);
  LookupResult r;
  Item* held = cache_->Get(Key(1), &r);
  ASSERT_NE(held, nullptr);
  cache_->CrawlOnce();
  GlobalStats g = cache_->Stats();
  EXPECT_EQ(g.crawler_reclaimed, 100u);
  EXPECT_EQ(g.curr_items, 200u);
  EXPECT_EQ(Class(small).used_chunks, 200u);
  cache_->FlushAll(0);
  cache_->CrawlOnce();
  EXPECT_EQ(cache_->Stats().crawler_reclaimed, 299u);  // all but the one being read
  EXPECT_EQ(ReadRegion(held), Value(1) + "\r\n");
  cache_->Release(held);
  EXPECT_EQ(cache_->Stats().curr_items, 1u);  // the next round takes it
  cache_->CrawlOnce();
  EXPECT_EQ(cache_->Stats().curr_items, 0u);
  EXPECT_EQ(Class(small).used_chunks, 0u);
}

// Readers and writers in both classes while pages move back and forth: every value read is the
// one stored under its key.
TEST_F(MoverTest, ValuesStayIntactWhilePagesMove) {
  for (int i = 0; i < static_cast<int>(3 * kPerPage); ++i) ASSERT_TRUE(Set(i));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Set(100000 + i, 1000));
  const int small = ClassOfKey(0);
  const int big = ClassOfKey(100000);
  std::atomic<int> running{3};
  std::atomic<int> bad{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 3; ++t) {
    workers.emplace_back([&, t] {
      uint32_t x = 12345u + static_cast<uint32_t>(t);
      for (int n = 0; n < 20000; ++n) {
        x = x * 1103515245u + 12345u;
        const bool is_big = (x >> 8) % 4 == 0;
        const int i = is_big ? 100000 + static_cast<int>((x >> 12) % 200)
                             : static_cast<int>((x >> 12) % (3 * kPerPage));
        const size_t len = is_big ? 1000 : 100;
        if ((x >> 20) % 3 == 0) {
          Stored(*cache_, Key(i), Value(i, len));
        } else {
          auto v = GetValue(*cache_, Key(i));
          if (v && *v != Value(i, len)) bad.fetch_add(1);
        }
      }
      running.fetch_sub(1);
    });
  }
  int moved = 0;
  for (int k = 0; k < 5000 && (running.load() > 0 || moved < 4); ++k) {
    const bool to_big = k % 2 == 0;
    if (cache_->ReassignPage(to_big ? small : big, to_big ? big : small) != ReassignResult::kOk) {
      continue;
    }
    int steps = 0;
    while (cache_->MoveStep() && ++steps < 200000) std::this_thread::yield();
    ++moved;
  }
  for (std::thread& w : workers) w.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(moved, 4);
  EXPECT_EQ(cache_->MoverCounters().slabs_moved, static_cast<uint64_t>(moved));
}

// The same with chunked items, whose data chunks are rescued while readers and writers go on:
// pages go back and forth between the largest class and the class of the small items.
// Regression: a page given to a class used to go first in its page list, so the next move out of
// the class took that same (empty) page back and no item was ever moved; it now goes before the
// newest page, and the oldest page leaves.
TEST_F(MoverTest, ChunkedValuesStayIntactWhilePagesMove) {
  const int largest = cache_->NumClasses();
  const size_t len = 2 * (cache_->ChunkSize(largest) - 40) - 2;
  for (int i = 0; i < static_cast<int>(kPerPage); ++i) ASSERT_TRUE(Set(i));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Set(300000 + i, len));
  const int small = ClassOfKey(0);
  std::atomic<int> running{2};
  std::atomic<int> bad{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 2; ++t) {
    workers.emplace_back([&, t] {
      uint32_t x = 777u + static_cast<uint32_t>(t);
      for (int n = 0; n < 150; ++n) {
        x = x * 1103515245u + 12345u;
        const int i = 300000 + static_cast<int>((x >> 12) % 3);
        if ((x >> 20) % 4 == 0) {
          Stored(*cache_, Key(i), Value(i, len));
        } else {
          auto v = GetValue(*cache_, Key(i));
          if (v && *v != Value(i, len)) bad.fetch_add(1);
        }
      }
      running.fetch_sub(1);
    });
  }
  int moved = 0;
  for (int k = 0; k < 5000 && (running.load() > 0 || moved < 4); ++k) {
    const bool to_small = k % 2 == 0;
    if (cache_->ReassignPage(to_small ? largest : small, to_small ? small : largest) !=
        ReassignResult::kOk) {
      std::this_thread::yield();
      continue;
    }
    int steps = 0;
    while (cache_->MoveStep() && ++steps < 200000) std::this_thread::yield();
    ++moved;
  }
  for (std::thread& w : workers) w.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(moved, 4);
  EXPECT_GT(cache_->MoverCounters().chunk_rescues, 0u);
}

}  // namespace
}  // namespace mcd::storage
