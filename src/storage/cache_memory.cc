// Allocation, eviction (per-class CLOCK) and freeing of items.
//
// Eviction is a per-class CLOCK, a second-chance approximation of LRU. Why not a linked LRU:
// the prev/next links would cost 16 bytes per item, and every hit would have to take a lock to
// relink the item. With CLOCK a hit only sets the item's active bit (an atomic fetch_or, skipped
// when the bit is already set) and refreshes its access time at most once a minute; no lock.
//
// Each class has a hand over its chunks, walking page by page in the order the pages were added.
// When the class has no free chunk and no new page can be had, the sweep starts at the hand:
//   - free chunks are skipped; a data chunk of a chunked item stands for its owner (the header
//     chunk it points to), so memory full of large values can still be evicted;
//   - the victim's stripe lock is try-locked (lock order is stripe -> class, so blocking here
//     could deadlock); a busy stripe skips the item;
//   - an expired or flushed item with no reader is reclaimed (`reclaimed`, `expired_unfetched`);
//   - a live item moves between segments (PassLocked), as memcached's segmented LRU moves items
//     between its hot, warm and cold queues. As in memcached, the first read marks an item
//     fetched and the second active. A new item is hot and leaves hot on the hand's first pass
//     (to warm if active, else to cold); a warm item stays warm while it is read between passes
//     or while warm is within its share (warm_lru_pct), else goes to cold; an active cold item
//     goes to warm (a second read of a cold item moves it at once). Temporary items (TTL within
//     -o temporary_ttl) are never evicted. Only a cold item that is not active is a victim:
//   - a victim with no reader is evicted (`evicted`, `evicted_nonzero`, `evicted_time`,
//     `evicted_unfetched`), unless eviction is off (-M).
// Without segments (-o no_lru_maintainer, no_modern) every item is cold and the CLOCK is plain:
// the active bit (set on a new item and on a hit) is a second chance. The sweep is bounded to
// three full turns of the hand (two without segments) and a number of busy stripes; then the
// allocation fails with kNoMemory (`outofmemory`). Once a second the LRU maintainer
// (MaintainLru, on the mover's thread) frees dead items at the reclaim cursor and moves the
// hand, evicting nothing, while the hot or warm segment is over its share of the class
// (hot_lru_pct, warm_lru_pct), so segments and `moves_*` look as in memcached without memory
// pressure.
//
// Dead items are reused before anything else, as memcached reuses expired items from the tail
// of its LRU before it allocates or evicts. A second cursor per class, the reclaim cursor, walks
// the chunks like the hand but takes only expired or flushed items with no reader, leaves active
// bits alone, and never evicts. Every allocation advances it by a few chunks (kReclaimProbe);
// classes that never held an item with an exptime are skipped until the first flush_all;
// when the class would otherwise take a new page, it looks at up to one page's worth of chunks
// first, so the scan costs a constant per item stored. Items are judged dead from their exptime
// and cas before the key is hashed, so the probe hashes and locks only dead items.
#include <algorithm>
#include <cstring>

#include "cache_impl.h"

