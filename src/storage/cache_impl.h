// Internals of Cache, shared by cache.cc (domain operations), cache_memory.cc (allocation,
// eviction, freeing) and cache_stats.cc (introspection). Private to src/storage.
//
// Lock order: stripe lock -> class lock. A thread holding a class lock never blocks on a stripe
// lock: the eviction sweep uses try_lock and skips busy victims (and skips the stripe its own
// caller already holds, passed as `held_stripe`, since re-locking it would be undefined).
// No two class locks are ever held at once; no two stripe locks are ever held at once.
//
// Reference counting: being linked in the hash table counts as one reference (kItemLinked marks
// it). Allocate() returns an item with one reference (the caller's). References are added only
// under the item's stripe lock (Get), so a linked item seen with refcount 1 under that lock has
// no reader and can be evicted or rewritten in place. The memory of an item goes back to its
// class when the count drops to 0, which can only happen once it is unlinked.
//
// Flush without a per-item timestamp check: cas uniques come from one counter that increases on
// every store and in-place modification (kept even with -C; the item then reports 0). flush_all
// records the counter's value as a threshold, and an item whose cas is at or below the threshold
// is dead (kFlushed). A delayed flush records its deadline; the first operation that sees the
// clock at or past the deadline arms the threshold (compare_exchange on the deadline, so exactly
// once) before doing anything else. Every item stored before the deadline has a smaller cas, every
// later one a larger cas. With -C, memcached has no cas to draw that line and flushes by the
// second instead (an item whose time is at or before the flush's second is dead); mcd does the
// same there (flush_time), so a set in the same second as the flush is lost, as memcached's is.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string_view>
#include <thread>

#include "automove.h"
#include "hash_table.h"
#include "item_layout.h"
#include "mcd/storage/cache.h"
#include "slab.h"

namespace mcd::storage {

inline constexpr uint32_t kNoStripe = UINT32_MAX;

// Header fields written when a chunk is handed out (under the class lock, so that the eviction
// sweep, which reads keys under the class lock, never sees a half-written header).
struct ItemInit {
  std::string_view key;
  uint32_t client_flags = 0;
  RelTime exptime = 0;
  RelTime time = 0;
  uint32_t nbytes = 0;
  uint8_t it_flags = 0;
  uint8_t lru = kLruHot;
  uint32_t aux = 0;
  Item* owner = nullptr;  // data chunks: the header chunk (kept in h_next)
};

struct Cache::Impl {
  Impl(const CacheOptions& options, const Clock* clock);
  ~Impl();

  // --- time and liveness ------------------------------------------------------------------
  // Current time; first arms a delayed flush whose deadline has passed.
  RelTime Now();
  // Makes every item stored so far dead; `at` is the flush's time (now, or a delayed flush's
  // deadline).
  void ArmFlush(RelTime at);
  // True if expired (exptime reached) or flushed; *why says which.
  bool IsDead(const Item* it, RelTime now, LookupResult* why) const;
  uint64_t NextCas() { return cas_counter.fetch_add(1, std::memory_order_relaxed) + 1; }
  // Gives an item its cas before it is linked (or, under its stripe lock, a new one): the
  // client's (meta E; the item is then flushed by time) or the next one.
  void AssignCas(Item* it, uint64_t client_cas) {
    it->store_cas(client_cas != 0 ? client_cas : NextCas());
    it->set_meta(kMetaClientCas, client_cas != 0);
    // A client's cas says nothing of when the item was stored: the item keeps the flush epoch
    // instead (IsDead), in header bytes only chunked items use: an unchunked item in its own
    // header, a chunked one in the header of its first data chunk.
    if (client_cas != 0) {
      FlushEpochHolder(it)->set_chunk_capacity(flush_epoch.load(std::memory_order_acquire) &
                                               kFlushEpochMask);
    }
  }
  // The header whose spare bytes hold a client-cas item's flush epoch (see AssignCas).
  static Item* FlushEpochHolder(Item* it) {
    return (it->flags() & kItemChunked) == 0 ? it : it->chunks()[0];
  }
  static const Item* FlushEpochHolder(const Item* it) {
    return (it->flags() & kItemChunked) == 0 ? it : it->chunks()[0];
  }

