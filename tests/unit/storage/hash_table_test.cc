#include "hash_table.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace mcd::storage {
namespace {

// Items built in plain heap buffers (the table only touches h_next and the key).
class Items {
 public:
  Item* Make(const std::string& key) {
    auto buf = std::make_unique<uint64_t[]>((sizeof(Item) + key.size()) / 8 + 1);
    Item* it = reinterpret_cast<Item*>(buf.get());
    std::memset(it, 0, sizeof(Item));
    it->nkey = static_cast<uint8_t>(key.size());
    std::memcpy(it->key_ptr(), key.data(), key.size());
    bufs_.push_back(std::move(buf));
    return it;
  }

 private:
  std::vector<std::unique_ptr<uint64_t[]>> bufs_;
};

Item* Find(HashTable& t, const std::string& key) {
  uint64_t hv = HashTable::Hash(key);
  std::lock_guard<std::mutex> lock(t.StripeFor(hv).mu);
  return t.FindLocked(key, hv);
}

void Insert(HashTable& t, Item* it) {
  uint64_t hv = HashTable::Hash(it->key());
  std::lock_guard<std::mutex> lock(t.StripeFor(hv).mu);
  t.InsertLocked(it, hv);
}

TEST(HashTest, DeterministicAndSpread) {
  EXPECT_EQ(HashTable::Hash("abc"), HashTable::Hash("abc"));
  EXPECT_NE(HashTable::Hash("abc"), HashTable::Hash("abd"));
  EXPECT_NE(HashTable::Hash(""), HashTable::Hash(std::string(1, '\0')));
  // 4096 sequential keys into 256 buckets: no bucket should be badly overloaded.
  std::vector<int> counts(256);
  for (int i = 0; i < 4096; ++i) ++counts[HashTable::Hash("key:" + std::to_string(i)) & 255];
  for (int c : counts) EXPECT_LT(c, 48);
}

TEST(HashTableTest, InsertFindRemoveReplace) {
  HashTable t(4);
  Items items;
  EXPECT_EQ(t.NumStripes(), 16u);
  Item* a = items.Make("alpha");
  Item* b = items.Make("beta");
  Insert(t, a);
  Insert(t, b);
  EXPECT_EQ(Find(t, "alpha"), a);
  EXPECT_EQ(Find(t, "beta"), b);
  EXPECT_EQ(Find(t, "gamma"), nullptr);
  EXPECT_EQ(t.Count(), 2u);
  Item* a2 = items.Make("alpha");
  uint64_t hv = HashTable::Hash("alpha");
  {
    std::lock_guard<std::mutex> lock(t.StripeFor(hv).mu);
    t.ReplaceLocked(a, a2, hv);
    EXPECT_EQ(t.FindLocked("alpha", hv), a2);
    EXPECT_TRUE(t.RemoveLocked(a2, hv));
    EXPECT_FALSE(t.RemoveLocked(a2, hv));
  }
  EXPECT_EQ(t.Count(), 1u);
}

TEST(HashTableTest, StripesNeverExceedInitialBuckets) {
  EXPECT_EQ(HashTable(2).NumStripes(), 4u);
  EXPECT_EQ(HashTable(16).NumStripes(), 1024u);
}

TEST(HashTableTest, ExpandsPastOneAndAHalfLoadAndKeepsEveryKeyVisible) {
  HashTable t(4);  // 16 buckets
  Items items;
  std::vector<std::string> keys;
  for (int i = 0; i < 24; ++i) {
    keys.push_back("k" + std::to_string(i));
    Insert(t, items.Make(keys.back()));
  }
  EXPECT_FALSE(t.NeedsExpansion());  // 24 == 1.5 x 16
  keys.push_back("k24");
  Insert(t, items.Make("k24"));
  EXPECT_TRUE(t.NeedsExpansion());
  ASSERT_TRUE(t.StartExpansion());
  EXPECT_TRUE(t.Expanding());
  EXPECT_EQ(t.HashPower(), 5);
  EXPECT_FALSE(t.StartExpansion());
  // Migrate a few buckets at a time; every key stays findable, and new keys can be added.
  int step = 0;
  while (t.MigrateSome(3)) {
    for (const auto& k : keys) ASSERT_NE(Find(t, k), nullptr) << k << " step " << step;
    keys.push_back("n" + std::to_string(step++));
    Insert(t, items.Make(keys.back()));
  }
  EXPECT_FALSE(t.Expanding());
  for (const auto& k : keys) EXPECT_NE(Find(t, k), nullptr) << k;
  EXPECT_EQ(t.Count(), keys.size());
  EXPECT_EQ(t.Buckets(), 32u);
}

}  // namespace
}  // namespace mcd::storage