namespace mcd::storage {
namespace {

// Busy (try_lock failed) victims tolerated by one sweep before it gives up.
constexpr uint32_t kMaxBusyVictims = 256;
// Rounds of "sweep, free a chunked victim, try again" in one allocation.
constexpr int kMaxAllocRounds = 8;
// Chunks the reclaim probe examines on every allocation in a class that may hold dead items
// (memcached without its background threads looks at five items at the LRU tail; two keep the
// cursor moving faster than items are stored, at less cost per store).
constexpr uint64_t kReclaimProbe = 2;
// Most chunks examined for dead items before a class takes a new page.
constexpr uint64_t kReclaimScanMax = 4096;
// Chunks the LRU maintainer examines per class and cursor in one tick, and per class-lock hold.
constexpr uint64_t kMaintainChunks = 1024;
constexpr uint32_t kMaintainBatch = 64;

void InitChunk(Item* it, const ItemInit& init) {
  it->h_next = init.owner;
  it->cas = 0;
  it->exptime = init.exptime;
  it->time = init.time;
  it->nbytes = init.nbytes;
  it->client_flags = init.client_flags;
  it->refcount = 1;
  it->nkey = static_cast<uint8_t>(init.key.size());
  it->lru = init.lru;
  it->set_chunk_capacity(init.aux);
  if (!init.key.empty()) std::memcpy(it->key_ptr(), init.key.data(), init.key.size());
  // Published last: a sweeper reading the flags under the class lock sees a complete header.
  std::atomic_ref<uint8_t>(it->it_flags).store(init.it_flags);
}

// Bytes of the chunk an item (or data chunk) asks for, for mem_requested.
uint64_t RequestedSize(const Item* it) {
  uint8_t f = it->flags();
  if ((f & kItemChunkData) != 0) return sizeof(Item) + uint64_t{it->nbytes};
  if ((f & kItemChunked) != 0) {
    return Item::ChunkArrayOffset(it->nkey) + uint64_t{it->num_chunks()} * Item::kChunkPointerSize;
  }
  return it->total_size();
}

}  // namespace

AllocResult Cache::Impl::AllocItem(std::string_view key, uint32_t flags, RelTime exptime,
                                   uint32_t nbytes, uint32_t held_stripe, RelTime now, Item** out) {
  *out = nullptr;
  uint64_t total = ItemSizeFor(key.size(), nbytes);
  if (key.size() > kMaxKeyLength || total > item_size_max) return AllocResult::kTooLarge;
  ItemInit init;
  init.key = key;
  init.client_flags = flags;
  init.exptime = exptime;
  init.time = now;
  init.nbytes = nbytes;
  const uint8_t no_cas = opts.use_cas ? 0 : kItemNoCas;
  if (opts.temp_lru && exptime != 0 && exptime - now <= opts.temporary_ttl) {
    init.lru = kLruTemp;  // memcached's temporary LRU: short-lived items are never evicted
    init.it_flags = no_cas;
  } else if (opts.lru_segmented) {
    init.lru = kLruHot;  // a new item's first pass of the hand only moves it out of hot
    init.it_flags = no_cas;
  } else {
    init.lru = kLruCold;  // plain CLOCK: a new item's active bit is its second chance
    init.it_flags = static_cast<uint8_t>(kItemActive | no_cas);
  }

  uint32_t largest = slab.LargestChunk();
  if (total <= largest) {
    Item* it = AllocChunk(slab.ClassFor(total), held_stripe, init, total, now);
    if (it == nullptr) return AllocResult::kNoMemory;
    if (exptime != 0) MarkMayExpire(it);
    *out = it;
    return AllocResult::kOk;
  }

  // Chunked: a header chunk with the key and the data-chunk array, then the data chunks.
  uint32_t cap = largest - static_cast<uint32_t>(sizeof(Item));
  uint32_t region = nbytes + 2;
  uint32_t n = (region + cap - 1) / cap;
  uint64_t header_size = Item::ChunkArrayOffset(key.size()) + uint64_t{n} * Item::kChunkPointerSize;
  int header_cls = slab.ClassFor(header_size);
  if (header_cls == 0) return AllocResult::kTooLarge;
  init.it_flags |= kItemChunked;
  init.aux = cap;
  Item* head = AllocChunk(header_cls, held_stripe, init, header_size, now);
  if (head == nullptr) return AllocResult::kNoMemory;
  Item** chunks = head->chunks();
  for (uint32_t i = 0; i < n; ++i) chunks[i] = nullptr;
  ItemInit data_init;
  data_init.it_flags = kItemChunkData;
  data_init.time = now;
  data_init.owner = head;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t piece = std::min(cap, region - i * cap);
    data_init.nbytes = piece;
    uint64_t need = sizeof(Item) + uint64_t{piece};
    chunks[i] = AllocChunk(slab.ClassFor(need), held_stripe, data_init, need, now);
    if (chunks[i] == nullptr) {
      head->set_refs(0);
      FreeItem(head);
      return AllocResult::kNoMemory;
    }
  }
  if (exptime != 0) MarkMayExpire(head);
  *out = head;
  return AllocResult::kOk;
}

