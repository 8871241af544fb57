#include "hash_table.h"

#include <algorithm>
#include <cstring>

namespace mcd::storage {
namespace {

constexpr uint32_t kMaxStripes = 1024;
constexpr int kMaxHashPower = 32;

constexpr uint64_t kMulA = 0x87c37b91114253d5ull;
constexpr uint64_t kMulB = 0x4cf5ad432745937full;
constexpr uint64_t kMulC = 0xd6e8feb86659fd93ull;

uint64_t Rotl(uint64_t v, int r) { return (v << r) | (v >> (64 - r)); }

// Final avalanche: every input bit affects every output bit.
uint64_t Avalanche(uint64_t v) {
  v ^= v >> 32;
  v *= kMulC;
  v ^= v >> 29;
  v *= kMulC;
  v ^= v >> 32;
  return v;
}

uint64_t MixBlock(uint64_t k) {
  k *= kMulA;
  k = Rotl(k, 31);
  return k * kMulB;
}

// Bucket slots (and chain links, which share the code paths) are written with relaxed atomic
// stores, since PrefetchHead reads a slot without the stripe lock.
void SetLink(Item** slot, Item* value) {
  std::atomic_ref<Item*>(*slot).store(value, std::memory_order_relaxed);
}

}  // namespace

uint64_t HashTable::Hash(std::string_view key) {
  const char* p = key.data();
  size_t n = key.size();
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t{n} * kMulC);
  while (n >= 8) {
    uint64_t k;
    std::memcpy(&k, p, 8);
    h ^= MixBlock(k);
    h = Rotl(h, 27) * 5 + 0x52dce729;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t k = 0;
    std::memcpy(&k, p, n);
    h ^= MixBlock(k);
  }
  return Avalanche(h);
}

HashTable::HashTable(int hashpower) {
  int power = std::clamp(hashpower, 1, kMaxHashPower - 1);
  nstripes_ = std::min<uint64_t>(kMaxStripes, uint64_t{1} << power);
  stripes_.reset(new Stripe[nstripes_]);
  current_.reset(new Item*[uint64_t{1} << power]());
  auto layout = std::make_unique<Layout>();
  layout->primary = current_.get();
  layout->power = power;
  Publish(std::move(layout));
}

HashTable::~HashTable() = default;

void HashTable::Publish(std::unique_ptr<Layout> layout) {
  layout_.store(layout.get(), std::memory_order_release);
  layouts_.push_back(std::move(layout));
}

Item** HashTable::BucketLocked(uint64_t hv) const {
  const Layout* l = layout_.load(std::memory_order_acquire);
  if (l->old != nullptr) {
    uint64_t ob = hv & ((uint64_t{1} << l->old_power) - 1);
    if (ob >= l->cursor.load(std::memory_order_acquire)) return &l->old[ob];
  }
  return &l->primary[hv & ((uint64_t{1} << l->power) - 1)];
}

void HashTable::PrefetchBucket(uint64_t hv) const {
  const Layout* l = layout_.load(std::memory_order_acquire);
  if (l->old != nullptr) return;
  __builtin_prefetch(&l->primary[hv & ((uint64_t{1} << l->power) - 1)]);
}

void HashTable::PrefetchHead(uint64_t hv) const {
  // The stripe's lock is taken for writing: ask for its line now (the other workers take the
  // same 1024 stripes, so the line is often in another core's cache).
  __builtin_prefetch(&stripes_[StripeIndex(hv)], 1);
  const Layout* l = layout_.load(std::memory_order_acquire);
  if (l->old != nullptr) return;
  Item*& slot = l->primary[hv & ((uint64_t{1} << l->power) - 1)];
  const Item* head = std::atomic_ref<Item*>(slot).load(std::memory_order_relaxed);
  if (head != nullptr) {
    __builtin_prefetch(head);
    __builtin_prefetch(reinterpret_cast<const char*>(head) + 64);
    // A small value of ~100 bytes ends in the third line (header 40, key, value, "\r\n").
    __builtin_prefetch(reinterpret_cast<const char*>(head) + 128);
  }
}

Item* HashTable::FindLocked(std::string_view key, uint64_t hv) const {
  for (Item* it = *BucketLocked(hv); it != nullptr; it = it->h_next) {
    if (it->nkey == key.size() && std::memcmp(it->key_ptr(), key.data(), key.size()) == 0) {
      return it;
    }
  }
  return nullptr;
}

void HashTable::InsertLocked(Item* it, uint64_t hv) {
  Item** bucket = BucketLocked(hv);
  it->h_next = *bucket;
  SetLink(bucket, it);
  count_.fetch_add(1, std::memory_order_relaxed);
}

bool HashTable::RemoveLocked(Item* it, uint64_t hv) {
  for (Item** pp = BucketLocked(hv); *pp != nullptr; pp = &(*pp)->h_next) {
    if (*pp == it) {
      SetLink(pp, it->h_next);
      it->h_next = nullptr;
      count_.fetch_sub(1, std::memory_order_relaxed);
      return true;
    }
  }
  return false;
}

void HashTable::ReplaceLocked(Item* old, Item* with, uint64_t hv) {
  for (Item** pp = BucketLocked(hv); *pp != nullptr; pp = &(*pp)->h_next) {
    if (*pp == old) {
      with->h_next = old->h_next;
      SetLink(pp, with);
      old->h_next = nullptr;
      return;
    }
  }
  InsertLocked(with, hv);  // not reached when the contract holds
}

bool HashTable::NeedsExpansion() const {
  const Layout* l = layout_.load(std::memory_order_acquire);
  if (l->old != nullptr || l->power >= kMaxHashPower) return false;
  return Count() > (uint64_t{3} << l->power) / 2;
}

bool HashTable::StartExpansion() {
  if (!NeedsExpansion()) return false;
  const Layout* cur = layout_.load(std::memory_order_acquire);
  retiring_ = std::move(current_);
  current_.reset(new Item*[uint64_t{1} << (cur->power + 1)]());
  auto next = std::make_unique<Layout>();
  next->primary = current_.get();
  next->power = cur->power + 1;
  next->old = retiring_.get();
  next->old_power = cur->power;
  Publish(std::move(next));
  return true;
}

bool HashTable::MigrateSome(uint32_t max_buckets) {
  Layout* l = layouts_.back().get();
  if (l->old == nullptr) return false;
  uint64_t old_size = uint64_t{1} << l->old_power;
  uint64_t new_mask = (uint64_t{1} << l->power) - 1;
  for (uint32_t n = 0; n < max_buckets; ++n) {
    uint64_t i = l->cursor.load(std::memory_order_relaxed);
    if (i >= old_size) break;
    std::lock_guard<std::mutex> lock(stripes_[i & (nstripes_ - 1)].mu);
    Item* it = l->old[i];
    while (it != nullptr) {
      Item* next = it->h_next;
      Item** dst = &l->primary[Hash(it->key()) & new_mask];
      it->h_next = *dst;
      SetLink(dst, it);
      it = next;
    }
    SetLink(&l->old[i], nullptr);
    l->cursor.store(i + 1, std::memory_order_release);
  }
  if (l->cursor.load(std::memory_order_relaxed) < old_size) return true;
  // Every old bucket is migrated: publish the plain layout, then free the old array (see the
  // header for why no lookup can still be reading it).
  auto done = std::make_unique<Layout>();
  done->primary = l->primary;
  done->power = l->power;
  Publish(std::move(done));
  retiring_.reset();
  return false;
}

}  // namespace mcd::storage
