// The executor on a real cache and a fake clock: each protocol-neutral request, what it does to
// the cache, and how it is counted (memcached's counting, per protocol where memcached differs).
#include "executor.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "handler_test_base.h"
#include "mcd/storage/item.h"

namespace mcd::handler {
namespace {

class ExecutorTest : public HandlerTestBase {
 protected:
  ExecutorTest() { exec_ = std::make_unique<Executor>(&ctx_, registry_.Thread(0)); }

  storage::StoreResult Set(std::string_view key, std::string_view value, int64_t exptime = 0,
                           const StoreRequest& req = {}) {
    storage::Item* it = nullptr;
    EXPECT_EQ(exec_->Allocate(key, 0, exptime, static_cast<uint32_t>(value.size()), &it),
              AllocOutcome::kOk);
    std::span<char> dst = storage::ItemMutableDataAt(it, 0);
    std::memcpy(dst.data(), value.data(), value.size());
    std::memcpy(dst.data() + value.size(), "\r\n", 2);
    exec_->CountSet(it);
    storage::MetaStoreInfo info;
    return exec_->Store(it, req, &info);
  }
  bool Hit(const GetRequest& req, storage::MetaGetInfo* info = nullptr) {
    storage::MetaGetInfo scratch;
    storage::Item* it = exec_->Get(req, info != nullptr ? info : &scratch);
    if (it == nullptr) return false;
    exec_->Release(it);
    return true;
  }
  stats::ThreadTotals Totals() { return registry_.Totals(); }