Item* Cache::Impl::AllocChunk(int cls, uint32_t held_stripe, const ItemInit& init,
                              uint64_t requested, RelTime now) {
  for (int round = 0; round < kMaxAllocRounds; ++round) {
    Item* deferred = nullptr;
    {
      std::lock_guard<std::mutex> lock(slab.Mutex(cls));
      SlabClass& c = slab.ClassLocked(cls);
      // Dead memory first, then free memory, then more memory, then eviction: a short probe for
      // a dead item, the free list and the newest page, a long probe before growing (one page's
      // worth of chunks per page taken, so its cost is constant per item), a new page, the sweep.
      const bool may_hold_dead = MayHoldDead(cls);
      Item* it = nullptr;
      if (may_hold_dead) it = ReclaimLocked(cls, held_stripe, now, kReclaimProbe, &deferred);
      if (it == nullptr && deferred == nullptr) {
        it = static_cast<Item*>(slab.TakeChunkLocked(cls, /*may_grow=*/false));
      }
      // (Only when a page could be had: with memory full the sweep below reclaims dead items
      // on its way, and a long probe at every store would only repeat its work.)
      if (it == nullptr && deferred == nullptr && may_hold_dead && slab.CanGrowLocked(cls)) {
        uint64_t budget = std::min<uint64_t>(c.perslab, kReclaimScanMax);
        it = ReclaimLocked(cls, held_stripe, now, budget, &deferred);
      }
      if (it == nullptr && deferred == nullptr) it = static_cast<Item*>(slab.TakeChunkLocked(cls));
      if (it == nullptr && deferred == nullptr) it = SweepLocked(cls, held_stripe, now, &deferred);
      if (it != nullptr) {
        InitChunk(it, init);
        c.mem_requested += requested;
        return it;
      }
      if (deferred == nullptr) {
        ++c.events.outofmemory;
        return nullptr;
      }
    }
    FreeItem(deferred);  // a chunked victim: its chunks span classes, free them unlocked
  }
  std::lock_guard<std::mutex> lock(slab.Mutex(cls));
  ++slab.ClassLocked(cls).events.outofmemory;
  return nullptr;
}

Cache::Impl::Victim Cache::Impl::TryTakeLocked(int cls, Item* chunk, uint32_t held_stripe,
                                               RelTime now, bool dead_only, Item** out,
                                               bool crawler, bool juggle) {
  *out = nullptr;
  uint8_t cf = chunk->flags();
  if ((cf & kItemFree) != 0) return Victim::kSkip;
  // The page mover is emptying this page: nothing may be reused in place there.
  if (slab.PageOf(chunk) == slab.ClassLocked(cls).moving_page) return Victim::kSkip;
  // A data chunk stands for its owner (h_next points to the header chunk). The owner is still
  // allocated: an item frees its data chunks (under this class lock, for this one) before its
  // header chunk. Its key is immutable while allocated.
  Item* it = (cf & kItemChunkData) != 0 ? chunk->h_next : chunk;
  if (it == nullptr) return Victim::kSkip;
  LookupResult why;
  // Unlocked first look, so that a probe for dead items hashes no live key: exptime and cas are
  // read atomically, and the verdict is checked again under the stripe lock.
  if (dead_only && !IsDead(it, now, &why)) return Victim::kSkip;
  uint64_t hv = HashTable::Hash(it->key());
  uint32_t si = table.StripeIndex(hv);
  if (si == held_stripe) return Victim::kBusy;
  Stripe& stripe = table.StripeAt(si);
  std::unique_lock<std::mutex> lock(stripe.mu, std::try_to_lock);
  if (!lock.owns_lock()) return Victim::kBusy;
  uint8_t f = it->flags();
  if ((f & kItemLinked) == 0) return Victim::kSkip;  // being filled or being freed by its owner
  bool dead = IsDead(it, now, &why);
  if (!dead) {
    if (dead_only) return Victim::kSkip;
    if (PassLocked(it, f) || juggle) return Victim::kSkip;
    if (!opts.evict) return Victim::kSkip;
  }
  if (it->refs() != 1) return Victim::kSkip;  // a reader holds it
  ClassEvents& ev = slab.ClassLocked(cls).events;
  if (dead && crawler) {
    ++ev.crawler_reclaimed;
    // As memcached's crawler: an expired item never read counts as expired_unfetched too.
    if ((f & kItemFetched) == 0 && why == LookupResult::kExpired) ++ev.expired_unfetched;
  } else if (dead) {
    ++ev.reclaimed;
    if ((f & kItemFetched) == 0) ++ev.expired_unfetched;
  } else {
    ++ev.evicted;
    if (automove_mode.load(std::memory_order_relaxed) == 2) {
      automove_wanted.store(cls, std::memory_order_relaxed);
    }
    if (it->load_exptime() != 0) ++ev.evicted_nonzero;
    RelTime t = it->load_time();
    ev.evicted_time = now > t ? now - t : 0;
    if ((f & kItemFetched) == 0) ++ev.evicted_unfetched;
  }
  DetachLocked(it, hv, stripe);
  *out = it;
  if ((f & kItemChunked) != 0) return Victim::kTakenChunked;
  slab.ClassLocked(cls).mem_requested -= it->total_size();
  return Victim::kTaken;  // reused in place: still counted as a used chunk
}

