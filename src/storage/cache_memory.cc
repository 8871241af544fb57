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
//   - an item with the active bit gets a second chance: the bit is cleared and the hand moves on;
//   - otherwise an item with no reader is evicted (`evicted`, `evicted_nonzero`, `evicted_time`,
//     `evicted_unfetched`), unless eviction is off (-M).
// The sweep is bounded to two full turns of the hand and a number of busy stripes; then the
// allocation fails with kNoMemory (`outofmemory`). New items start with the active bit set.
#include <algorithm>
#include <cstring>

#include "cache_impl.h"

namespace mcd::storage {
namespace {

// Busy (try_lock failed) victims tolerated by one sweep before it gives up.
constexpr uint32_t kMaxBusyVictims = 256;
// Rounds of "sweep, free a chunked victim, try again" in one allocation.
constexpr int kMaxAllocRounds = 8;

void InitChunk(Item* it, const ItemInit& init) {
  it->h_next = init.owner;
  it->cas = 0;
  it->exptime = init.exptime;
  it->time = init.time;
  it->nbytes = init.nbytes;
  it->client_flags = init.client_flags;
  it->refcount = 1;
  it->nkey = static_cast<uint8_t>(init.key.size());
  it->aux = init.aux;
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
  if (key.size() > kMaxKeyLength || total > slab.PageSize()) return AllocResult::kTooLarge;
  ItemInit init;
  init.key = key;
  init.client_flags = flags;
  init.exptime = exptime;
  init.time = now;
  init.nbytes = nbytes;
  init.it_flags = static_cast<uint8_t>(kItemActive | (opts.use_cas ? 0 : kItemNoCas));

  uint32_t largest = slab.LargestChunk();
  if (total <= largest) {
    Item* it = AllocChunk(slab.ClassFor(total), held_stripe, init, total, now);
    if (it == nullptr) return AllocResult::kNoMemory;
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
      Item* it = static_cast<Item*>(slab.TakeChunkLocked(cls));
      if (it == nullptr) it = SweepLocked(cls, held_stripe, now, &deferred);
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

Item* Cache::Impl::SweepLocked(int cls, uint32_t held_stripe, RelTime now, Item** deferred) {
  SlabClass& c = slab.ClassLocked(cls);
  uint64_t max_steps = 2 * slab.CarvedChunksLocked(cls) + 1;
  uint32_t busy = 0;
  for (uint64_t step = 0; step < max_steps; ++step) {
    Item* chunk = static_cast<Item*>(slab.AdvanceHandLocked(cls));
    if (chunk == nullptr) break;
    uint8_t cf = chunk->flags();
    if ((cf & kItemFree) != 0) continue;
    // A data chunk stands for its owner (h_next points to the header chunk). The owner is
    // still allocated: an item frees its data chunks (under this class lock, for this one)
    // before its header chunk. Its key is immutable while allocated.
    Item* it = (cf & kItemChunkData) != 0 ? chunk->h_next : chunk;
    if (it == nullptr) continue;
    uint64_t hv = HashTable::Hash(it->key());
    uint32_t si = table.StripeIndex(hv);
    if (si == held_stripe) {
      if (++busy > kMaxBusyVictims) break;
      continue;
    }
    Stripe& stripe = table.StripeAt(si);
    std::unique_lock<std::mutex> lock(stripe.mu, std::try_to_lock);
    if (!lock.owns_lock()) {
      if (++busy > kMaxBusyVictims) break;
      continue;
    }
    uint8_t f = it->flags();
    if ((f & kItemLinked) == 0) continue;  // being filled or being freed by its owner
    LookupResult why;
    bool dead = IsDead(it, now, &why);
    if (!dead) {
      if ((f & kItemActive) != 0) {
        it->clear_flags(kItemActive);
        continue;
      }
      if (!opts.evict) continue;
    }
    if (it->refs() != 1) continue;  // a reader holds it
    if (dead) {
      ++c.events.reclaimed;
      if ((f & kItemFetched) == 0) ++c.events.expired_unfetched;
    } else {
      ++c.events.evicted;
      if (it->load_exptime() != 0) ++c.events.evicted_nonzero;
      RelTime t = it->load_time();
      c.events.evicted_time = now > t ? now - t : 0;
      if ((f & kItemFetched) == 0) ++c.events.evicted_unfetched;
    }
    table.RemoveLocked(it, hv);
    stripe.bytes.fetch_sub(it->total_size(), std::memory_order_relaxed);
    class_items[slab.ClassOf(it)].fetch_sub(1, std::memory_order_relaxed);
    it->clear_flags(kItemLinked);
    it->set_refs(0);
    if ((f & kItemChunked) != 0) {
      *deferred = it;
      return nullptr;
    }
    c.mem_requested -= it->total_size();
    return it;  // reused in place: still counted as a used chunk
  }
  return nullptr;
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

}  // namespace mcd::storage
