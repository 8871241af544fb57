// The segmented CLOCK (memcached's hot, warm, cold and temporary LRUs) and the LRU maintainer's
// tick, on a fake clock without background threads.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "mcd/storage/cache.h"
#include "test_util.h"

namespace mcd::storage {
namespace {

using testing::GetValue;
using testing::Stored;

// 64 KB pages: "kNNNNN" with a 100-byte value lands in the 152-byte class, 431 per page.
constexpr int kPerPage = 65536 / 152;

class LruTest : public ::testing::Test {
 protected:
  void Make(uint64_t pages, bool segmented = true, bool temp = false) {
    CacheOptions o = testing::SmallPageOptions(pages);
    o.lru_segmented = segmented;
    o.temp_lru = temp;
    o.temporary_ttl = 61;
    cache_ = std::make_unique<Cache>(o, &clock_);
  }
  static std::string Key(int i) { return testing::NumberedKey(i); }
  bool Set(int i, RelTime ttl = 0) {
    return Stored(*cache_, Key(i), std::string(100, 'v'), StoreMode::kSet, 0,
                  ttl == 0 ? 0 : clock_.Now() + ttl);
  }
  bool Has(int i) { return GetValue(*cache_, Key(i)).has_value(); }
  ClassStats OnlyClass() {
    ClassStats out;
    cache_->VisitClasses([&](const ClassStats& c) { out = c; });
    return out;
  }

  FakeClock clock_{1000};
  std::unique_ptr<Cache> cache_;
};

// New items are hot. The maintainer moves the hand while hot is over 20% of the class: items
// read twice (active, as in memcached) go to warm, the others to cold, and nothing is evicted.
TEST_F(LruTest, MaintainerMovesHotItemsToColdAndReadOnesToWarm) {
  Make(4);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Set(i));
  ClassStats c = OnlyClass();
  EXPECT_EQ(c.number_hot, 100u);
  EXPECT_EQ(c.number_cold + c.number_warm + c.number_temp, 0u);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Has(i) && Has(i));  // read twice while hot
  for (int i = 10; i < 20; ++i) ASSERT_TRUE(Has(i));           // once: only fetched
  cache_->MaintainLruOnce();
  c = OnlyClass();
  EXPECT_EQ(c.number_hot, 0u);
  EXPECT_EQ(c.number_warm, 10u);
  EXPECT_EQ(c.number_cold, 90u);
  EXPECT_EQ(c.moves_to_warm, 10u);
  EXPECT_EQ(c.moves_to_cold, 90u);
  EXPECT_EQ(c.number, 100u);
  EXPECT_EQ(cache_->Stats().evictions, 0u);
  EXPECT_EQ(cache_->Stats().lru_maintainer_juggles, 1u);
  // Under its share (hot 0%, warm 10%), the next tick leaves the segments alone.
  cache_->MaintainLruOnce();
  EXPECT_EQ(OnlyClass().moves_to_cold, 90u);
  // A second read of a cold item moves it to warm at once (memcached's bump out of its cold
  // LRU); so does the first read in cold of one read before.
  ASSERT_TRUE(Has(50));
  EXPECT_EQ(OnlyClass().number_warm, 10u);
  ASSERT_TRUE(Has(50));
  c = OnlyClass();
  EXPECT_EQ(c.number_warm, 11u);
  EXPECT_EQ(c.number_cold, 89u);
  EXPECT_EQ(c.moves_to_warm, 11u);
  // Segment counts follow deletes.
  ASSERT_TRUE(Has(15));  // read once while hot: to warm now
  c = OnlyClass();
  EXPECT_EQ(c.number_warm, 12u);
  EXPECT_EQ(c.number_cold, 88u);
  ASSERT_TRUE(cache_->Delete(Key(50)));
  ASSERT_TRUE(cache_->Delete(Key(60)));
  c = OnlyClass();
  EXPECT_EQ(c.number_warm, 11u);
  EXPECT_EQ(c.number_cold, 87u);
  cache_->ResetStats();
  EXPECT_EQ(OnlyClass().moves_to_warm, 0u);
}

// A flood: cold items go first; an item read twice while cold survives (it went to warm, and warm
// under its share keeps its items), as memcached's t/lru-maintainer.t expects of its canary.
TEST_F(LruTest, ItemReadWhileColdSurvivesAFlood) {
  Make(2);
  ASSERT_TRUE(Set(0));  // the canary
  for (int i = 1; i < kPerPage / 2; ++i) ASSERT_TRUE(Set(i));
  cache_->MaintainLruOnce();      // all hot -> cold
  ASSERT_TRUE(Has(0) && Has(0));  // canary read twice: cold -> warm
  for (int i = 0; i < 2 * kPerPage; ++i) ASSERT_TRUE(Set(100000 + i));
  EXPECT_GT(cache_->Stats().evictions, 0u);
  EXPECT_TRUE(Has(0));
  EXPECT_FALSE(Has(1));
}

// -o temporary_ttl: items stored with a TTL of at most 61 s are never evicted; they are freed
// when they expire (by the maintainer here, with `reclaimed`).
TEST_F(LruTest, TemporaryItemsAreNeverEvictedOnlyExpire) {
  Make(2, /*segmented=*/true, /*temp=*/true);
  ASSERT_TRUE(Set(0, 30));
  EXPECT_EQ(OnlyClass().number_temp, 1u);
  EXPECT_EQ(OnlyClass().number_hot, 0u);
  for (int i = 0; i < 3 * kPerPage; ++i) ASSERT_TRUE(Set(100000 + i, 3600));
  EXPECT_GT(cache_->Stats().evictions, 0u);
  EXPECT_TRUE(Has(0));
  EXPECT_EQ(OnlyClass().number_temp, 1u);
  EXPECT_GT(OnlyClass().number_hot, 0u);
  clock_.Advance(31);
  const uint64_t reclaimed = cache_->Stats().reclaimed;
  cache_->MaintainLruOnce();
  EXPECT_EQ(cache_->Stats().reclaimed, reclaimed + 1);
  EXPECT_EQ(OnlyClass().number_temp, 0u);
}

// memcached's t/lru-maintainer.t: expired items are reclaimed in the background within seconds,
// before any crawl and without a store in their class.
TEST_F(LruTest, MaintainerReclaimsExpiredItems) {
  Make(4);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Set(i, 1));
  clock_.Advance(2);
  cache_->MaintainLruOnce();
  EXPECT_EQ(cache_->Stats().reclaimed, 10u);
  EXPECT_EQ(cache_->Stats().curr_items, 0u);
  EXPECT_EQ(OnlyClass().used_chunks, 0u);
}

// Without the segments (no_lru_maintainer, no_modern) every item is cold with the plain CLOCK's
// second chance, and the maintainer moves nothing.
TEST_F(LruTest, WithoutSegmentsEverythingIsColdAndTheClockIsPlain) {
  Make(4, /*segmented=*/false);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Set(i));
  ClassStats c = OnlyClass();
  EXPECT_EQ(c.number_cold, 100u);
  EXPECT_EQ(c.number_hot, 0u);
  cache_->MaintainLruOnce();
  EXPECT_EQ(OnlyClass().moves_to_cold, 0u);
  EXPECT_EQ(OnlyClass().number_cold, 100u);
}

}  // namespace
}  // namespace mcd::storage