bool Cache::Impl::PassLocked(Item* it, uint8_t f) {
  const bool active = (f & kItemActive) != 0;
  if (active) it->clear_flags(kItemActive);
  if (!opts.lru_segmented) return active;  // plain CLOCK: the active bit is the second chance
  LruCounters& l = lru[slab.ClassOf(it)];
  switch (it->segment()) {
    case kLruTemp:
      return true;  // only expiry frees it
    case kLruHot:
      MoveSegment(it, active ? kLruWarm : kLruCold);
      (active ? l.moves_to_warm : l.moves_to_cold).fetch_add(1, std::memory_order_relaxed);
      return true;
    case kLruWarm:
      if (active) {
        l.moves_within_lru.fetch_add(1, std::memory_order_relaxed);
      } else if (l.items[kLruWarm].load(std::memory_order_relaxed) * 100 >
                 l.Items() * opts.warm_lru_pct) {
        // Unread since the last pass, and warm is over its share: to cold (memcached moves its
        // warm tail to cold only then, so warm protects items read twice).
        MoveSegment(it, kLruCold);
        l.moves_to_cold.fetch_add(1, std::memory_order_relaxed);
      }
      return true;
    default:  // cold: read since the last pass (a hit moves it to warm at once), or the victim
      if (!active) return false;
      MoveSegment(it, kLruWarm);
      l.moves_to_warm.fetch_add(1, std::memory_order_relaxed);
      return true;
  }
}

Item* Cache::Impl::ReclaimLocked(int cls, uint32_t held_stripe, RelTime now, uint64_t budget,
                                 Item** deferred) {
  SlabClass& c = slab.ClassLocked(cls);
  budget = std::min(budget, slab.CarvedChunksLocked(cls));
  for (uint64_t step = 0; step < budget; ++step) {
    Item* chunk = static_cast<Item*>(slab.AdvanceLocked(cls, c.reclaim));
    if (chunk == nullptr) break;
    Item* it = nullptr;
    switch (TryTakeLocked(cls, chunk, held_stripe, now, /*dead_only=*/true, &it)) {
      case Victim::kTaken:
        return it;
      case Victim::kTakenChunked:
        *deferred = it;
        return nullptr;
      case Victim::kSkip:
      case Victim::kBusy:
        break;
    }
  }
  return nullptr;
}

Item* Cache::Impl::SweepLocked(int cls, uint32_t held_stripe, RelTime now, Item** deferred) {
  SlabClass& c = slab.ClassLocked(cls);
  // Plain CLOCK needs at most two turns (clear, then evict); the segments three (hot -> warm,
  // warm -> cold, evict).
  uint64_t max_steps = (opts.lru_segmented ? 3 : 2) * slab.CarvedChunksLocked(cls) + 1;
  uint32_t busy = 0;
  for (uint64_t step = 0; step < max_steps; ++step) {
    Item* chunk = static_cast<Item*>(slab.AdvanceLocked(cls, c.hand));
    if (chunk == nullptr) break;
    Item* it = nullptr;
    switch (TryTakeLocked(cls, chunk, held_stripe, now, /*dead_only=*/false, &it)) {
      case Victim::kTaken:
        return it;
      case Victim::kTakenChunked:
        *deferred = it;
        return nullptr;
      case Victim::kBusy:
        if (++busy > kMaxBusyVictims) return nullptr;
        break;
      case Victim::kSkip:
        break;
    }
  }
  return nullptr;
}

