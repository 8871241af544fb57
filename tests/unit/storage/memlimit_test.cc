// The memory limit at run time (cache_memlimit): the allocator hands out more pages after the
// limit is raised, gives pages back to the OS after it is lowered (the pool's at once, later ones
// as they reach the pool), never grows a class while over the limit, and reuses pool pages and
// released page indices before touching new ones.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "mcd/storage/cache.h"
#include "mcd/storage/item.h"
#include "slab.h"
#include "test_util.h"

namespace mcd::storage {
namespace {

using testing::GetValue;
using testing::Stored;

constexpr uint32_t kPage = 64 << 10;

SlabOptions SmallSlab(uint64_t pages) {
  SlabOptions o;
  o.page_size = kPage;
  o.memory_limit = pages * kPage;
  return o;
}

// Whether any byte of the page is resident in memory (mincore works on PROT_NONE mappings too).
bool Resident(const SlabAllocator& slab, uint32_t page) {
  const auto sys = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((kPage + sys - 1) / sys);
  void* at = const_cast<char*>(slab.PageAddress(page));
  EXPECT_EQ(mincore(at, kPage, vec.data()), 0);
  for (unsigned char v : vec) {
    if ((v & 1) != 0) return true;
  }
  return false;
}

// Slab-level helper: the largest class (two chunks per page), whose pages are filled and emptied
// by hand the way the mover does it.
class SlabLimitTest : public ::testing::Test {
 protected:
  void Make(const SlabOptions& o) { slab_ = std::make_unique<SlabAllocator>(o); }
  int Big() const { return slab_->NumClasses(); }

  // Takes chunks of the big class until the allocator refuses; writes every byte of each one
  // (so a page that was not made writable would crash). Returns how many were taken.
  int Fill() {
    std::lock_guard<std::mutex> lock(slab_->Mutex(Big()));
    int n = 0;
    while (void* p = slab_->TakeChunkLocked(Big())) {
      std::memset(static_cast<char*>(p) + sizeof(Item), 0x5a,
                  slab_->ChunkSize(Big()) - sizeof(Item));
      pages_.insert(slab_->PageOf(p));
      ++n;
    }
    return n;
  }

  // Empties the big class's oldest page (its chunks returned) and hands it to ReleasePage, as a
  // finished move to the pool does. Returns the page.
  uint32_t MoveOldestToPool() {
    uint32_t page;
    {
      std::lock_guard<std::mutex> lock(slab_->Mutex(Big()));
      page = slab_->BeginMoveLocked(Big());
      EXPECT_NE(page, kNoPage);
      for (uint32_t k = 0; k < slab_->MovingChunksLocked(Big()); ++k) {
        auto* it = reinterpret_cast<Item*>(slab_->ChunkAt(Big(), page, k));
        if ((it->flags() & kItemFree) == 0) slab_->ReturnChunkLocked(Big(), it);
      }
      EXPECT_EQ(slab_->FinishMoveLocked(Big()), page);
    }
    slab_->ReleasePage(page);
    pages_.erase(page);
    return page;
  }

  uint64_t ClassPages() {
    std::lock_guard<std::mutex> lock(slab_->Mutex(Big()));
    return slab_->ClassLocked(Big()).npages;
  }

