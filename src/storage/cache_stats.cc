// Cache introspection: stats, class figures, dumps, size histogram.
#include <algorithm>
#include <map>

#include "cache_impl.h"
#include "mcd/storage/cache.h"

namespace mcd::storage {

int Cache::ClassOf(const Item* item) const { return impl_->slab.ClassOf(item); }

int Cache::NumClasses() const { return impl_->slab.NumClasses(); }

uint32_t Cache::ChunkSize(int class_id) const {
  if (class_id < 1 || class_id > impl_->slab.NumClasses()) return 0;
  return impl_->slab.ChunkSize(class_id);
}

std::string Cache::ClassTable() const { return impl_->slab.ClassTable(); }

GlobalStats Cache::Stats() const {
  Impl* d = impl_.get();
  GlobalStats g;
  g.curr_items = d->table.Count();
  for (uint32_t i = 0; i < d->table.NumStripes(); ++i) {
    Stripe& s = d->table.StripeAt(i);
    g.total_items += s.total_items.load(std::memory_order_relaxed);
    g.bytes += s.bytes.load(std::memory_order_relaxed);
  }
  for (int id = 1; id <= d->slab.NumClasses(); ++id) {
    std::lock_guard<std::mutex> lock(d->slab.Mutex(id));
    const SlabClass& c = d->slab.ClassLocked(id);
    if (c.npages > 0) ++g.active_slabs;
    g.evictions += c.events.evicted;
    g.reclaimed += c.events.reclaimed;
    g.expired_unfetched += c.events.expired_unfetched;
    g.evicted_unfetched += c.events.evicted_unfetched;
    g.evicted_active += c.events.evicted_active;
    g.crawler_reclaimed += c.events.crawler_reclaimed;
    g.crawler_items_checked += c.events.crawler_items_checked;
    const Impl::LruCounters& l = d->lru[id];
    g.moves_to_cold += l.moves_to_cold.load(std::memory_order_relaxed);
    g.moves_to_warm += l.moves_to_warm.load(std::memory_order_relaxed);
    g.moves_within_lru += l.moves_within_lru.load(std::memory_order_relaxed);
  }
  g.lru_maintainer_juggles = d->lru_juggles.load(std::memory_order_relaxed);
  g.total_malloced = d->slab.MallocedBytes();
  g.limit_maxbytes = d->slab.MemoryLimit();
  g.hash_power_level = d->table.HashPower();
  g.hash_bytes = d->table.Buckets() * uint64_t{sizeof(void*)};
  g.hash_is_expanding = d->table.Expanding();
  return g;
}

uint64_t Cache::Impl::ClassAgeLocked(int id, RelTime now) const {
  // Approximates the least recently used item by the first linked item at or after the CLOCK
  // hand: the hand has just passed the items it aged out.
  uint64_t age = 0;
  slab.ScanFromHandLocked(id, [&](char* p) {
    const Item* it = reinterpret_cast<const Item*>(p);
    uint8_t f = it->flags();
    if ((f & (kItemFree | kItemChunkData)) != 0 || (f & kItemLinked) == 0) return false;
    RelTime t = it->load_time();
    age = now > t ? now - t : 0;
    return true;
  });
  return age;
}

void Cache::VisitClasses(const std::function<void(const ClassStats&)>& fn) const {
  Impl* d = impl_.get();
  RelTime now = d->clock->Now();
  for (int id = 1; id <= d->slab.NumClasses(); ++id) {
    ClassStats cs;
    {
      std::lock_guard<std::mutex> lock(d->slab.Mutex(id));
      const SlabClass& c = d->slab.ClassLocked(id);
      if (c.npages == 0) continue;
      cs.id = id;
      cs.chunk_size = c.size;
      cs.chunks_per_page = c.perslab;
      cs.total_pages = c.npages;
      cs.total_chunks = c.npages * c.perslab;
      cs.used_chunks = c.used_chunks;
      cs.free_chunks = cs.total_chunks - c.used_chunks;
      cs.free_chunks_end = c.perslab - c.carved;
      cs.mem_requested = c.mem_requested;
      const Impl::LruCounters& l = d->lru[id];
      cs.number_hot = l.items[kLruHot].load(std::memory_order_relaxed);
      cs.number_warm = l.items[kLruWarm].load(std::memory_order_relaxed);
      cs.number_cold = l.items[kLruCold].load(std::memory_order_relaxed);
      cs.number_temp = l.items[kLruTemp].load(std::memory_order_relaxed);
      cs.number = cs.number_hot + cs.number_warm + cs.number_cold + cs.number_temp;
      cs.moves_to_cold = l.moves_to_cold.load(std::memory_order_relaxed);
      cs.moves_to_warm = l.moves_to_warm.load(std::memory_order_relaxed);
      cs.moves_within_lru = l.moves_within_lru.load(std::memory_order_relaxed);
      cs.age = d->ClassAgeLocked(id, now);
      cs.evicted = c.events.evicted;
      cs.evicted_nonzero = c.events.evicted_nonzero;
      cs.evicted_time = c.events.evicted_time;
      cs.outofmemory = c.events.outofmemory;
      cs.reclaimed = c.events.reclaimed;
      cs.expired_unfetched = c.events.expired_unfetched;
      cs.evicted_unfetched = c.events.evicted_unfetched;
      cs.evicted_active = c.events.evicted_active;
      cs.crawler_reclaimed = c.events.crawler_reclaimed;
      cs.crawler_items_checked = c.events.crawler_items_checked;
    }
    fn(cs);
  }
}

void Cache::Dump(int class_id, uint32_t limit,
                 const std::function<void(std::string_view, uint32_t, int64_t)>& fn) const {
  Impl* d = impl_.get();
  if (class_id < 1 || class_id > d->slab.NumClasses()) return;
  RelTime now = d->clock->Now();
  uint32_t shown = 0;
  // fn runs under the class lock: it must not call back into the cache.
  std::lock_guard<std::mutex> lock(d->slab.Mutex(class_id));
  d->slab.ScanFromHandLocked(class_id, [&](char* p) {
    const Item* it = reinterpret_cast<const Item*>(p);
    uint8_t f = it->flags();
    if ((f & (kItemFree | kItemChunkData)) != 0 || (f & kItemLinked) == 0) return false;
    LookupResult why;
    if (d->IsDead(it, now, &why)) return false;
    fn(it->key(), it->nbytes, d->clock->RelToUnix(it->load_exptime()));
    return limit != 0 && ++shown >= limit;
  });
}

void Cache::VisitSizes(const std::function<void(uint32_t, uint64_t)>& fn) const {
  Impl* d = impl_.get();
  std::map<uint32_t, uint64_t> hist;
  for (int id = 1; id <= d->slab.NumClasses(); ++id) {
    std::lock_guard<std::mutex> lock(d->slab.Mutex(id));
    d->slab.ForEachChunkLocked(id, [&](char* p) {
      const Item* it = reinterpret_cast<const Item*>(p);
      uint8_t f = it->flags();
      if ((f & (kItemFree | kItemChunkData)) != 0 || (f & kItemLinked) == 0) return;
      uint64_t size = it->total_size();
      ++hist[static_cast<uint32_t>((size + 31) / 32 * 32)];
    });
  }
  for (const auto& [size, count] : hist) fn(size, count);
}

void Cache::ResetStats() {
  Impl* d = impl_.get();
  for (uint32_t i = 0; i < d->table.NumStripes(); ++i) {
    d->table.StripeAt(i).total_items.store(0, std::memory_order_relaxed);
  }
  for (int id = 1; id <= d->slab.NumClasses(); ++id) {
    std::lock_guard<std::mutex> lock(d->slab.Mutex(id));
    d->slab.ClassLocked(id).events = ClassEvents{};
    Impl::LruCounters& l = d->lru[id];
    l.moves_to_cold.store(0, std::memory_order_relaxed);
    l.moves_to_warm.store(0, std::memory_order_relaxed);
    l.moves_within_lru.store(0, std::memory_order_relaxed);
  }
  d->lru_juggles.store(0, std::memory_order_relaxed);
  d->crawler_starts.store(0, std::memory_order_relaxed);  // lru_crawler_starts, as memcached
}

}  // namespace mcd::storage