  std::unique_ptr<Executor> exec_;
};

TEST_F(ExecutorTest, PlainGetCountsGetsHitsAndMisses) {
  ASSERT_EQ(Set("k", "v"), storage::StoreResult::kStored);
  GetRequest get;
  get.key = "k";
  EXPECT_TRUE(Hit(get));
  get.key = "missing";
  EXPECT_FALSE(Hit(get));
  const stats::ThreadTotals t = Totals();
  EXPECT_EQ(t.cmd_get, 2u);
  EXPECT_EQ(t.get_hits, 1u);
  EXPECT_EQ(t.get_misses, 1u);
  EXPECT_EQ(t.cmd_set, 1u);
}

// gat counts a get and a touch; mg with T counts a touch on a hit and a get on a miss.
TEST_F(ExecutorTest, TouchingRetrievalsAreCountedPerProtocolAsMemcachedDoes) {
  ASSERT_EQ(Set("k", "v"), storage::StoreResult::kStored);
  GetRequest gat;
  gat.key = "k";
  gat.touch = true;
  gat.exptime = 100;
  EXPECT_TRUE(Hit(gat));
  stats::ThreadTotals t = Totals();
  EXPECT_EQ(t.cmd_get, 1u);
  EXPECT_EQ(t.cmd_touch, 1u);
  EXPECT_EQ(t.get_hits, 1u);
  EXPECT_EQ(t.touch_hits, 1u);

  GetRequest mg = gat;
  mg.meta = true;
  mg.touch_count = TouchCount::kTouchOnHit;
  EXPECT_TRUE(Hit(mg));
  t = Totals();
  EXPECT_EQ(t.cmd_get, 1u);
  EXPECT_EQ(t.cmd_touch, 2u);
  EXPECT_EQ(t.get_hits, 1u);
  EXPECT_EQ(t.touch_hits, 2u);
  mg.key = "missing";
  EXPECT_FALSE(Hit(mg));
  t = Totals();
  EXPECT_EQ(t.cmd_get, 2u);
  EXPECT_EQ(t.get_misses, 1u);
  EXPECT_EQ(t.touch_misses, 0u);
}

// Client times are exptimes: relative seconds, converted on the executor's clock.
TEST_F(ExecutorTest, ExptimesAreConvertedOnTheClock) {
  ASSERT_EQ(Set("k", "v", 10), storage::StoreResult::kStored);
  GetRequest get;
  get.key = "k";
  clock_.Advance(9);
  EXPECT_TRUE(Hit(get));
  clock_.Advance(1);
  EXPECT_FALSE(Hit(get));
  EXPECT_EQ(Totals().get_expired, 1u);
  ASSERT_EQ(Set("k", "v"), storage::StoreResult::kStored);
  EXPECT_TRUE(exec_->Touch("k", 5));
  clock_.Advance(5);
  EXPECT_FALSE(Hit(get));
}

TEST_F(ExecutorTest, CasStoresAreCounted) {
  ASSERT_EQ(Set("k", "v"), storage::StoreResult::kStored);
  storage::MetaGetInfo info;
  GetRequest get;
  get.key = "k";
  get.meta = true;
  ASSERT_TRUE(Hit(get, &info));
  StoreRequest cas;
  cas.mode = storage::StoreMode::kCas;
  cas.compare_cas = info.cas + 1;
  EXPECT_EQ(Set("k", "w", 0, cas), storage::StoreResult::kExists);
  cas.compare_cas = info.cas;
  EXPECT_EQ(Set("k", "w", 0, cas), storage::StoreResult::kStored);
  EXPECT_EQ(Set("gone", "w", 0, cas), storage::StoreResult::kNotFound);
  const stats::ThreadTotals t = Totals();
  EXPECT_EQ(t.cas_badval, 1u);
  EXPECT_EQ(t.cas_hits, 1u);
  EXPECT_EQ(t.cas_misses, 1u);
}

TEST_F(ExecutorTest, DeleteAndArithmeticAreCounted) {
  ASSERT_EQ(Set("n", "41"), storage::StoreResult::kStored);
  storage::MetaDeltaArgs incr;
  storage::MetaDeltaInfo info;
  EXPECT_EQ(exec_->Arithmetic("n", incr, &info), storage::DeltaResult::kOk);
  EXPECT_EQ(info.value, 42u);
  EXPECT_EQ(exec_->Arithmetic("none", incr, &info), storage::DeltaResult::kNotFound);
  storage::MetaDeltaArgs viv;
  viv.vivify = true;
  viv.initial = 7;
  EXPECT_EQ(exec_->Arithmetic("new", viv, &info), storage::DeltaResult::kOk);
  EXPECT_TRUE(info.created);
  EXPECT_EQ(exec_->Delete("n", {}), storage::MetaDeleteResult::kDeleted);
  EXPECT_EQ(exec_->Delete("n", {}), storage::MetaDeleteResult::kNotFound);
  const stats::ThreadTotals t = Totals();
  EXPECT_EQ(t.incr_hits, 1u);  // the vivified counter is not a hit
  EXPECT_EQ(t.incr_misses, 1u);
  EXPECT_EQ(t.delete_hits, 1u);
  EXPECT_EQ(t.delete_misses, 1u);
}

// A failed allocation unlinks the key's old value, so no stale value outlives a failed store.
TEST_F(ExecutorTest, TooLargeStoreUnlinksTheOldValue) {
  ASSERT_EQ(Set("k", "v"), storage::StoreResult::kStored);
  storage::Item* it = nullptr;
  EXPECT_EQ(exec_->Allocate("k", 0, 0, 64u << 20, &it), AllocOutcome::kTooLarge);
  GetRequest get;
  get.key = "k";
  EXPECT_FALSE(Hit(get));
  EXPECT_EQ(Totals().store_too_large, 1u);
}

TEST_F(ExecutorTest, PeekDoesNotBumpAndCountsAsMeta) {
  ASSERT_EQ(Set("k", "v"), storage::StoreResult::kStored);
  storage::MetaGetInfo info;
  storage::Item* it = exec_->Peek("k", &info);
  ASSERT_NE(it, nullptr);
  exec_->Release(it);
  it = exec_->Peek("k", &info);
  ASSERT_NE(it, nullptr);
  exec_->Release(it);
  EXPECT_FALSE(info.fetched_before);
  EXPECT_EQ(Totals().cmd_meta, 2u);
  EXPECT_EQ(Totals().cmd_get, 0u);
}

// `stats slabs` counts delete, incr, decr and touch hits in the class of the item hit, as
// memcached does (mcd counted them only in the totals).
TEST_F(ExecutorTest, HitsAreCountedInTheItemsClass) {
  ASSERT_EQ(Set("d", "v"), storage::StoreResult::kStored);
  ASSERT_EQ(Set("n", "10"), storage::StoreResult::kStored);
  ASSERT_EQ(Set("t", std::string(3000, 'x')), storage::StoreResult::kStored);
  GetRequest peek;
  auto class_of = [&](std::string_view key) {
    peek.key = key;
    storage::MetaGetInfo info;
    storage::Item* it = exec_->Get(peek, &info);
    EXPECT_NE(it, nullptr) << key;
    const int cls = it != nullptr ? cache_->ClassOf(it) : 0;
    if (it != nullptr) exec_->Release(it);
    return cls;
  };
  const int small = class_of("d");
  const int counter = class_of("n");
  const int large = class_of("t");
  ASSERT_NE(small, large);

  storage::MetaDeltaArgs incr;
  storage::MetaDeltaInfo info;
  ASSERT_EQ(exec_->Arithmetic("n", incr, &info), storage::DeltaResult::kOk);
  storage::MetaDeltaArgs decr;
  decr.incr = false;
  ASSERT_EQ(exec_->Arithmetic("n", decr, &info), storage::DeltaResult::kOk);
  ASSERT_EQ(exec_->Arithmetic("n", decr, &info), storage::DeltaResult::kOk);
  EXPECT_TRUE(exec_->Touch("t", 100));
  EXPECT_FALSE(exec_->Touch("absent", 100));
  EXPECT_EQ(exec_->Delete("d", {}), storage::MetaDeleteResult::kDeleted);
  EXPECT_EQ(exec_->Delete("d", {}), storage::MetaDeleteResult::kNotFound);

  EXPECT_EQ(registry_.ClassTotal(counter).incr_hits, 1u);
  EXPECT_EQ(registry_.ClassTotal(counter).decr_hits, 2u);
  EXPECT_EQ(registry_.ClassTotal(large).touch_hits, 1u);
  EXPECT_EQ(registry_.ClassTotal(small).delete_hits, 1u);
  EXPECT_EQ(registry_.ClassTotal(large).delete_hits, 0u);
  EXPECT_EQ(registry_.ClassTotal(large).incr_hits, 0u);
  EXPECT_EQ(Totals().delete_hits, 1u);
  EXPECT_EQ(Totals().touch_hits, 1u);

  // md x (the value emptied) counts too, as memcached 1.6.45 does, in the empty item's class.
  storage::MetaDeleteArgs empty;
  empty.remove_value = true;
  const uint64_t small_before = registry_.ClassTotal(small).delete_hits;
  EXPECT_EQ(exec_->Delete("t", empty), storage::MetaDeleteResult::kDeleted);
  EXPECT_EQ(Totals().delete_hits, 2u);
  EXPECT_EQ(registry_.ClassTotal(large).delete_hits, 0u);
  ASSERT_EQ(class_of("t"), small);  // the empty item is in the smallest class, as "d" was
  EXPECT_EQ(registry_.ClassTotal(small).delete_hits, small_before + 1);
  // md I (marked stale) counts nothing.
  storage::MetaDeleteArgs stale;
  stale.stale = true;
  EXPECT_EQ(exec_->Delete("t", stale), storage::MetaDeleteResult::kStale);
  EXPECT_EQ(Totals().delete_hits, 2u);
}

}  // namespace
}  // namespace mcd::handler
