// The cache operations behind the meta protocol (cache_meta.cc), on a fake clock.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "mcd/storage/cache.h"
#include "mcd/storage/item.h"
#include "test_util.h"

namespace mcd::storage {
namespace {

using testing::GetCas;
using testing::GetValue;
using testing::Stored;

class MetaTest : public ::testing::Test {
 protected:
  MetaTest() {
    CacheOptions o;
    o.start_maintainer = false;
    cache_ = std::make_unique<Cache>(o, &clock_);
  }
  // mg: the info, releasing the item.
  MetaGetInfo Get(std::string_view key, const MetaGetArgs& args = {}) {
    MetaGetInfo info;
    Item* it = cache_->MetaGet(key, args, &info);
    if (it != nullptr) cache_->Release(it);
    return info;
  }
  // ms: allocates and stores `value`.
  StoreResult Store(std::string_view key, std::string_view value, StoreMode mode, uint64_t cas = 0,
                    const MetaStoreArgs& args = {}, MetaStoreInfo* info = nullptr,
                    RelTime exptime = 0) {
    Item* it = nullptr;
    EXPECT_EQ(cache_->Allocate(key, 5, exptime, static_cast<uint32_t>(value.size()), &it),
              AllocResult::kOk);
    testing::Fill(it, value);
    MetaStoreInfo scratch;
    return cache_->StoreMeta(it, mode, cas, args, info != nullptr ? info : &scratch);
  }
  RelTime Now() const { return clock_.Now(); }

