// Cache facade: the domain operations. See cache_impl.h for the lock order, the reference rule
// and the flush mechanism; cache_memory.cc for allocation and eviction.
#include "mcd/storage/cache.h"

#include <algorithm>
#include <cstring>

#include "cache_impl.h"
#include "mcd/storage/item.h"
#include "mcd/util/numbers.h"

namespace mcd::storage {
namespace {

constexpr uint32_t kMigrateBatch = 1024;

SlabOptions ToSlabOptions(const CacheOptions& o) {
  SlabOptions s;
  s.memory_limit = o.memory_limit;
  s.page_size = o.page_size;
  s.chunk_min = o.chunk_min;
  s.growth_factor = o.growth_factor;
  s.sizes = o.slab_sizes;
  s.slab_chunk_max = o.slab_chunk_max;
  s.prealloc = o.prealloc;
  s.large_pages = o.large_pages;
  s.initial_malloced = o.initial_malloced;
  s.reserve_bytes = o.reserve_bytes;
  return s;
}

}  // namespace

// --- Impl --------------------------------------------------------------------------------------

Cache::Impl::Impl(const CacheOptions& options, const Clock* c)
    : opts(options),
      clock(c),
      slab(ToSlabOptions(options)),
      item_size_max(options.item_size_max != 0 ? options.item_size_max : slab.PageSize()),
      table(options.hashpower) {
  automove_mode.store(opts.slab_automove, std::memory_order_relaxed);
  automove_ratio.store(opts.automove_ratio, std::memory_order_relaxed);
  automove = std::make_unique<AutomovePolicy>(slab.NumClasses(), opts.automove_window,
                                              opts.automove_ratio, opts.automove_phases);
  crawler_enabled.store(opts.lru_crawler, std::memory_order_relaxed);
  crawler_sleep_us.store(opts.lru_crawler_sleep, std::memory_order_relaxed);
  crawler_tocrawl.store(opts.lru_crawler_tocrawl, std::memory_order_relaxed);
  if (opts.start_maintainer) maintainer = std::thread([this] { MaintainerLoop(); });
  // The mover's thread also runs the LRU maintainer's tick (cache_memory.cc MaintainLru).
  if (opts.start_maintainer && (opts.slab_reassign || opts.lru_segmented || opts.temp_lru)) {
    mover_thread = std::thread([this] { MoverLoop(); });
  }
  // Started even when the crawler is off: `lru_crawler enable` turns it on at run time.
  if (opts.start_maintainer) crawler_thread = std::thread([this] { CrawlerLoop(); });
}

Cache::Impl::~Impl() {
  if (crawler_thread.joinable()) {
    {
      std::lock_guard<std::mutex> lock(crawler_mu);
      crawler_stop = true;
    }
    crawler_cv.notify_one();
    crawler_thread.join();
  }
  if (mover_thread.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mover_wake_mu);
      mover_stop = true;
    }
    mover_wake_cv.notify_one();
    mover_thread.join();
  }
  if (maintainer.joinable()) {
    {
      std::lock_guard<std::mutex> lock(wake_mu);
      stop = true;
    }
    stopping.store(true, std::memory_order_relaxed);
    wake_cv.notify_one();
    maintainer.join();
  }
}

RelTime Cache::Impl::Now() {
  RelTime now = clock->Now();
  RelTime deadline = flush_deadline.load(std::memory_order_relaxed);
  if (deadline != 0 && now >= deadline &&
      flush_deadline.compare_exchange_strong(deadline, 0, std::memory_order_acq_rel)) {
    ArmFlush(deadline);
  }
  return now;
}

void Cache::Impl::ArmFlush(RelTime at) {
  flush_count.fetch_add(1, std::memory_order_relaxed);
  flush_epoch.fetch_add(1, std::memory_order_acq_rel);
  {
    // By time: items with cas off, and items whose cas the client chose (meta E).
    RelTime cur = flush_time.load(std::memory_order_relaxed);
    while (cur < at && !flush_time.compare_exchange_weak(cur, at, std::memory_order_acq_rel)) {
    }
  }
  uint64_t threshold = cas_counter.load(std::memory_order_acquire);
  uint64_t cur = flush_cas.load(std::memory_order_relaxed);
  while (cur < threshold &&
         !flush_cas.compare_exchange_weak(cur, threshold, std::memory_order_acq_rel)) {
  }
}

