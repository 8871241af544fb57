#include "mcd/storage/cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "mcd/storage/item.h"
#include "test_util.h"

namespace mcd::storage {
namespace {

using testing::GetCas;
using testing::GetValue;
using testing::Put;
using testing::ReadRegion;
using testing::Stored;

class CacheTest : public ::testing::Test {
 protected:
  CacheTest() { Reset(CacheOptions{}); }
  void Reset(CacheOptions o) {
    o.start_maintainer = o.start_maintainer && maintainer_;
    cache_.reset();
    cache_ = std::make_unique<Cache>(o, &clock_);
  }
  Cache& cache() { return *cache_; }

  bool maintainer_ = false;
  FakeClock clock_{1000};
  std::unique_ptr<Cache> cache_;
};

TEST_F(CacheTest, RoundTripBinaryValue) {
  std::string value("a\r\nb\0c\r\n", 8);
  ASSERT_TRUE(Stored(cache(), "k", value, StoreMode::kSet, 0xdeadbeef));
  LookupResult r;
  Item* it = cache().Get("k", &r);
  ASSERT_NE(it, nullptr);
  EXPECT_EQ(r, LookupResult::kHit);
  EXPECT_EQ(ItemKey(it), "k");
  EXPECT_EQ(ItemFlags(it), 0xdeadbeefu);
  EXPECT_EQ(ItemValueSize(it), 8u);
  EXPECT_EQ(ReadRegion(it), value + "\r\n");
  EXPECT_NE(ItemCas(it), 0u);
  cache().Release(it);
  EXPECT_EQ(GetValue(cache(), "missing", &r), std::nullopt);
  EXPECT_EQ(r, LookupResult::kMiss);
  ASSERT_TRUE(Stored(cache(), "empty", ""));
  EXPECT_EQ(GetValue(cache(), "empty"), "");
}

// Bytes per item is a target: 14-byte key + 100-byte value must fit a smaller chunk than
// memcached's 192 (its 48-byte header + 8-byte cas + key + NUL + value + "\r\n" = 173).
// The classes are memcached's, and mcd's header is 17 bytes smaller than memcached's item with
// cas (48 + 8 + the key's NUL), so an item that just misses a class in memcached fits it here.
TEST_F(CacheTest, SmallItemUsesLessThanMemcachedChunk) {
  ASSERT_TRUE(Stored(cache(), "fourteen-bytes", std::string(80, 'v')));
  LookupResult r;
  Item* it = cache().Get("fourteen-bytes", &r);
  ASSERT_NE(it, nullptr);
  // mcd: 40 + 14 + 82 = 136 -> 152. memcached 1.6.18: 48 + 8 + 15 + 82 = 153 -> 192.
  EXPECT_EQ(cache().ChunkSize(cache().ClassOf(it)), 152u);
  cache().Release(it);
}

// -I above the page size (memcached 1.6 keeps 1 MB pages): an item larger than a page spans
// chunks of several pages, and -I, not the page, is the limit.
TEST_F(CacheTest, ItemsLargerThanAPageUpToItemSizeMax) {
  CacheOptions o;
  o.item_size_max = 3 << 20;
  Reset(o);
  std::string value((3 << 20) - 100, 'x');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>('a' + (i * 11) % 26);
  ASSERT_TRUE(Stored(cache(), "huge", value));
  EXPECT_EQ(GetValue(cache(), "huge"), value);
  EXPECT_GE(cache().Stats().total_malloced, 3u << 20);
  Item* out = nullptr;
  EXPECT_EQ(cache().Allocate("k", 0, 0, 3 << 20, &out), AllocResult::kTooLarge);
}

TEST_F(CacheTest, LargeChunkedItems) {
  std::string value(700 * 1024, 'x');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>('a' + (i * 7) % 26);
  ASSERT_TRUE(Stored(cache(), "big", value));
  EXPECT_EQ(GetValue(cache(), "big"), value);
  LookupResult r;
  Item* it = cache().Get("big", &r);
  ASSERT_NE(it, nullptr);
  // Pieces are contiguous parts of the value region.
  std::string_view first = ItemDataAt(it, 0);
  EXPECT_LT(first.size(), value.size());
  EXPECT_EQ(ItemDataAt(it, 10).substr(0, 5), value.substr(10, 5));
  cache().Release(it);

  // Exactly the largest item, then one byte more.
  uint32_t max_value = (1 << 20) - 40 - 1 - 2;
  EXPECT_GE(max_value, 1048516u);
  std::string huge(max_value, 'z');
  huge[max_value - 1] = 'q';
  ASSERT_TRUE(Stored(cache(), "a", huge));
  EXPECT_EQ(GetValue(cache(), "a"), huge);
  Item* out = nullptr;
  EXPECT_EQ(cache().Allocate("a", 0, 0, max_value + 1, &out), AllocResult::kTooLarge);
  EXPECT_EQ(out, nullptr);
  // Appending to a chunked item works across chunks.
  ASSERT_TRUE(Stored(cache(), "big", "TAIL", StoreMode::kAppend));
  EXPECT_EQ(GetValue(cache(), "big"), value + "TAIL");
  EXPECT_TRUE(cache().Delete("big"));
  EXPECT_TRUE(cache().Delete("a"));
  EXPECT_EQ(cache().Stats().curr_items, 0u);
  uint64_t requested = 0;
  cache().VisitClasses([&](const ClassStats& c) { requested += c.mem_requested; });
  EXPECT_EQ(requested, 0u);
}

TEST_F(CacheTest, StoreModes) {
  EXPECT_EQ(Put(cache(), "k", "v", StoreMode::kReplace).store, StoreResult::kNotStored);
  EXPECT_EQ(Put(cache(), "k", "v", StoreMode::kAppend).store, StoreResult::kNotStored);
  EXPECT_EQ(Put(cache(), "k", "v", StoreMode::kPrepend).store, StoreResult::kNotStored);
  EXPECT_EQ(Put(cache(), "k", "v", StoreMode::kCas, 0, 0, 1).store, StoreResult::kNotFound);
  EXPECT_EQ(Put(cache(), "k", "v1", StoreMode::kAdd, 5, 0).store, StoreResult::kStored);
  EXPECT_EQ(Put(cache(), "k", "v2", StoreMode::kAdd).store, StoreResult::kNotStored);
  EXPECT_EQ(GetValue(cache(), "k"), "v1");
  EXPECT_EQ(Put(cache(), "k", "v3", StoreMode::kReplace, 6).store, StoreResult::kStored);
  EXPECT_EQ(GetValue(cache(), "k"), "v3");
  // append/prepend keep the old flags and exptime.
  RelTime exp = clock_.ExptimeToRel(100);
  ASSERT_TRUE(Stored(cache(), "k", "mid", StoreMode::kSet, 7, exp));
  ASSERT_TRUE(Stored(cache(), "k", "<<", StoreMode::kPrepend, 99, 0));
  ASSERT_TRUE(Stored(cache(), "k", ">>", StoreMode::kAppend, 98, 0));
  LookupResult r;
  Item* it = cache().Get("k", &r);
  ASSERT_NE(it, nullptr);
  EXPECT_EQ(ReadRegion(it), "<<mid>>\r\n");
  EXPECT_EQ(ItemFlags(it), 7u);
  EXPECT_EQ(ItemExptime(it), exp);
  uint64_t cas = ItemCas(it);
  cache().Release(it);
  // cas: mismatch, match, then the old cas is stale.
  EXPECT_EQ(Put(cache(), "k", "c", StoreMode::kCas, 0, 0, cas + 1000).store, StoreResult::kExists);
  auto ok = Put(cache(), "k", "c", StoreMode::kCas, 0, 0, cas);
  EXPECT_EQ(ok.store, StoreResult::kStored);
  EXPECT_GT(ok.cas, cas);
  EXPECT_EQ(GetCas(cache(), "k"), ok.cas);
  EXPECT_EQ(Put(cache(), "k", "d", StoreMode::kCas, 0, 0, cas).store, StoreResult::kExists);
  EXPECT_EQ(GetValue(cache(), "k"), "c");
}

TEST_F(CacheTest, EveryStoreGetsANewCas) {
  uint64_t a = Put(cache(), "k", "1").cas;
  uint64_t b = Put(cache(), "k", "2").cas;
  uint64_t c = Put(cache(), "k", "3", StoreMode::kAppend).cas;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  uint64_t v;
  ASSERT_EQ(cache().Delta("k", true, 1, &v), DeltaResult::kOk);
  EXPECT_GT(GetCas(cache(), "k"), c);
}

TEST_F(CacheTest, CasDisabledReportsZero) {
  CacheOptions o;
  o.use_cas = false;
  Reset(o);
  auto out = Put(cache(), "k", "v");
  EXPECT_EQ(out.store, StoreResult::kStored);
  EXPECT_EQ(out.cas, 0u);
  EXPECT_EQ(GetCas(cache(), "k"), 0u);
  cache().FlushAll(0);
  EXPECT_EQ(GetValue(cache(), "k"), std::nullopt);
}

TEST_F(CacheTest, DeleteAndTouch) {
  EXPECT_FALSE(cache().Delete("k"));
  EXPECT_FALSE(cache().Touch("k", 0));
  ASSERT_TRUE(Stored(cache(), "k", "v", StoreMode::kSet, 0, clock_.ExptimeToRel(10)));
  EXPECT_TRUE(cache().Touch("k", clock_.ExptimeToRel(100)));
  clock_.Advance(50);
  EXPECT_EQ(GetValue(cache(), "k"), "v");
  LookupResult r;
  Item* it = cache().GetAndTouch("k", clock_.ExptimeToRel(5), &r);
  ASSERT_NE(it, nullptr);
  cache().Release(it);
  clock_.Advance(5);
  EXPECT_EQ(GetValue(cache(), "k", &r), std::nullopt);
  EXPECT_EQ(r, LookupResult::kExpired);
  ASSERT_TRUE(Stored(cache(), "k", "v"));
  EXPECT_TRUE(cache().Delete("k"));
  EXPECT_FALSE(cache().Delete("k"));
  EXPECT_EQ(GetValue(cache(), "k"), std::nullopt);
}

TEST_F(CacheTest, ExpiryRelativeAbsoluteAndNegative) {
  ASSERT_TRUE(Stored(cache(), "rel", "v", StoreMode::kSet, 0, clock_.ExptimeToRel(10)));
  int64_t abs = clock_.Epoch() + clock_.Now() + 20;
  ASSERT_TRUE(Stored(cache(), "abs", "v", StoreMode::kSet, 0, clock_.ExptimeToRel(abs)));
  ASSERT_TRUE(Stored(cache(), "neg", "v", StoreMode::kSet, 0, clock_.ExptimeToRel(-1)));
  // Looked at before the next store: that one's allocation may reclaim the dead item first.
  LookupResult r;
  EXPECT_EQ(GetValue(cache(), "neg", &r), std::nullopt);
  EXPECT_EQ(r, LookupResult::kExpired);
  ASSERT_TRUE(Stored(cache(), "never", "v", StoreMode::kSet, 0, 0));
  clock_.Advance(9);
  EXPECT_EQ(GetValue(cache(), "rel"), "v");
  clock_.Advance(1);
  EXPECT_EQ(GetValue(cache(), "rel", &r), std::nullopt);
  EXPECT_EQ(r, LookupResult::kExpired);
  EXPECT_EQ(GetValue(cache(), "rel", &r), std::nullopt);
  EXPECT_EQ(r, LookupResult::kMiss);  // unlinked by the first look
  EXPECT_EQ(GetValue(cache(), "abs"), "v");
  clock_.Advance(10);
  EXPECT_EQ(GetValue(cache(), "abs"), std::nullopt);
  clock_.Advance(1000000);
  EXPECT_EQ(GetValue(cache(), "never"), "v");
  // Expired items count as absent for add, replace, touch, incr.
  ASSERT_TRUE(Stored(cache(), "e", "5", StoreMode::kSet, 0, clock_.ExptimeToRel(1)));
  clock_.Advance(1);
  uint64_t v;
  EXPECT_EQ(cache().Delta("e", true, 1, &v), DeltaResult::kNotFound);
  EXPECT_FALSE(cache().Touch("e", 0));
  EXPECT_EQ(Put(cache(), "e", "x", StoreMode::kReplace).store, StoreResult::kNotStored);
  EXPECT_EQ(Put(cache(), "e", "x", StoreMode::kAdd).store, StoreResult::kStored);
}

TEST_F(CacheTest, FlushAllImmediate) {
  ASSERT_TRUE(Stored(cache(), "a", "1"));
  ASSERT_TRUE(Stored(cache(), "b", "2"));
  cache().FlushAll(0);
  LookupResult r;
  EXPECT_EQ(GetValue(cache(), "a", &r), std::nullopt);
  EXPECT_EQ(r, LookupResult::kFlushed);
  EXPECT_EQ(Put(cache(), "b", "x", StoreMode::kReplace).store, StoreResult::kNotStored);
  ASSERT_TRUE(Stored(cache(), "c", "3"));
  EXPECT_EQ(GetValue(cache(), "c"), "3");
  cache().FlushAll(clock_.Now() - 5);  // in the past: immediate
  EXPECT_EQ(GetValue(cache(), "c"), std::nullopt);
}

TEST_F(CacheTest, FlushAllDelayed) {
  ASSERT_TRUE(Stored(cache(), "early", "1"));
  cache().FlushAll(clock_.Now() + 10);
  clock_.Advance(5);
  ASSERT_TRUE(Stored(cache(), "before_deadline", "2"));
  EXPECT_EQ(GetValue(cache(), "early"), "1");
  clock_.Advance(5);                           // deadline reached
  ASSERT_TRUE(Stored(cache(), "after", "3"));  // the first operation arms the flush
  LookupResult r;
  EXPECT_EQ(GetValue(cache(), "early", &r), std::nullopt);
  // Flushed, or already reclaimed by the store's allocation (the probe meets it first).
  EXPECT_TRUE(r == LookupResult::kFlushed || r == LookupResult::kMiss) << static_cast<int>(r);
  EXPECT_EQ(GetValue(cache(), "before_deadline"), std::nullopt);
  EXPECT_EQ(GetValue(cache(), "after"), "3");
  clock_.Advance(100);
  EXPECT_EQ(GetValue(cache(), "after"), "3");  // fires once
}

// Without cas (-C) flush_all works by the second, as memcached's does (t/flush-all.t): an item
// stored in the flush's own second is flushed too; one stored a second later lives.
TEST_F(CacheTest, FlushWithoutCasIsBySecond) {
  CacheOptions o;
  o.use_cas = false;
  Reset(o);
  ASSERT_TRUE(Stored(cache(), "old", "1"));
  cache().FlushAll(0);
  ASSERT_TRUE(Stored(cache(), "same_second", "2"));
  LookupResult r;
  EXPECT_EQ(GetValue(cache(), "same_second", &r), std::nullopt);
  EXPECT_EQ(r, LookupResult::kFlushed);
  EXPECT_EQ(GetValue(cache(), "old"), std::nullopt);
  clock_.Advance(1);
  ASSERT_TRUE(Stored(cache(), "next_second", "3"));
  EXPECT_EQ(GetValue(cache(), "next_second"), "3");
  // Delayed: the deadline's own second is flushed.
  cache().FlushAll(clock_.Now() + 5);
  clock_.Advance(5);
  ASSERT_TRUE(Stored(cache(), "at_deadline", "4"));
  EXPECT_EQ(GetValue(cache(), "at_deadline"), std::nullopt);
  EXPECT_EQ(GetValue(cache(), "next_second"), std::nullopt);
  clock_.Advance(1);
  ASSERT_TRUE(Stored(cache(), "after", "5"));
  EXPECT_EQ(GetValue(cache(), "after"), "5");
}

// With cas the line is exact: a store right after the flush, in the same second, lives.
TEST_F(CacheTest, FlushWithCasIsExact) {
  ASSERT_TRUE(Stored(cache(), "old", "1"));
  cache().FlushAll(0);
  ASSERT_TRUE(Stored(cache(), "same_second", "2"));
  EXPECT_EQ(GetValue(cache(), "same_second"), "2");
  EXPECT_EQ(GetValue(cache(), "old"), std::nullopt);
}

// memcached's T_MEMD_INITIAL_MALLOC hook (t/64bit.t): the faked bytes count in total_malloced
// and against the limit; a class still takes its first page.
TEST_F(CacheTest, InitialMallocedCountsAgainstTheLimit) {
  CacheOptions o;
  o.memory_limit = 4098ull << 20;
  o.initial_malloced = (4ull << 30) + 32;
  o.evict = false;
  Reset(o);
  EXPECT_EQ(cache().Stats().total_malloced, (4ull << 30) + 32);
  EXPECT_EQ(cache().Stats().active_slabs, 0);
  std::string value(400 * 1024, 'a');
  int stored = 0;
  for (int i = 0; i < 5; ++i) stored += Stored(cache(), "big" + std::to_string(i), value) ? 1 : 0;
  EXPECT_LT(stored, 5);
  GlobalStats g = cache().Stats();
  EXPECT_EQ(g.active_slabs, 1);
  EXPECT_LE(g.total_malloced, o.memory_limit);
}

TEST_F(CacheTest, DeltaEdges) {
  uint64_t v = 0;
  EXPECT_EQ(cache().Delta("n", true, 1, &v), DeltaResult::kNotFound);
  ASSERT_TRUE(Stored(cache(), "n", "100"));
  ASSERT_EQ(cache().Delta("n", false, 1, &v), DeltaResult::kOk);
  EXPECT_EQ(v, 99u);
  EXPECT_EQ(GetValue(cache(), "n"), "99 ");  // in place, padded
  ASSERT_EQ(cache().Delta("n", true, 1, &v), DeltaResult::kOk);
  EXPECT_EQ(GetValue(cache(), "n"), "100");
  ASSERT_EQ(cache().Delta("n", true, 900, &v), DeltaResult::kOk);
  EXPECT_EQ(GetValue(cache(), "n"), "1000");  // longer: new item
  ASSERT_EQ(cache().Delta("n", false, 5000, &v), DeltaResult::kOk);
  EXPECT_EQ(v, 0u);
  EXPECT_EQ(GetValue(cache(), "n"), "0   ");
  ASSERT_TRUE(Stored(cache(), "w", "18446744073709551615"));
  ASSERT_EQ(cache().Delta("w", true, 1, &v), DeltaResult::kOk);
  EXPECT_EQ(v, 0u);
  EXPECT_EQ(GetValue(cache(), "w"), "0" + std::string(19, ' '));
  ASSERT_TRUE(Stored(cache(), "s", " 12"));
  ASSERT_EQ(cache().Delta("s", true, 1, &v), DeltaResult::kOk);
  EXPECT_EQ(v, 13u);
  EXPECT_EQ(GetValue(cache(), "s"), "13 ");
  ASSERT_TRUE(Stored(cache(), "x", "12abc"));
  EXPECT_EQ(cache().Delta("x", true, 1, &v), DeltaResult::kNonNumeric);
  ASSERT_TRUE(Stored(cache(), "e", ""));
  EXPECT_EQ(cache().Delta("e", true, 1, &v), DeltaResult::kNonNumeric);
  ASSERT_TRUE(Stored(cache(), "m", "-1"));
  EXPECT_EQ(cache().Delta("m", true, 1, &v), DeltaResult::kNonNumeric);
}

TEST_F(CacheTest, DeltaWithReaderAllocatesNewItem) {
  ASSERT_TRUE(Stored(cache(), "n", "100"));
  LookupResult r;
  Item* held = cache().Get("n", &r);
  ASSERT_NE(held, nullptr);
  uint64_t v;
  ASSERT_EQ(cache().Delta("n", false, 1, &v), DeltaResult::kOk);
  EXPECT_EQ(ReadRegion(held), "100\r\n");   // the reader's bytes are untouched
  EXPECT_EQ(GetValue(cache(), "n"), "99");  // exact new length
  cache().Release(held);
}

TEST_F(CacheTest, ReferenceKeepsMemoryAliveAfterDelete) {
  ASSERT_TRUE(Stored(cache(), "k", "value"));
  LookupResult r;
  Item* held = cache().Get("k", &r);
  ASSERT_NE(held, nullptr);
  EXPECT_TRUE(cache().Delete("k"));
  ASSERT_TRUE(Stored(cache(), "k", "other"));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Stored(cache(), "f" + std::to_string(i), "zzzzz"));
  EXPECT_EQ(ReadRegion(held), "value\r\n");
  int cls = cache().ClassOf(held);
  uint64_t used_before = 0, used_after = 0;
  cache().VisitClasses([&](const ClassStats& c) {
    if (c.id == cls) used_before = c.used_chunks;
  });
  cache().Release(held);
  cache().VisitClasses([&](const ClassStats& c) {
    if (c.id == cls) used_after = c.used_chunks;
  });
  EXPECT_EQ(used_after, used_before - 1);
  // An abandoned allocation frees its chunk too.
  Item* it = nullptr;
  ASSERT_EQ(cache().Allocate("x", 0, 0, 3, &it), AllocResult::kOk);
  cache().Release(it);
  cache().VisitClasses([&](const ClassStats& c) {
    if (c.id == cls) {
      EXPECT_EQ(c.used_chunks, used_after);
    }
  });
}

TEST_F(CacheTest, StatsFigures) {
  CacheOptions o;
  o.memory_limit = 8 << 20;
  o.hashpower = 10;
  Reset(o);
  ASSERT_TRUE(Stored(cache(), "a", std::string(100, 'a')));
  ASSERT_TRUE(Stored(cache(), "b", std::string(2000, 'b')));
  ASSERT_TRUE(Stored(cache(), "a", std::string(100, 'c')));
  GlobalStats g = cache().Stats();
  EXPECT_EQ(g.curr_items, 2u);
  EXPECT_EQ(g.total_items, 3u);
  EXPECT_EQ(g.bytes, (40u + 1 + 100 + 2) + (40u + 1 + 2000 + 2));
  EXPECT_EQ(g.limit_maxbytes, 8u << 20);
  EXPECT_EQ(g.total_malloced, 2u << 20);  // one page for each of two classes
  EXPECT_EQ(g.active_slabs, 2);
  EXPECT_EQ(g.hash_power_level, 10);
  EXPECT_EQ(g.hash_bytes, 8u << 10);
  EXPECT_FALSE(g.hash_is_expanding);
  int classes = 0;
  cache().VisitClasses([&](const ClassStats& c) {
    ++classes;
    EXPECT_EQ(c.number, 1u);
    EXPECT_EQ(c.used_chunks, 1u);
    EXPECT_EQ(c.total_pages, 1u);
    EXPECT_EQ(c.total_chunks, c.chunks_per_page);
    EXPECT_EQ(c.free_chunks, c.total_chunks - 1);
    EXPECT_EQ(c.chunk_size, cache().ChunkSize(c.id));
    EXPECT_GT(c.mem_requested, 0u);
  });
  EXPECT_EQ(classes, 2);
  std::vector<std::pair<uint32_t, uint64_t>> sizes;
  cache().VisitSizes([&](uint32_t s, uint64_t n) { sizes.emplace_back(s, n); });
  ASSERT_EQ(sizes.size(), 2u);
  EXPECT_EQ(sizes[0], std::make_pair(160u, uint64_t{1}));   // 143 -> 160
  EXPECT_EQ(sizes[1], std::make_pair(2048u, uint64_t{1}));  // 2043 -> 2048
  std::vector<std::string> dumped;
  int cls = 0;
  {
    LookupResult r;
    Item* it = cache().Get("b", &r);
    cls = cache().ClassOf(it);
    cache().Release(it);
  }
  cache().Dump(cls, 0, [&](std::string_view k, uint32_t n, int64_t exp) {
    dumped.emplace_back(k);
    EXPECT_EQ(n, 2000u);
    EXPECT_EQ(exp, 0);
  });
  EXPECT_EQ(dumped, std::vector<std::string>{"b"});
  cache().ResetStats();
  g = cache().Stats();
  EXPECT_EQ(g.total_items, 0u);
  EXPECT_EQ(g.curr_items, 2u);
  EXPECT_EQ(cache().ClassTable().substr(0, 11), "slab class ");
}

TEST_F(CacheTest, DumpHonoursLimit) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Stored(cache(), "k" + std::to_string(i), "v"));
  LookupResult r;
  Item* it = cache().Get("k0", &r);
  int cls = cache().ClassOf(it);
  cache().Release(it);
  int n = 0;
  cache().Dump(cls, 3, [&](std::string_view, uint32_t, int64_t) { ++n; });
  EXPECT_EQ(n, 3);
  n = 0;
  cache().Dump(cls, 0, [&](std::string_view, uint32_t, int64_t) { ++n; });
  EXPECT_EQ(n, 10);
}