void Cache::Impl::MaintainLru() {
  const RelTime now = Now();
  for (int id = 1; id <= slab.NumClasses(); ++id) {
    const LruCounters& l = lru[id];
    const uint64_t items = l.Items();
    if (items == 0) continue;
    const uint64_t hot = l.items[kLruHot].load(std::memory_order_relaxed);
    const uint64_t warm = l.items[kLruWarm].load(std::memory_order_relaxed);
    const bool juggle = opts.lru_segmented && (hot * 100 > items * opts.hot_lru_pct ||
                                               warm * 100 > items * opts.warm_lru_pct);
    const bool reclaim = MayHoldDead(id);
    if (!juggle && !reclaim) continue;
    // Dead items at the reclaim cursor, then the hand while a segment is over its share (the
    // share is looked at once per tick). Each pass examines up to kMaintainChunks chunks (at
    // most the class's), kMaintainBatch per hold of the class lock; a chunked victim is freed
    // after the lock.
    for (int pass = 0; pass < 2; ++pass) {
      if (pass == 0 ? !reclaim : !juggle) continue;
      uint64_t todo = kMaintainChunks;
      while (todo > 0) {
        Item* deferred[kMaintainBatch];
        uint32_t ndeferred = 0;
        {
          std::lock_guard<std::mutex> lock(slab.Mutex(id));
          SlabClass& c = slab.ClassLocked(id);
          todo = std::min(todo, slab.CarvedChunksLocked(id));
          ChunkCursor& cursor = pass == 0 ? c.reclaim : c.hand;
          for (uint32_t i = 0; i < kMaintainBatch && todo > 0; ++i, --todo) {
            Item* chunk = static_cast<Item*>(slab.AdvanceLocked(id, cursor));
            if (chunk == nullptr) {
              todo = 0;
              break;
            }
            Item* it = nullptr;
            switch (TryTakeLocked(id, chunk, kNoStripe, now, /*dead_only=*/pass == 0, &it,
                                  /*crawler=*/false, /*juggle=*/true)) {
              case Victim::kTaken:
                slab.ReturnChunkLocked(id, it);
                break;
              case Victim::kTakenChunked:
                deferred[ndeferred++] = it;
                break;
              case Victim::kSkip:
              case Victim::kBusy:
                break;
            }
          }
        }
        for (uint32_t i = 0; i < ndeferred; ++i) FreeItem(deferred[i]);
      }
    }
  }
  lru_juggles.fetch_add(1, std::memory_order_relaxed);
}

void Cache::Impl::FreeItem(Item* it) {
  if ((it->flags() & kItemChunked) != 0) {
    uint32_t n = it->num_chunks();
    Item** chunks = it->chunks();
    for (uint32_t i = 0; i < n && chunks[i] != nullptr; ++i) {
      Item* chunk = chunks[i];
      int cls = slab.ClassOf(chunk);
      std::lock_guard<std::mutex> lock(slab.Mutex(cls));
      slab.ClassLocked(cls).mem_requested -= RequestedSize(chunk);
      slab.ReturnChunkLocked(cls, chunk);
    }
  }
  int cls = slab.ClassOf(it);
  std::lock_guard<std::mutex> lock(slab.Mutex(cls));
  slab.ClassLocked(cls).mem_requested -= RequestedSize(it);
  slab.ReturnChunkLocked(cls, it);
}

bool Cache::SetMemoryLimit(uint64_t bytes) { return impl_->slab.SetMemoryLimit(bytes); }

uint64_t Cache::MemoryLimit() const { return impl_->slab.MemoryLimit(); }

}  // namespace mcd::storage