bool Cache::Impl::IsDead(const Item* it, RelTime now, LookupResult* why) const {
  RelTime exptime = it->load_exptime();
  if (exptime != 0 && exptime <= now) {
    *why = LookupResult::kExpired;
    return true;
  }
  // Items are flushed by cas order (cas values only grow), by time when cas is off, and by
  // flush epoch when the client chose the item's cas (meta E).
  bool flushed;
  if ((it->meta() & kMetaClientCas) != 0) {
    flushed = FlushEpochHolder(it)->chunk_capacity() !=
              (flush_epoch.load(std::memory_order_acquire) & kFlushEpochMask);
  } else if (opts.use_cas && (it->meta() & kMetaClientCas) == 0) {
    flushed = it->load_cas() <= flush_cas.load(std::memory_order_acquire);
  } else {
    flushed = it->load_time() <= flush_time.load(std::memory_order_acquire);
  }
  if (flushed) {
    *why = LookupResult::kFlushed;
    return true;
  }
  return false;
}

Item* Cache::Impl::FindLiveLocked(std::string_view key, uint64_t hv, RelTime now,
                                  LookupResult* why) {
  Item* it = table.FindLocked(key, hv);
  if (it == nullptr) {
    *why = LookupResult::kMiss;
    return nullptr;
  }
  if (IsDead(it, now, why)) {
    UnlinkLocked(it, hv);
    return nullptr;
  }
  *why = LookupResult::kHit;
  return it;
}

void Cache::Impl::LinkLocked(Item* it, uint64_t hv, RelTime now) {
  it->store_time(now);
  it->incref();
  it->set_flags(kItemLinked);
  table.InsertLocked(it, hv);
  Stripe& s = table.StripeFor(hv);
  s.total_items.fetch_add(1, std::memory_order_relaxed);
  s.bytes.fetch_add(it->total_size(), std::memory_order_relaxed);
  lru[slab.ClassOf(it)].items[it->segment()].fetch_add(1, std::memory_order_relaxed);
}

void Cache::Impl::UnlinkLocked(Item* it, uint64_t hv) {
  table.RemoveLocked(it, hv);
  table.StripeFor(hv).bytes.fetch_sub(it->total_size(), std::memory_order_relaxed);
  lru[slab.ClassOf(it)].items[it->segment()].fetch_sub(1, std::memory_order_relaxed);
  it->clear_flags(kItemLinked);
  Release(it);
}

void Cache::Impl::ReplaceLocked(Item* old, Item* with, uint64_t hv, RelTime now) {
  // Unlink then link keeps the accounting in one place; both run under the same stripe lock, so
  // no lookup sees the key missing.
  UnlinkLocked(old, hv);
  LinkLocked(with, hv, now);
}

void Cache::Impl::SetExptime(Item* it, RelTime exptime) {
  it->store_exptime(exptime);
  if (exptime != 0) MarkMayExpire(it);
}

void Cache::Impl::MarkMayExpire(const Item* it) {
  auto mark = [this](const Item* chunk) {
    std::atomic<bool>& flag = class_may_expire[slab.ClassOf(chunk)];
    if (!flag.load(std::memory_order_relaxed)) flag.store(true, std::memory_order_relaxed);
  };
  mark(it);
  if ((it->flags() & kItemChunked) != 0) {
    // Every data chunk but the last comes from the largest class; the last may be smaller.
    Item* const* chunks = it->chunks();
    uint32_t n = it->num_chunks();
    mark(chunks[0]);
    mark(chunks[n - 1]);
  }
}

void Cache::Impl::Bump(Item* it, RelTime now) {
  constexpr uint8_t kBits = kItemActive | kItemFetched;
  const uint8_t f = it->flags();
  if (!opts.lru_segmented) {
    if ((f & kBits) != kBits) it->set_flags(kBits);  // plain CLOCK: any read is a second chance
  } else if ((f & kItemFetched) == 0) {
    it->set_flags(kItemFetched);  // as memcached: the first read only marks the item fetched
  } else if (it->segment() == kLruCold) {
    // Read again while cold: to warm at once (memcached bumps such an item out of its cold
    // LRU), so it is not the hand's next victim. The active bit is spent on the move.
    MoveSegment(it, kLruWarm);
    lru[slab.ClassOf(it)].moves_to_warm.fetch_add(1, std::memory_order_relaxed);
  } else if ((f & kItemActive) == 0) {
    it->set_flags(kItemActive);
  }
  if (now - it->load_time() >= kTimeUpdateInterval) it->store_time(now);
}

bool Cache::Impl::MaintainOnce() {
  std::lock_guard<std::mutex> lock(maintain_mu);
  if (table.Expanding()) {
    if (table.MigrateSome(kMigrateBatch)) return true;
    return table.NeedsExpansion();
  }
  return opts.hash_expand && table.StartExpansion();
}

void Cache::Impl::MaybeWakeMaintainer() {
  if (!opts.start_maintainer || !opts.hash_expand || !table.NeedsExpansion()) return;
  if (wake_signaled.exchange(true, std::memory_order_acq_rel)) return;
  {
    std::lock_guard<std::mutex> lock(wake_mu);
    wake = true;
  }
  wake_cv.notify_one();
}

