// Hash table of linked items: power-of-two bucket array, items chained through Item::h_next.
//
// Concurrency: lock striping. A fixed number of stripe mutexes (min(1024, initial buckets)) guard
// the buckets; bucket b belongs to stripe b & (nstripes - 1). Because the bucket count is always a
// multiple of the stripe count, a bucket keeps its stripe when the table doubles, so the table can
// grow while the stripes stay put (no lock is tied to a bucket).
//
// Growth without stopping the world: when the item count passes 1.5 x buckets, the maintainer
// calls StartExpansion() (allocates the doubled array and publishes a new Layout whose `old`
// points to the previous array) and then MigrateSome() repeatedly. Old bucket i splits into new
// buckets i and i + oldsize, both in stripe i & (nstripes - 1), so migrating it needs only that
// stripe's lock. Each Layout has a migration cursor: old buckets below it are migrated. A lookup,
// holding its stripe lock, reads the Layout and the cursor: if its old bucket index is below the
// cursor it uses the new array, else the old one. The cursor of a bucket's stripe can only move
// while that stripe's lock is held, so the answer is stable for the lookup's critical section.
//
//   Layout (immutable once published; kept until destruction)
//   +------------------+-------+-----------------+-----------+-----------------------+
//   | Item** primary   | power | Item** old      | old_power | atomic cursor         |
//   +------------------+-------+-----------------+-----------+-----------------------+
//
// Layouts are never freed while the table lives (one per expansion step, a few dozen at most), so
// a stale Layout pointer is always safe to read. The old array is freed only after every bucket
// is migrated; by then every stripe has been locked by the migrator after the Layout was
// published, so any later lookup reads the new Layout (or an expanding one whose cursor is past
// every old bucket) and never touches the freed array.
//
// Hashing: a 64-bit multiply-xorshift hash written for this project (see Hash()).
//
// Thread-safety: methods named *Locked require the stripe lock of the hash value (REQUIRES:
// stripe lock held). StartExpansion/MigrateSome must be called by one thread at a time (the
// cache serializes them). Stats accessors are lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "item_layout.h"

namespace mcd::storage {

// One lock stripe plus the counters its lock protects (written under the lock, read anywhere).
struct alignas(64) Stripe {
  std::mutex mu;
  std::atomic<uint64_t> total_items{0};  // links since start (or stats reset)
  std::atomic<uint64_t> bytes{0};        // total_size() of linked items
};

class HashTable {
 public:
  explicit HashTable(int hashpower);
  ~HashTable();
  HashTable(const HashTable&) = delete;
  HashTable& operator=(const HashTable&) = delete;

  static uint64_t Hash(std::string_view key);

  uint32_t NumStripes() const { return nstripes_; }
  uint32_t StripeIndex(uint64_t hv) const { return static_cast<uint32_t>(hv) & (nstripes_ - 1); }
  Stripe& StripeAt(uint32_t index) { return stripes_[index]; }
  Stripe& StripeFor(uint64_t hv) { return stripes_[StripeIndex(hv)]; }

  // REQUIRES: stripe lock of hv held.
  Item* FindLocked(std::string_view key, uint64_t hv) const;
  // Multiget pipelining, no lock needed: prefetch the bucket slot of hv; prefetch the first item
  // of its chain (reads the slot with a relaxed atomic load; a stale pointer is only a hint).
  // Neither does anything while the table is expanding.
  void PrefetchBucket(uint64_t hv) const;
  void PrefetchHead(uint64_t hv) const;
  // Inserts an item whose key is not present. REQUIRES: stripe lock of hv held.
  void InsertLocked(Item* it, uint64_t hv);
  // Removes `it` from its chain; false if it is not there. REQUIRES: stripe lock of hv held.
  bool RemoveLocked(Item* it, uint64_t hv);
  // Puts `with` in the place of `old` (same key). REQUIRES: stripe lock of hv held.
  void ReplaceLocked(Item* old, Item* with, uint64_t hv);

  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  int HashPower() const { return layout_.load(std::memory_order_acquire)->power; }
  uint64_t Buckets() const { return uint64_t{1} << HashPower(); }
  bool Expanding() const { return layout_.load(std::memory_order_acquire)->old != nullptr; }
  // True when the table should grow and is not already growing.
  bool NeedsExpansion() const;

  // Begins an expansion (allocates the doubled array). False if not needed or already running.
  bool StartExpansion();
  // Migrates up to `max_buckets` old buckets. Returns true while the expansion is unfinished.
  bool MigrateSome(uint32_t max_buckets);

 private:
  struct Layout {
    Item** primary = nullptr;
    int power = 0;
    Item** old = nullptr;  // non-null while expanding
    int old_power = 0;
    std::atomic<uint64_t> cursor{0};  // old buckets below this are migrated
  };

  // REQUIRES: stripe lock of hv held.
  Item** BucketLocked(uint64_t hv) const;
  void Publish(std::unique_ptr<Layout> layout);

  uint32_t nstripes_;
  std::unique_ptr<Stripe[]> stripes_;
  std::atomic<uint64_t> count_{0};
  std::atomic<const Layout*> layout_{nullptr};
  std::vector<std::unique_ptr<Layout>> layouts_;  // all layouts ever published (maintainer only)
  std::unique_ptr<Item*[]> current_;              // array of the newest layout
  std::unique_ptr<Item*[]> retiring_;             // old array during an expansion
};

}  // namespace mcd::storage