  // Get / GetAndTouch: a hit comes back with a reference.
  Item* Lookup(std::string_view key, uint64_t hv, bool touch, RelTime exptime,
               LookupResult* result);

  // --- hash-table side (REQUIRES: stripe lock of hv held) ---------------------------------
  // The live item for key; a dead one is unlinked and reported as absent.
  Item* FindLiveLocked(std::string_view key, uint64_t hv, RelTime now, LookupResult* why);
  // Links an item that holds the caller's reference; adds the table's reference.
  void LinkLocked(Item* it, uint64_t hv, RelTime now);
  // Unlinks and drops the table's reference (freeing the item if it was the last).
  void UnlinkLocked(Item* it, uint64_t hv);
  void ReplaceLocked(Item* old, Item* with, uint64_t hv, RelTime now);
  // Sets an item's exptime (touch, gat) and marks its classes as holding expiring items.
  void SetExptime(Item* it, RelTime exptime);
  // Marks the classes of an item's chunks as holding expiring items.
  void MarkMayExpire(const Item* it);
  // Whether the reclaim probe could find anything dead in class cls.
  bool MayHoldDead(int cls) const {
    return class_may_expire[cls].load(std::memory_order_relaxed) ||
           flush_cas.load(std::memory_order_relaxed) != 0 ||
           flush_time.load(std::memory_order_relaxed) != 0;
  }
  // Marks a hit and refreshes the access time (at most once per kTimeUpdateInterval). With the
  // segments, as memcached: the first read sets the fetched bit, the second the active bit, and
  // an active cold item moves to warm (memcached's bump out of its cold LRU). Without them, any
  // read sets both.
  // REQUIRES: the item's stripe lock held.
  void Bump(Item* it, RelTime now);
  // Moves an item to segment `to`, keeping the per-class segment counts. REQUIRES: the item's
  // stripe lock held.
  void MoveSegment(Item* it, uint8_t to) {
    const uint8_t from = it->segment();
    if (from == to) return;
    LruCounters& l = lru[slab.ClassOf(it)];
    l.items[from].fetch_sub(1, std::memory_order_relaxed);
    l.items[to].fetch_add(1, std::memory_order_relaxed);
    it->set_segment(to);
  }
  // The CLOCK hand passes a live item: it moves between segments (hot -> warm or cold, warm ->
  // cold, cold -> warm when read) and loses its active bit. Returns true if the item stays; false
  // for a cold item not read since the last pass: the victim. REQUIRES: stripe lock held.
  bool PassLocked(Item* it, uint8_t flags);
  // The LRU maintainer's tick (background thread, once a second): per class, frees dead items at
  // the reclaim cursor, and moves the hand (without evicting) while the hot or warm segment is
  // over its share, as memcached's maintainer juggles its LRUs.
  void MaintainLru();

  // --- memory (cache_memory.cc) -----------------------------------------------------------
  // Allocates an item (chunked if needed) with one reference. held_stripe: the stripe lock the
  // caller holds, or kNoStripe.
  AllocResult AllocItem(std::string_view key, uint32_t flags, RelTime exptime, uint32_t nbytes,
                        uint32_t held_stripe, RelTime now, Item** out);
  // One chunk of class cls, initialized from init; evicts if needed. nullptr if none.
  Item* AllocChunk(int cls, uint32_t held_stripe, const ItemInit& init, uint64_t requested,
                   RelTime now);
  // What TryTakeLocked made of one chunk under a cursor.
  enum class Victim : uint8_t {
    kSkip,          // free, not linked, alive (second chance), or held by a reader
    kBusy,          // its stripe is locked by someone else (or by the caller)
    kTaken,         // unlinked and counted; its chunk is ready for reuse
    kTakenChunked,  // a chunked item, unlinked and counted: free it after the class lock
  };
  // Examines one chunk of class cls for reuse: a dead item (expired or flushed) is reclaimed;
  // unless dead_only, a live one is evicted when its active bit is clear (and cleared when
  // set). *out receives the item taken. REQUIRES: class lock of cls held.
  // `crawler`: counted as the background crawler's reclaim (crawler_reclaimed).
  // `juggle`: the maintainer's pass: segment moves and dead items only, nothing evicted.
  Victim TryTakeLocked(int cls, Item* chunk, uint32_t held_stripe, RelTime now, bool dead_only,
                       Item** out, bool crawler = false, bool juggle = false);
  // Reclaim probe: examines up to `budget` chunks at the class's reclaim cursor and takes the
  // first dead item with no reader (`reclaimed`, `expired_unfetched`). A chunked one comes back
  // through *deferred. REQUIRES: class lock of cls held.
  Item* ReclaimLocked(int cls, uint32_t held_stripe, RelTime now, uint64_t budget, Item** deferred);
  // CLOCK sweep for class cls. Returns a reclaimed chunk ready for reuse, or nullptr; a chunked
  // victim is unlinked and handed back through *deferred to be freed after the class lock is
  // dropped. REQUIRES: class lock of cls held.
  Item* SweepLocked(int cls, uint32_t held_stripe, RelTime now, Item** deferred);
  // Returns the memory of an unlinked item with no references.
  void FreeItem(Item* it);
  void Release(Item* it) {
    if (it->decref() == 0) FreeItem(it);
  }

