// The slab page mover: empties one page of a source class and gives it to a destination class
// (or to the global page pool), so that memory follows the workload when item sizes shift.
//
// A move is started by ReassignPage() and advanced by MoveStep(), which the caller repeats (a
// background thread in the server, a loop in tests) until it returns false. One step:
//   1. On the first step the source class's oldest page becomes its moving page
//      (SlabAllocator::BeginMoveLocked): its free chunks leave the free list, it is carved no
//      further, and a chunk freed in it from now on is only marked free.
//   2. Up to kMoveBatch chunks of the page are examined under the source class lock (then the
//      lock is dropped, so workers allocating in the class wait at most one batch):
//        - free: nothing to do;
//        - an item with no reader: a dead one is reclaimed; a live one is rescued into a free
//          chunk of the same class elsewhere (copied whole and put in its place in the hash
//          chain, under its stripe lock) or, when the class has no free chunk, evicted;
//        - a data chunk of a live chunked item: copied into a free chunk of its class elsewhere
//          and the owner's pointer array updated (a chunk rescue); without a free chunk, or for
//          the header chunk of a chunked item (every data chunk names its header), the whole
//          item is evicted (its other chunks live in other pages and classes, freed after the
//          lock is dropped);
//        - an item with a reader, being filled, or whose stripe is locked: busy, looked at
//          again on the next pass.
//      Stripe locks are only try-locked: the lock order is stripe -> class.
//   3. When a whole pass finds every chunk free, the page leaves the source class
//      (FinishMoveLocked) and, after that lock is dropped, joins the destination class with all
//      its chunks on the free list (AdoptPageLocked), or the pool.
// Counters follow memcached's names: slabs_moved, slab_reassign_rescues,
// slab_reassign_inline_reclaim, slab_reassign_evictions_nomem, slab_reassign_chunk_rescues,
// slab_reassign_busy_items.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "cache_impl.h"