  std::unique_ptr<SlabAllocator> slab_;
  std::set<uint32_t> pages_;  // pages of the big class
};

TEST_F(SlabLimitTest, RaisedLimitHandsOutMorePages) {
  Make(SmallSlab(2));
  EXPECT_EQ(Fill(), 4);
  EXPECT_EQ(slab_->PagesInUse(), 2u);
  ASSERT_TRUE(slab_->SetMemoryLimit(6 * kPage));
  EXPECT_EQ(slab_->MemoryLimit(), 6u * kPage);
  EXPECT_EQ(slab_->LimitPages(), 6u);
  EXPECT_EQ(Fill(), 8);
  EXPECT_EQ(slab_->PagesInUse(), 6u);
  EXPECT_EQ(slab_->MallocedBytes(), 6u * kPage);
  EXPECT_EQ(pages_.size(), 6u);
  for (uint32_t p : pages_) {
    EXPECT_EQ(slab_->ClassOf(slab_->PageAddress(p)), Big());
  }
}

TEST_F(SlabLimitTest, LimitBeyondTheReservationIsRefused) {
  SlabOptions o = SmallSlab(4);
  o.reserve_bytes = 64 * uint64_t{kPage};
  Make(o);
  EXPECT_EQ(slab_->ReservedPages(), 64u);
  const uint64_t most = slab_->ReservedPages() - static_cast<uint64_t>(slab_->NumClasses());
  EXPECT_FALSE(slab_->SetMemoryLimit((most + 1) * kPage));
  EXPECT_EQ(slab_->MemoryLimit(), 4u * kPage);
  ASSERT_TRUE(slab_->SetMemoryLimit(most * kPage));
  // Every page the limit allows, plus every class's first page, fits in the reservation.
  EXPECT_EQ(Fill(), static_cast<int>(2 * most));
  for (int id = 1; id < Big(); ++id) {
    std::lock_guard<std::mutex> lock(slab_->Mutex(id));
    EXPECT_NE(slab_->TakeChunkLocked(id), nullptr) << id;
  }
  // (The big class's first page is one of the limit's.)
  EXPECT_EQ(slab_->PagesInUse(), slab_->ReservedPages() - 1);
}

// A reservation is never smaller than the start-up limit needs.
TEST_F(SlabLimitTest, ReservationCoversTheStartUpLimit) {
  SlabOptions o = SmallSlab(100);
  o.reserve_bytes = kPage;
  Make(o);
  EXPECT_EQ(slab_->ReservedPages(), 100u + static_cast<uint64_t>(slab_->NumClasses()));
  // By default there is room to grow far past the start-up limit (256 GB, 4M pages at most;
  // less only where the system refuses that much address space).
  Make(SmallSlab(100));
  EXPECT_GE(slab_->ReservedPages(), 16384u);
  EXPECT_LE(slab_->ReservedPages(), kMaxReservePages);
}

TEST_F(SlabLimitTest, PreallocatedMemoryKeepsItsLimit) {
  SlabOptions o = SmallSlab(4);
  o.prealloc = true;
  Make(o);
  EXPECT_FALSE(slab_->SetMemoryLimit(8 * kPage));
  EXPECT_EQ(slab_->MemoryLimit(), 4u * kPage);
  EXPECT_EQ(Fill(), 8);
}

TEST_F(SlabLimitTest, LoweredLimitGivesPoolPagesBackAtOnce) {
  Make(SmallSlab(8));
  ASSERT_EQ(Fill(), 16);
  std::vector<uint32_t> pooled;
  for (int i = 0; i < 3; ++i) pooled.push_back(MoveOldestToPool());
  EXPECT_EQ(slab_->PoolPages(), 3u);
  EXPECT_EQ(slab_->PagesInUse(), 8u);  // pool pages are still counted
  ASSERT_TRUE(slab_->SetMemoryLimit(6 * kPage));
  // Two of the three pool pages go back to the OS; the third keeps the count at the limit.
  EXPECT_EQ(slab_->PoolPages(), 1u);
  EXPECT_EQ(slab_->PagesInUse(), 6u);
  EXPECT_EQ(slab_->MallocedBytes(), 6u * kPage);
  EXPECT_FALSE(slab_->OverLimit());
  int resident = 0;
  for (uint32_t p : pooled) resident += Resident(*slab_, p) ? 1 : 0;
  EXPECT_EQ(resident, 1) << "released pages must not stay in memory";
}

TEST_F(SlabLimitTest, PagesReachingThePoolOverTheLimitAreReleased) {
  Make(SmallSlab(8));
  ASSERT_EQ(Fill(), 16);
  ASSERT_TRUE(slab_->SetMemoryLimit(4 * kPage));
  // Nothing is in the pool, so nothing is released yet, and the full class cannot grow.
  EXPECT_EQ(slab_->PagesInUse(), 8u);
  EXPECT_TRUE(slab_->OverLimit());
  EXPECT_EQ(Fill(), 0);
  {
    std::lock_guard<std::mutex> lock(slab_->Mutex(Big()));
    EXPECT_FALSE(slab_->CanGrowLocked(Big()));
  }
  // Each page emptied into the pool goes back to the OS until the count is down to the limit.
  for (uint64_t used = 7; used >= 4; --used) {
    const uint32_t page = MoveOldestToPool();
    EXPECT_EQ(slab_->PagesInUse(), used);
    EXPECT_EQ(slab_->PoolPages(), 0u);
    EXPECT_FALSE(Resident(*slab_, page)) << page;
  }
  EXPECT_FALSE(slab_->OverLimit());
  // At the limit a page emptied stays in the pool, counted and readable.
  const uint32_t kept = MoveOldestToPool();
  EXPECT_EQ(slab_->PagesInUse(), 4u);
  EXPECT_EQ(slab_->PoolPages(), 1u);
  EXPECT_TRUE(Resident(*slab_, kept));
  EXPECT_EQ(ClassPages(), 3u);
}

// After a shrink, new pages come from the pool first, then from released indices (made writable
// again), and only then from address space never used: the mapping stays dense.
TEST_F(SlabLimitTest, PoolThenReleasedPagesAreReusedBeforeNewOnes) {
  Make(SmallSlab(8));
  ASSERT_EQ(Fill(), 16);
  ASSERT_TRUE(slab_->SetMemoryLimit(5 * kPage));
  std::set<uint32_t> released;
  for (int i = 0; i < 3; ++i) released.insert(MoveOldestToPool());
  const uint32_t pooled = MoveOldestToPool();
  ASSERT_EQ(slab_->PagesInUse(), 5u);
  ASSERT_EQ(slab_->PoolPages(), 1u);
  ASSERT_EQ(ClassPages(), 4u);

  ASSERT_TRUE(slab_->SetMemoryLimit(9 * kPage));
  std::set<uint32_t> before = pages_;
  EXPECT_EQ(Fill(), 10);  // 4 pages more, plus the 2 chunks of the pool page
  std::set<uint32_t> taken;
  for (uint32_t p : pages_) {
    if (before.count(p) == 0) taken.insert(p);
  }
  std::set<uint32_t> want = released;
  want.insert(pooled);
  want.insert(8);  // the first page never used before
  EXPECT_EQ(taken, want);
  EXPECT_EQ(slab_->PagesInUse(), 9u);
  EXPECT_EQ(slab_->PoolPages(), 0u);
}

// Over the limit, a class with no page may still take its first one (memcached's rule, so a
// new item size is not refused outright), but only within one page per class past the limit.
TEST_F(SlabLimitTest, FirstPagesStayWithinTheAllowanceAfterAShrink) {
  Make(SmallSlab(8));
  ASSERT_EQ(Fill(), 16);
  ASSERT_TRUE(slab_->SetMemoryLimit(1 * kPage));
  // 8 counted, limit 1: first pages are allowed while fewer than 1 + NumClasses are counted.
  const uint64_t allowance = static_cast<uint64_t>(slab_->NumClasses());
  uint64_t granted = 0;
  for (int id = 1; id < Big(); ++id) {
    std::lock_guard<std::mutex> lock(slab_->Mutex(id));
    if (slab_->TakeChunkLocked(id) != nullptr) ++granted;
  }
  EXPECT_EQ(slab_->PagesInUse(), 1 + allowance);
  EXPECT_EQ(granted, 1 + allowance - 8);
}

// --- the cache, with the mover's automove on a fake clock ---------------------------------------

// 64 KB pages. "kNNNNN" with a 1000-byte value: all in one class.
class CacheLimitTest : public ::testing::Test {
 protected:
  void Make(uint64_t pages, int window = 2) {
    CacheOptions o = testing::SmallPageOptions(pages);
    o.automove_window = window;
    o.automove_phases = 1;  // one AutomoveTick() call per second
    cache_ = std::make_unique<Cache>(o, &clock_);
  }
  static std::string Key(int i) { return testing::NumberedKey(i); }
  static std::string Value(int i) {
    return Key(i) + std::string(994, static_cast<char>('a' + i % 26));
  }
  bool Set(int i) { return Stored(*cache_, Key(i), Value(i)); }
  uint64_t Malloced() { return cache_->Stats().total_malloced; }
  // Chunks per page of the class of stored item i (all test items share it).
  int PerPage(int i) { return static_cast<int>(kPage / cache_->ChunkSize(ClassOfKey(i))); }
  int ClassOfKey(int i) {
    LookupResult r;
    Item* it = cache_->Get(Key(i), &r);
    if (it == nullptr) return 0;
    const int cls = cache_->ClassOf(it);
    cache_->Release(it);
    return cls;
  }
  uint64_t Evictions() { return cache_->Stats().evictions; }
  // One second of the mover thread: an automove decision and the move it starts, and at once
  // the next decision after a page given to the pool (as MoverLoop does). Returns the moves.
  int Tick() {
    clock_.Advance(1);
    int moves = 0;
    while (cache_->AutomoveTick()) {
      ++moves;
      int steps = 0;
      while (cache_->MoveStep()) EXPECT_LT(++steps, 100000);
      if (moves > 1000) break;
    }
    return moves;
  }