  // --- page mover (cache_mover.cc) ---------------------------------------------------------
  ReassignResult ReassignPage(int src, int dst);
  // Advances the running move; false when none is running (any more).
  bool MoveStep();
  // One automove sampling tick and the move it decides on; *to_pool says it gave a page to the
  // pool (then the next one comes at once, as memcached does). With may_move false the policy
  // is sampled but a move between classes is not started (too soon after the last one).
  bool AutomoveTick(bool* to_pool = nullptr, bool may_move = true);
  void MoverLoop();
  // --- background crawler (cache_crawler.cc) ------------------------------------------------
  // Adds classes to the crawl round: with `due_only`, those of class_mask that may hold dead
  // items and whose scheduled crawl is due (or a flush happened); else every class of
  // class_mask. True if a class with chunks was added. Crawler thread (or tests) only.
  bool StartCrawlRound(uint64_t class_mask, bool due_only);
  // A class's walk in the round has ended: schedules its next one. REQUIRES: its class lock.
  void EndClassCrawl(int id, const ClassEvents& ev, RelTime now);
  // Walks up to `budget` chunks in all, a batch per class in turn, of the classes in the round,
  // freeing dead items to the free list. True while some class has chunks left in the round.
  bool CrawlStep(uint64_t budget);
  // The crawler thread: scheduled rounds once a second while enabled, requested crawls at once,
  // paced by crawler_sleep_us.
  void CrawlerLoop();
  // A source class for `slabs reassign -1 DST`, or -1. REQUIRES: move_mu held.
  int PickAnySource(int dst);
  // Seconds since the item nearest after the CLOCK hand was used (stats items `age`).
  // REQUIRES: class lock of id held.
  uint64_t ClassAgeLocked(int id, RelTime now) const;
  enum class Evacuation : uint8_t {
    kDone,        // the chunk is free now
    kBusy,        // a reader, a filler or a locked stripe: try again on the next pass
    kFreedLater,  // a chunked item was detached: free *deferred after the class lock
  };
  // Empties one chunk of the moving page of class cls. REQUIRES: class lock of cls held.
  Evacuation EvacuateLocked(int cls, Item* chunk, RelTime now, Item** deferred);
  // Takes a linked item with no reader out of the table and its counts; its memory is the
  // caller's to reuse or free. REQUIRES: the item's stripe lock held.
  void DetachLocked(Item* it, uint64_t hv, Stripe& stripe);

  // --- maintenance ------------------------------------------------------------------------
  bool MaintainOnce();
  void MaybeWakeMaintainer();
  void MaintainerLoop();

  CacheOptions opts;
  const Clock* clock;
  SlabAllocator slab;
  uint64_t item_size_max;  // -I (the page size when not given)
  HashTable table;