TEST_F(CacheTest, HashGrowsPastOneAndAHalfLoad) {
  CacheOptions o;
  o.hashpower = 6;  // 64 buckets
  Reset(o);
  for (int i = 0; i < 96; ++i) ASSERT_TRUE(Stored(cache(), "k" + std::to_string(i), "v"));
  EXPECT_FALSE(cache().MaintainOnce());  // 96 == 1.5 x 64: not yet
  ASSERT_TRUE(Stored(cache(), "k96", "v"));
  EXPECT_TRUE(cache().MaintainOnce());  // starts the expansion
  EXPECT_TRUE(cache().Stats().hash_is_expanding);
  while (cache().MaintainOnce()) {
  }
  GlobalStats g = cache().Stats();
  EXPECT_FALSE(g.hash_is_expanding);
  EXPECT_EQ(g.hash_power_level, 7);
  for (int i = 0; i <= 96; ++i) EXPECT_EQ(GetValue(cache(), "k" + std::to_string(i)), "v");
}

// Four threads store and read back their own keys while the table doubles several times, driven
// by the maintainer thread (and by a helper calling MaintainOnce). No stored key may go missing.
TEST_F(CacheTest, ConcurrentReadersWritersDuringExpansion) {
  maintainer_ = true;
  CacheOptions o;
  o.hashpower = 4;
  o.memory_limit = 64 << 20;
  Reset(o);
  constexpr int kThreads = 4;
  constexpr int kKeys = 3000;
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  std::thread helper([&] {
    while (!done.load()) cache().MaintainOnce();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        std::string key = "t" + std::to_string(t) + ":" + std::to_string(i);
        if (!Stored(cache(), key, key)) ++failures;
        if (GetValue(cache(), key) != key) ++failures;
        // Re-read an earlier key of this thread.
        std::string old = "t" + std::to_string(t) + ":" + std::to_string(i / 2);
        if (GetValue(cache(), old) != old) ++failures;
        if (i % 16 == 0) {
          uint64_t v;
          cache().Delta(key, true, 1, &v);  // non-numeric: exercises the lock path only
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  done.store(true);
  helper.join();
  EXPECT_EQ(failures.load(), 0);
  while (cache().MaintainOnce()) {
  }
  GlobalStats g = cache().Stats();
  EXPECT_EQ(g.curr_items, uint64_t{kThreads} * kKeys);
  EXPECT_GE(g.hash_power_level, 13);  // 12000 items need >= 8192 buckets at 1.5 load
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kKeys; ++i) {
      std::string key = "t" + std::to_string(t) + ":" + std::to_string(i);
      ASSERT_EQ(GetValue(cache(), key), key);
    }
  }
}

TEST_F(CacheTest, MaintainerThreadExpandsOnItsOwn) {
  maintainer_ = true;
  CacheOptions o;
  o.hashpower = 4;
  Reset(o);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(Stored(cache(), "k" + std::to_string(i), "v"));
  // Bounded wait: the maintainer is woken by the stores; we only observe the outcome here.
  for (int spin = 0; spin < 2000000 && cache().Stats().hash_power_level < 8; ++spin) {
    std::this_thread::yield();
  }
  EXPECT_GE(cache().Stats().hash_power_level, 8);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(GetValue(cache(), "k" + std::to_string(i)), "v");
}

}  // namespace
}  // namespace mcd::storage

namespace mcd::storage {
namespace {

// -o no_hashexpand: the table keeps its size however full it gets.
TEST_F(CacheTest, NoHashExpandKeepsTheTableSize) {
  CacheOptions o;
  o.hashpower = 6;
  o.hash_expand = false;
  Reset(o);
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(Stored(cache(), "k" + std::to_string(i), "v"));
  EXPECT_FALSE(cache().MaintainOnce());
  GlobalStats g = cache().Stats();
  EXPECT_FALSE(g.hash_is_expanding);
  EXPECT_EQ(g.hash_power_level, 6);
  for (int i = 0; i < 400; ++i) EXPECT_EQ(GetValue(cache(), "k" + std::to_string(i)), "v");
}

}  // namespace
}  // namespace mcd::storage