  FakeClock clock_{1000};
  std::unique_ptr<Cache> cache_;
};

TEST_F(CacheLimitTest, RaisedLimitStoresMoreWithoutEvicting) {
  Make(8);
  int n = 0;
  while (Evictions() == 0) ASSERT_TRUE(Set(n++)) << n;
  EXPECT_EQ(Malloced(), 8u * kPage);
  ASSERT_TRUE(cache_->SetMemoryLimit(16 * kPage));
  EXPECT_EQ(cache_->Stats().limit_maxbytes, 16u * kPage);
  const uint64_t evicted = Evictions();
  // Eight more pages' worth of items fit without a single eviction.
  const int per_page = PerPage(n - 1);
  for (int k = 0; k < 8 * per_page; ++k) ASSERT_TRUE(Set(n++));
  EXPECT_EQ(Evictions(), evicted);
  EXPECT_EQ(Malloced(), 16u * kPage);
  ASSERT_TRUE(Set(n++));
  EXPECT_EQ(Evictions(), evicted + 1);
  EXPECT_EQ(Malloced(), 16u * kPage);
}

// Lowering the limit evicts nothing by itself; as items are deleted, automove sends the pages
// of the emptied class to the pool and each goes back to the OS until the limit is met. The
// class does not grow meanwhile: stores evict instead.
TEST_F(CacheLimitTest, LoweredLimitReleasesPagesAsItemsAreDeleted) {
  Make(16);
  int n = 0;
  while (Evictions() == 0) ASSERT_TRUE(Set(n++));
  const int per_page = PerPage(n - 1);
  const uint64_t items = cache_->Stats().curr_items;
  ASSERT_TRUE(cache_->SetMemoryLimit(8 * kPage));
  EXPECT_EQ(Malloced(), 16u * kPage);
  EXPECT_EQ(cache_->Stats().curr_items, items);
  const uint64_t evicted = Evictions();
  for (int k = 0; k < 100; ++k) ASSERT_TRUE(Set(n++));
  EXPECT_EQ(Evictions(), evicted + 100);
  EXPECT_EQ(Malloced(), 16u * kPage);
  // Nothing to give back while the class is full, however long automove looks.
  for (int s = 0; s < 5; ++s) Tick();
  EXPECT_EQ(Malloced(), 16u * kPage);

  for (int i = 0; i < n; ++i) cache_->Delete(Key(i));
  uint64_t last = Malloced();
  for (int s = 0; s < 20 && Malloced() > 8u * kPage; ++s) {
    Tick();
    EXPECT_LE(Malloced(), last);  // never back up while over the limit
    last = Malloced();
  }
  EXPECT_EQ(Malloced(), 8u * kPage);
  // Past the limit the class keeps giving pages while it has 2.5 pages of free chunks; those
  // stay in the pool, counted, for any class to take first.
  for (int s = 0; s < 5; ++s) Tick();
  EXPECT_EQ(Malloced(), 8u * kPage);
  EXPECT_EQ(cache_->PoolPages(), 6u);
  // The class's two emptied pages and the pool's six hold eight pages of new items, with no
  // new page and no eviction.
  const uint64_t evicted_before = Evictions();
  const int total = 8 * per_page;
  for (int k = 0; k < total; ++k) ASSERT_TRUE(Set(1000000 + k));
  EXPECT_EQ(cache_->PoolPages(), 0u);
  EXPECT_EQ(Malloced(), 8u * kPage);
  EXPECT_EQ(Evictions(), evicted_before);
  for (int k = 0; k < total; ++k) {
    ASSERT_EQ(GetValue(*cache_, Key(1000000 + k)), Value(1000000 + k)) << k;
  }
}

// A random walk of stores of several sizes, deletes, limit changes and automove ticks: memory
// never passes the limit plus one first page per class, and while over the limit it grows only
// by a class's first page.
TEST_F(CacheLimitTest, NeverAboveTheLimit) {
  Make(24);
  std::mt19937 rng(11);
  uint64_t limit = 24;
  const auto sizes = std::vector<size_t>{100, 700, 3000, 20000};
  for (int step = 0; step < 4000; ++step) {
    const GlobalStats before = cache_->Stats();
    const uint32_t r = rng() % 100;
    if (r < 70) {
      const int i = static_cast<int>(rng() % 3000);
      const size_t len = sizes[rng() % sizes.size()];
      ASSERT_TRUE(Stored(*cache_, Key(i), std::string(len, 'v')));
    } else if (r < 90) {
      cache_->Delete(Key(static_cast<int>(rng() % 3000)));
    } else if (r < 92) {
      limit = 8 + rng() % 24;
      ASSERT_TRUE(cache_->SetMemoryLimit(limit * kPage));
    } else {
      Tick();
    }
    const GlobalStats after = cache_->Stats();
    const uint64_t pages = after.total_malloced / kPage;
    ASSERT_LE(pages, std::max(before.total_malloced / kPage,
                              limit + static_cast<uint64_t>(cache_->NumClasses())))
        << step;
    if (before.total_malloced > limit * kPage && after.total_malloced > before.total_malloced) {
      ASSERT_LE(pages - before.total_malloced / kPage,
                static_cast<uint64_t>(after.active_slabs - before.active_slabs))
          << "a class grew past its first page while over the limit, step " << step;
    }
  }
}

TEST_F(CacheLimitTest, PreallocatedCacheRefusesAChange) {
  CacheOptions o = testing::SmallPageOptions(8);
  o.prealloc = true;
  cache_ = std::make_unique<Cache>(o, &clock_);
  EXPECT_FALSE(cache_->SetMemoryLimit(16 * kPage));
  EXPECT_EQ(cache_->MemoryLimit(), 8u * kPage);
  EXPECT_EQ(cache_->Stats().limit_maxbytes, 8u * kPage);
}

}  // namespace
}  // namespace mcd::storage