  std::atomic<uint64_t> cas_counter{0};
  std::atomic<uint64_t> flush_cas{0};      // items with cas <= this are flushed
  std::atomic<RelTime> flush_deadline{0};  // pending delayed flush, 0 = none
  // Without cas (-C) flush_all is by the second, as in memcached: items stored (or last bumped)
  // at or before this time are dead too, even those stored in the flush's own second after it.
  // 0 = none; only written with -C.
  std::atomic<RelTime> flush_time{0};
  // Flushes armed so far (24 bits kept by client-cas items, see AssignCas).
  std::atomic<uint32_t> flush_epoch{0};
  static constexpr uint32_t kFlushEpochMask = 0xffffff;
  // Linked items per class and segment, and the moves between segments (memcached's names).
  struct alignas(64) LruCounters {
    std::array<std::atomic<uint64_t>, kLruSegments> items{};
    std::atomic<uint64_t> moves_to_cold{0};
    std::atomic<uint64_t> moves_to_warm{0};
    std::atomic<uint64_t> moves_within_lru{0};
    uint64_t Items() const {
      uint64_t n = 0;
      for (const auto& s : items) n += s.load(std::memory_order_relaxed);
      return n;
    }
  };
  std::array<LruCounters, kMaxClasses + 1> lru{};
  std::atomic<uint64_t> lru_juggles{0};  // maintainer ticks (lru_maintainer_juggles)
  // Sticky per class: an item with an exptime has been stored in (or touched into) the class,
  // so it may hold expired items. Until then, and until the first flush_all, the reclaim probe
  // skips the class: a cache used without exptimes pays nothing for it.
  std::array<std::atomic<bool>, kMaxClasses + 1> class_may_expire{};

  // The running page move, guarded by move_mu (one at a time, as memcached).
  struct MoveState {
    bool running = false;
    bool busy = false;  // this pass met a chunk it could not empty yet
    int src = 0;
    int dst = 0;  // 0: the global page pool
    uint32_t page = kNoPage;
    uint32_t next_chunk = 0;
    uint32_t passes = 0;
  };
  std::mutex move_mu;
  MoveState move;
  MoverStats mover;       // guarded by move_mu
  int pick_any_next = 0;  // guarded by move_mu
  std::atomic<double> automove_ratio{0.8};
  std::atomic<int> automove_mode{1};
  std::unique_ptr<AutomovePolicy> automove;  // mode 1; owned by the ticking thread
  // Mode 2 (aggressive): the class that evicted last wants a page from any class.
  std::atomic<int> automove_wanted{0};
  // The crawler's schedule per class, owned by the thread that crawls (cache_crawler.cc).
  struct CrawlSchedule {
    RelTime next = 0;  // 0: not looked at yet
    RelTime wait = 0;
    bool in_round = false;
    uint64_t items_left = 0;  // items this round may still examine (lru_crawler_tocrawl)
    uint64_t checked_before = 0;
    uint64_t reclaimed_before = 0;
  };
  std::array<CrawlSchedule, kMaxClasses + 1> crawl_schedule{};
  std::atomic<uint64_t> flush_count{0};  // flushes armed so far (a flush makes every class due)
  uint64_t crawl_flushes_seen = 0;
  int crawl_next_class = 1;  // CrawlStep's first class next time (round robin)
  // Crawler settings and counters (lru_crawler enable/disable/sleep/tocrawl, stats).
  std::atomic<bool> crawler_enabled{true};
  std::atomic<uint32_t> crawler_sleep_us{100};
  std::atomic<uint32_t> crawler_tocrawl{0};
  std::atomic<uint64_t> crawler_starts{0};
  std::atomic<int> item_walks{0};  // ItemWalks alive (they count as running crawls)
  // Requests to the crawler thread, guarded by crawler_mu.
  mutable std::mutex crawler_mu;
  std::condition_variable crawler_cv;
  uint64_t crawl_request = 0;    // classes asked for, not taken into the round yet
  bool crawl_requested = false;  // a requested crawl is pending or running (kBusy)
  bool crawl_round = false;      // a round (requested or scheduled) is running
  bool crawler_stop = false;
  std::thread crawler_thread;
  std::mutex mover_wake_mu;
  std::condition_variable mover_wake_cv;
  bool mover_stop = false;  // guarded by mover_wake_mu
  std::thread mover_thread;

  std::mutex maintain_mu;  // serializes MaintainOnce
  std::mutex wake_mu;
  std::condition_variable wake_cv;
  bool wake = false;  // guarded by wake_mu
  bool stop = false;  // guarded by wake_mu
  std::atomic<bool> stopping{false};
  std::atomic<bool> wake_signaled{false};
  std::thread maintainer;
};

// Copies len bytes of value region between items (either may be chunked).
void CopyValueRegion(Item* dst, uint32_t dst_off, const Item* src, uint32_t src_off, uint32_t len);

}  // namespace mcd::storage