  FakeClock clock_{1000};
  std::unique_ptr<Cache> cache_;
};

TEST_F(MetaTest, GetReportsTheStateBeforeTheRequest) {
  ASSERT_TRUE(Stored(*cache_, "k", "v"));
  MetaGetInfo first = Get("k");
  EXPECT_EQ(first.lookup, LookupResult::kHit);
  EXPECT_FALSE(first.fetched_before);
  EXPECT_EQ(first.last_access, Now());
  EXPECT_EQ(first.exptime_before, 0u);
  EXPECT_EQ(first.cas, GetCas(*cache_, "k"));
  EXPECT_TRUE(Get("k").fetched_before);
}

TEST_F(MetaTest, NoBumpLeavesTheItemUnfetched) {
  ASSERT_TRUE(Stored(*cache_, "k", "v"));
  MetaGetArgs u;
  u.bump = false;
  Get("k", u);
  EXPECT_FALSE(Get("k", u).fetched_before);
}

TEST_F(MetaTest, SetExptimeReportsBeforeAndAfter) {
  ASSERT_TRUE(Stored(*cache_, "k", "v"));
  MetaGetArgs t;
  t.set_exptime = true;
  t.exptime = Now() + 30;
  MetaGetInfo info = Get("k", t);
  EXPECT_EQ(info.exptime_before, 0u);
  EXPECT_EQ(info.exptime_after, Now() + 30);
  clock_.Advance(31);
  EXPECT_EQ(Get("k").lookup, LookupResult::kExpired);
}

// Vivify: the first miss creates an empty item and wins (W); the next readers see it with Z
// until a store replaces it.
TEST_F(MetaTest, VivifyOnMissHandsOutOneToken) {
  MetaGetArgs n;
  n.vivify = true;
  n.vivify_exptime = Now() + 30;
  MetaGetInfo first = Get("k", n);
  EXPECT_TRUE(first.created);
  EXPECT_TRUE(first.won);
  EXPECT_FALSE(first.token_sent);
  EXPECT_EQ(first.exptime_after, Now() + 30);
  MetaGetInfo second = Get("k", n);
  EXPECT_FALSE(second.created);
  EXPECT_FALSE(second.won);
  EXPECT_TRUE(second.token_sent);
  EXPECT_EQ(GetValue(*cache_, "k"), "");
  ASSERT_EQ(Store("k", "fresh", StoreMode::kSet), StoreResult::kStored);
  MetaGetInfo after = Get("k", n);
  EXPECT_FALSE(after.token_sent);
  EXPECT_FALSE(after.won);
}

TEST_F(MetaTest, RecacheWinsOnceWhenTheTtlIsBelowTheThreshold) {
  ASSERT_EQ(Store("k", "v", StoreMode::kSet, 0, {}, nullptr, Now() + 20), StoreResult::kStored);
  MetaGetArgs r;
  r.recache = true;
  r.recache_before = Now() + 10;
  EXPECT_FALSE(Get("k", r).won);  // 20 s left: above the threshold
  r.recache_before = Now() + 30;
  EXPECT_TRUE(Get("k", r).won);
  MetaGetInfo again = Get("k", r);
  EXPECT_FALSE(again.won);
  EXPECT_TRUE(again.token_sent);
}

// md I: marked stale, not deleted; the first reader wins, the others see X and Z; a store with
// the stale cas and I is kept stale, a fresh set clears it.
TEST_F(MetaTest, InvalidateMarksStaleAndTheNextReaderWins) {
  ASSERT_TRUE(Stored(*cache_, "k", "v"));
  const uint64_t cas = GetCas(*cache_, "k");
  MetaDeleteArgs i;
  i.stale = true;
  EXPECT_EQ(cache_->MetaDelete("k", i), MetaDeleteResult::kStale);
  EXPECT_NE(GetCas(*cache_, "k"), cas);
  MetaGetInfo first = Get("k");
  EXPECT_TRUE(first.stale);
  EXPECT_TRUE(first.won);
  MetaGetInfo second = Get("k");
  EXPECT_TRUE(second.stale);
  EXPECT_FALSE(second.won);
  EXPECT_TRUE(second.token_sent);
  // The winner recaches with the cas it saw before the invalidation, allowed stale: stored,
  // still stale, token kept.
  MetaStoreArgs allow;
  allow.allow_stale = true;
  EXPECT_EQ(Store("k", "late", StoreMode::kCas, cas, allow), StoreResult::kStored);
  MetaGetInfo third = Get("k");
  EXPECT_TRUE(third.stale);
  EXPECT_TRUE(third.token_sent);
  // Without I the old cas is refused.
  EXPECT_EQ(Store("k", "late", StoreMode::kCas, cas), StoreResult::kExists);
  ASSERT_EQ(Store("k", "new", StoreMode::kSet), StoreResult::kStored);
  EXPECT_FALSE(Get("k").stale);
}

TEST_F(MetaTest, DeleteComparesCas) {
  ASSERT_TRUE(Stored(*cache_, "k", "v"));
  MetaDeleteArgs c;
  c.compare_cas = GetCas(*cache_, "k") + 1;
  EXPECT_EQ(cache_->MetaDelete("k", c), MetaDeleteResult::kExists);
  c.compare_cas -= 1;
  EXPECT_EQ(cache_->MetaDelete("k", c), MetaDeleteResult::kDeleted);
  EXPECT_EQ(cache_->MetaDelete("k", c), MetaDeleteResult::kNotFound);
}

TEST_F(MetaTest, DeleteRemoveValueKeepsAnEmptyItem) {
  ASSERT_TRUE(Stored(*cache_, "k", "value"));
  const uint64_t cas = GetCas(*cache_, "k");
  MetaDeleteArgs x;
  x.remove_value = true;
  x.flags = 7;
  EXPECT_EQ(cache_->MetaDelete("k", x), MetaDeleteResult::kDeleted);
  LookupResult r;
  Item* it = cache_->Get("k", &r);
  ASSERT_NE(it, nullptr);
  EXPECT_EQ(ItemValueSize(it), 0u);
  EXPECT_EQ(ItemFlags(it), 7u);
  EXPECT_EQ(ItemCas(it), cas);
  cache_->Release(it);
}

TEST_F(MetaTest, StoreWithClientCasAndSize) {
  MetaStoreArgs e;
  e.new_cas = 12345;
  MetaStoreInfo info;
  ASSERT_EQ(Store("k", "abc", StoreMode::kSet, 0, e, &info), StoreResult::kStored);
  EXPECT_EQ(info.cas, 12345u);
  EXPECT_EQ(info.value_size, 3u);
  ASSERT_EQ(Store("k", "de", StoreMode::kAppend, 12345, {}, &info), StoreResult::kStored);
  EXPECT_EQ(info.value_size, 5u);
  EXPECT_EQ(GetValue(*cache_, "k"), "abcde");
  EXPECT_EQ(Store("k", "x", StoreMode::kPrepend, info.cas + 1), StoreResult::kExists);
}

// A client-chosen cas says nothing of when the item was stored: such items are flushed by flush
// epoch, so within one second a flush kills the ones stored before it and spares the ones after.
TEST_F(MetaTest, ClientCasItemsAreFlushedInStoreOrderWithinASecond) {
  MetaStoreArgs e;
  e.new_cas = 1u << 30;  // above every cas the cache has handed out
  ASSERT_EQ(Store("before", "v", StoreMode::kSet, 0, e), StoreResult::kStored);
  ASSERT_TRUE(Stored(*cache_, "plain", "v"));
  cache_->FlushAll(0);
  e.new_cas = 1;  // below the flush's cas threshold
  ASSERT_EQ(Store("after", "v", StoreMode::kSet, 0, e), StoreResult::kStored);
  EXPECT_EQ(GetValue(*cache_, "before"), std::nullopt);
  EXPECT_EQ(GetValue(*cache_, "plain"), std::nullopt);
  EXPECT_EQ(GetValue(*cache_, "after"), "v");
  clock_.Advance(5);
  EXPECT_EQ(GetValue(*cache_, "after"), "v");
}

TEST_F(MetaTest, AppendWithVivifyCreatesTheItem) {
  MetaStoreArgs n;
  n.vivify = true;
  EXPECT_EQ(Store("k", "a", StoreMode::kAppend), StoreResult::kNotStored);
  EXPECT_EQ(Store("k", "a", StoreMode::kAppend, 0, n), StoreResult::kStored);
  EXPECT_EQ(GetValue(*cache_, "k"), "a");
}

TEST_F(MetaTest, DeltaVivifiesComparesAndSetsCas) {
  MetaDeltaArgs a;
  MetaDeltaInfo info;
  EXPECT_EQ(cache_->MetaDelta("n", a, &info), DeltaResult::kNotFound);
  a.vivify = true;
  a.initial = 10;
  a.vivify_exptime = Now() + 60;
  ASSERT_EQ(cache_->MetaDelta("n", a, &info), DeltaResult::kOk);
  EXPECT_TRUE(info.created);
  EXPECT_EQ(info.value, 10u);
  EXPECT_EQ(info.exptime_after, Now() + 60);
  a.delta = 5;
  a.compare_cas = info.cas + 1;
  EXPECT_EQ(cache_->MetaDelta("n", a, &info), DeltaResult::kExists);
  a.compare_cas = GetCas(*cache_, "n");
  a.new_cas = 999;
  a.incr = false;
  ASSERT_EQ(cache_->MetaDelta("n", a, &info), DeltaResult::kOk);
  EXPECT_EQ(info.value, 5u);
  EXPECT_EQ(info.cas, 999u);
  EXPECT_EQ(GetValue(*cache_, "n"), "5 ");
}

}  // namespace
}  // namespace mcd::storage