void Cache::Impl::MaintainerLoop() {
  std::unique_lock<std::mutex> lock(wake_mu);
  while (true) {
    wake_cv.wait(lock, [this] { return stop || wake; });
    if (stop) return;
    wake = false;
    lock.unlock();
    while (!stopping.load(std::memory_order_relaxed) && MaintainOnce()) {
    }
    wake_signaled.store(false, std::memory_order_release);
    // A store that found the table too full while the flag was still set did not wake us.
    bool again = table.NeedsExpansion();
    lock.lock();
    if (again) wake = true;
  }
}

// --- Cache -------------------------------------------------------------------------------------

Cache::Cache(const CacheOptions& options, const Clock* clock)
    : impl_(std::make_unique<Impl>(options, clock)) {}

Cache::~Cache() = default;

Item* Cache::Impl::Lookup(std::string_view key, uint64_t hv, bool touch, RelTime exptime,
                          LookupResult* result) {
  RelTime now = Now();
  std::lock_guard<std::mutex> lock(table.StripeFor(hv).mu);
  Item* it = FindLiveLocked(key, hv, now, result);
  if (it == nullptr) return nullptr;
  it->incref();
  if (touch) SetExptime(it, exptime);
  Bump(it, now);
  return it;
}

Item* Cache::Get(std::string_view key, LookupResult* result) {
  return impl_->Lookup(key, HashTable::Hash(key), false, 0, result);
}

Item* Cache::GetAndTouch(std::string_view key, RelTime exptime, LookupResult* result) {
  return impl_->Lookup(key, HashTable::Hash(key), true, exptime, result);
}

Cache::KeyHint Cache::Prefetch(std::string_view key) const {
  KeyHint h{HashTable::Hash(key)};
  impl_->table.PrefetchBucket(h.hash);
  return h;
}

void Cache::PrefetchItem(KeyHint hint) const { impl_->table.PrefetchHead(hint.hash); }

Item* Cache::Get(std::string_view key, KeyHint hint, LookupResult* result) {
  return impl_->Lookup(key, hint.hash, false, 0, result);
}

Item* Cache::GetAndTouch(std::string_view key, KeyHint hint, RelTime exptime,
                         LookupResult* result) {
  return impl_->Lookup(key, hint.hash, true, exptime, result);
}

void Cache::Release(Item* item) { impl_->Release(item); }

AllocResult Cache::Allocate(std::string_view key, uint32_t flags, RelTime exptime, uint32_t nbytes,
                            Item** out) {
  RelTime now = impl_->Now();
  return impl_->AllocItem(key, flags, exptime, nbytes, kNoStripe, now, out);
}

StoreResult Cache::Store(Item* item, StoreMode mode, uint64_t cas_unique, uint64_t* cas_out) {
  MetaStoreInfo info;
  const StoreResult r = StoreMeta(item, mode, cas_unique, MetaStoreArgs{}, &info);
  if (r == StoreResult::kStored && cas_out != nullptr) *cas_out = info.cas;
  return r;
}

bool Cache::Delete(std::string_view key) {
  RelTime now = impl_->Now();
  uint64_t hv = HashTable::Hash(key);
  std::lock_guard<std::mutex> lock(impl_->table.StripeFor(hv).mu);
  LookupResult why;
  Item* it = impl_->FindLiveLocked(key, hv, now, &why);
  if (it == nullptr) return false;
  impl_->UnlinkLocked(it, hv);
  return true;
}

DeltaResult Cache::Delta(std::string_view key, bool incr, uint64_t delta, uint64_t* value) {
  MetaDeltaArgs args;
  args.incr = incr;
  args.delta = delta;
  MetaDeltaInfo info;
  const DeltaResult r = MetaDelta(key, args, &info);
  if (r == DeltaResult::kOk) *value = info.value;
  return r;
}

bool Cache::Touch(std::string_view key, RelTime exptime, int* class_id) {
  RelTime now = impl_->Now();
  uint64_t hv = HashTable::Hash(key);
  std::lock_guard<std::mutex> lock(impl_->table.StripeFor(hv).mu);
  LookupResult why;
  Item* it = impl_->FindLiveLocked(key, hv, now, &why);
  if (it == nullptr) return false;
  if (class_id != nullptr) *class_id = impl_->slab.ClassOf(it);
  impl_->SetExptime(it, exptime);
  impl_->Bump(it, now);
  return true;
}

void Cache::FlushAll(RelTime when) {
  RelTime now = impl_->Now();
  if (when == 0 || when <= now) {
    impl_->flush_deadline.store(0, std::memory_order_release);
    impl_->ArmFlush(now);
  } else {
    impl_->flush_deadline.store(when, std::memory_order_release);
  }
}

bool Cache::MaintainOnce() { return impl_->MaintainOnce(); }

}  // namespace mcd::storage