namespace mcd::storage {
namespace {

// Chunks examined per hold of the source class lock.
constexpr uint32_t kMoveBatch = 64;

}  // namespace

ReassignResult Cache::Impl::ReassignPage(int src, int dst) {
  // memcached's order of checks: running, same, pick any (-1), range, spare pages.
  std::lock_guard<std::mutex> lock(move_mu);
  if (move.running) return ReassignResult::kBusy;
  if (src == dst) return ReassignResult::kSame;
  if (src == -1) src = PickAnySource(dst);
  if (src < 0 || src > slab.NumClasses() || dst < 0 || dst > slab.NumClasses()) {
    return ReassignResult::kBadClass;
  }
  if (src == 0) {
    // From the global pool: a pool page joins the destination at once.
    if (slab.PoolPages() < 2) return ReassignResult::kNoSpare;
    uint32_t page = slab.TakePoolPage();
    if (page == kNoPage) return ReassignResult::kNoSpare;
    std::lock_guard<std::mutex> class_lock(slab.Mutex(dst));
    slab.AdoptPageLocked(dst, page);
    ++mover.slabs_moved;
    return ReassignResult::kOk;
  }
  {
    std::lock_guard<std::mutex> class_lock(slab.Mutex(src));
    if (slab.ClassLocked(src).npages < 2) return ReassignResult::kNoSpare;
  }
  move = MoveState{};
  move.running = true;
  move.src = src;
  move.dst = dst;
  if (mover_thread.joinable()) mover_wake_cv.notify_one();
  return ReassignResult::kOk;
}

int Cache::Impl::PickAnySource(int dst) {
  // Round robin over the classes that have a page to spare, as memcached's "-1" source does.
  const int n = slab.NumClasses();
  for (int k = 0; k < n; ++k) {
    pick_any_next = pick_any_next % n + 1;
    const int id = pick_any_next;
    if (id == dst) continue;
    std::lock_guard<std::mutex> class_lock(slab.Mutex(id));
    if (slab.ClassLocked(id).npages >= 2) return id;
  }
  return -1;
}

bool Cache::Impl::AutomoveTick(bool* to_pool, bool may_move) {
  if (to_pool != nullptr) *to_pool = false;
  const int mode = automove_mode.load(std::memory_order_relaxed);
  if (mode == 2) {
    // As memcached: every eviction asks for a page from any class with one to spare.
    const int wanted = automove_wanted.exchange(0, std::memory_order_relaxed);
    return wanted > 0 && ReassignPage(-1, wanted) == ReassignResult::kOk;
  }
  if (mode != 1) return false;
  std::vector<AutomoveSample> samples(static_cast<size_t>(slab.NumClasses()) + 1);
  const RelTime now = Now();
  for (int id = 1; id <= slab.NumClasses(); ++id) {
    AutomoveSample& s = samples[static_cast<size_t>(id)];
    std::lock_guard<std::mutex> lock(slab.Mutex(id));
    const SlabClass& c = slab.ClassLocked(id);
    s.evicted = c.events.evicted;
    s.outofmemory = c.events.outofmemory;
    s.total_pages = c.npages;
    s.free_chunks = c.free_count;
    s.chunks_per_page = c.perslab;
    s.age = ClassAgeLocked(id, now);
  }
  automove->set_ratio(automove_ratio.load(std::memory_order_relaxed));
  const AutomoveDecision d = automove->Tick(samples);
  if (!d.move() || (!may_move && d.dst != 0)) return false;
  if (ReassignPage(d.src, d.dst) != ReassignResult::kOk) return false;
  if (to_pool != nullptr) *to_pool = d.dst == 0;
  return true;
}

void Cache::Impl::MoverLoop() {
  using Clock = std::chrono::steady_clock;
  const auto tick_period =
      std::chrono::milliseconds(1000 / std::clamp(opts.automove_phases, 1, 1000));
  const auto min_gap = std::chrono::milliseconds(std::max(opts.automove_min_gap_ms, 0));
  auto next_tick = Clock::now() + tick_period;
  auto next_lru = Clock::now() + std::chrono::seconds(1);
  auto last_move = Clock::now() - min_gap;
  std::unique_lock<std::mutex> lock(mover_wake_mu);
  while (!mover_stop) {
    lock.unlock();
    // Carry out a running move; between passes that met busy items, let their holders go on.
    uint32_t passes = 0;
    while (MoveStep()) {
      std::lock_guard<std::mutex> move_lock(move_mu);
      if (move.passes != passes) {
        passes = move.passes;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (stopping.load(std::memory_order_relaxed)) break;
    }
    const auto now = Clock::now();
    if (now >= next_lru) {
      // The LRU maintainer's tick (segments and dead items), once a second.
      if (opts.lru_segmented || opts.temp_lru) MaintainLru();
      next_lru = now + std::chrono::seconds(1);
    }
    bool started = false;
    if (now >= next_tick) {
      // automove 1: a sampling tick (automove.h: `automove_phases` a second, on a fixed
      // cadence), whose move starts only if the last one started at least min_gap ago (the
      // policy is sampled anyway: its windows must not skip a tick). A page given to the pool
      // is followed by the next decision at once; mode 2 looks for a wanted page every 10 ms.
      bool to_pool = false;
      const int mode = automove_mode.load(std::memory_order_relaxed);
      if (opts.slab_reassign) {
        if (mode == 1) {
          started = AutomoveTick(&to_pool, now - last_move >= min_gap);
        } else {
          started = AutomoveTick(&to_pool);
        }
      }
      if (started && !to_pool) last_move = now;
      if (to_pool) {
        next_tick = now + std::chrono::milliseconds(1);
      } else if (mode == 2) {
        next_tick = now + std::chrono::milliseconds(10);
      } else {
        next_tick += tick_period;
        if (next_tick <= now) next_tick = now + tick_period;  // fell behind: skip, no burst
      }
    }
    lock.lock();
    if (mover_stop) break;
    // A move this thread has just started is carried out at once: its wake-up found no one
    // waiting, and waiting for the next tick would hold it (and the class's page) back.
    if (started) continue;
    mover_wake_cv.wait_until(lock, std::min(next_tick, next_lru));
  }
}

bool Cache::Impl::MoveStep() {
  std::lock_guard<std::mutex> lock(move_mu);
  if (!move.running) return false;
  const RelTime now = Now();
  Item* deferred[kMoveBatch];
  uint32_t ndeferred = 0;
  uint32_t page = kNoPage;
  bool pass_done = false;
  {
    std::lock_guard<std::mutex> class_lock(slab.Mutex(move.src));
    if (move.page == kNoPage) {
      move.page = slab.BeginMoveLocked(move.src);
      if (move.page == kNoPage) {  // the class lost its pages meanwhile
        move.running = false;
        return false;
      }
    }
    const uint32_t n = slab.MovingChunksLocked(move.src);
    for (uint32_t i = 0; i < kMoveBatch && move.next_chunk < n; ++i, ++move.next_chunk) {
      Item* chunk = reinterpret_cast<Item*>(slab.ChunkAt(move.src, move.page, move.next_chunk));
      Item* freed = nullptr;
      switch (EvacuateLocked(move.src, chunk, now, &freed)) {
        case Evacuation::kDone:
          break;
        case Evacuation::kBusy:
          ++mover.busy_items;
          move.busy = true;
          break;
        case Evacuation::kFreedLater:
          deferred[ndeferred++] = freed;
          move.busy = true;  // freed after the lock: check the chunk again
          break;
      }
    }
    if (move.next_chunk == n) {
      if (!move.busy) {
        page = slab.FinishMoveLocked(move.src);
        pass_done = true;
      } else {  // look at the busy chunks again
        move.next_chunk = 0;
        move.busy = false;
        ++move.passes;
      }
    }
  }
  for (uint32_t i = 0; i < ndeferred; ++i) FreeItem(deferred[i]);
  if (!pass_done) return true;
  if (move.dst == 0) {
    slab.ReleasePage(page);
  } else {
    std::lock_guard<std::mutex> class_lock(slab.Mutex(move.dst));
    slab.AdoptPageLocked(move.dst, page);
  }
  ++mover.slabs_moved;
  move.running = false;
  return false;
}

Cache::Impl::Evacuation Cache::Impl::EvacuateLocked(int cls, Item* chunk, RelTime now,
                                                    Item** deferred) {
  const uint8_t cf = chunk->flags();
  if ((cf & kItemFree) != 0) {
    slab.ForgetFreeLocked(cls, chunk);
    return Evacuation::kDone;
  }
  const bool data_chunk = (cf & kItemChunkData) != 0;
  Item* it = data_chunk ? chunk->h_next : chunk;
  if (it == nullptr) return Evacuation::kBusy;
  const uint64_t hv = HashTable::Hash(it->key());
  Stripe& stripe = table.StripeAt(table.StripeIndex(hv));
  std::unique_lock<std::mutex> lock(stripe.mu, std::try_to_lock);
  if (!lock.owns_lock()) return Evacuation::kBusy;
  const uint8_t f = it->flags();
  // Being filled, or being freed by its last reader (which then waits for this class lock).
  if ((f & kItemLinked) == 0 || it->refs() != 1) return Evacuation::kBusy;
  SlabClass& c = slab.ClassLocked(cls);
  LookupResult why;
  const bool dead = IsDead(it, now, &why);
  if (data_chunk && !dead) {
    // A data chunk of a live chunked item: copied into a free chunk of its class elsewhere, and
    // the owner's pointer array then names the copy (no reader holds the item, and a new one
    // needs the stripe lock held here).
    auto* fresh = static_cast<Item*>(slab.TakeChunkLocked(cls, /*may_grow=*/false));
    if (fresh != nullptr) {
      Item** chunks = it->chunks();
      const uint32_t n = it->num_chunks();
      uint32_t k = 0;
      while (k < n && chunks[k] != chunk) ++k;
      if (k < n) {
        std::memcpy(static_cast<void*>(fresh), chunk, sizeof(Item) + uint64_t{chunk->nbytes});
        chunks[k] = fresh;
        slab.ReturnChunkLocked(cls, chunk);
        ++mover.chunk_rescues;
        return Evacuation::kDone;
      }
      slab.ReturnChunkLocked(cls, fresh);  // not the owner's chunk: cannot happen
    }
  }
  if (data_chunk || (f & kItemChunked) != 0) {
    // The header of a chunked item (its data chunks would all need a new owner pointer), or a
    // data chunk with no free chunk to go to: the whole item is evicted, freed after the lock.
    DetachLocked(it, hv, stripe);
    if (dead) {
      ++mover.inline_reclaim;
    } else {
      ++mover.evictions_nomem;
    }
    *deferred = it;
    return Evacuation::kFreedLater;
  }
  if (!dead) {
    auto* fresh = static_cast<Item*>(slab.TakeChunkLocked(cls, /*may_grow=*/false));
    if (fresh != nullptr) {
      // A whole copy takes the item's place in its hash chain; no reader holds the old one.
      std::memcpy(static_cast<void*>(fresh), it, it->total_size());
      table.RemoveLocked(it, hv);
      table.InsertLocked(fresh, hv);
      it->clear_flags(kItemLinked);
      it->set_refs(0);
      slab.ReturnChunkLocked(cls, it);
      ++mover.rescues;
      return Evacuation::kDone;
    }
  }
  DetachLocked(it, hv, stripe);
  if (dead) {
    ++mover.inline_reclaim;
  } else {
    ++mover.evictions_nomem;
  }
  c.mem_requested -= it->total_size();
  slab.ReturnChunkLocked(cls, it);
  return Evacuation::kDone;
}

void Cache::Impl::DetachLocked(Item* it, uint64_t hv, Stripe& stripe) {
  table.RemoveLocked(it, hv);
  stripe.bytes.fetch_sub(it->total_size(), std::memory_order_relaxed);
  lru[slab.ClassOf(it)].items[it->segment()].fetch_sub(1, std::memory_order_relaxed);
  it->clear_flags(kItemLinked);
  it->set_refs(0);
}

ReassignResult Cache::ReassignPage(int src, int dst) { return impl_->ReassignPage(src, dst); }

bool Cache::MoveStep() { return impl_->MoveStep(); }

bool Cache::AutomoveTick() { return impl_->AutomoveTick(); }

void Cache::MaintainLruOnce() { impl_->MaintainLru(); }

void Cache::SetAutomove(int mode) { impl_->automove_mode.store(mode, std::memory_order_relaxed); }

int Cache::Automove() const { return impl_->automove_mode.load(std::memory_order_relaxed); }

MoverStats Cache::MoverCounters() const {
  std::lock_guard<std::mutex> lock(impl_->move_mu);
  MoverStats m = impl_->mover;
  m.running = impl_->move.running;
  return m;
}

void Cache::SetAutomoveRatio(double ratio) {
  impl_->automove_ratio.store(ratio, std::memory_order_relaxed);
}

double Cache::AutomoveRatio() const {
  return impl_->automove_ratio.load(std::memory_order_relaxed);
}

uint64_t Cache::PoolPages() const { return impl_->slab.PoolPages(); }

}  // namespace mcd::storage
