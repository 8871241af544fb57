// Slab allocator: item memory in fixed-size pages, each page cut into equal chunks of one class.
//
// Memory: one contiguous virtual region is reserved with mmap(MAP_NORESERVE) at start-up, so the
// resident size grows only as pages are handed to classes (with `prealloc` every page is touched
// up front). Pages are handed to classes on demand and never returned.
//
//   base                                                                 base + npages*page_size
//   +-----------+-----------+-----------+-----------+-----------+ ... +-----------+
//   | page 0    | page 1    | page 2    | page 3    | (unused)  |     |           |
//   | class 5   | class 12  | class 5   | class 1   |           |     |           |
//   +-----------+-----------+-----------+-----------+-----------+ ... +-----------+
//   page_class_[i] = class of page i   (so a chunk's class is (addr - base) / page_size away)
//   next_page_[i]  = next page of the same class (a per-class singly linked page list)
//
// The limit: pages are handed out while fewer than memory_limit / page_size are in use, except
// that a class with no page at all may always take its first one (memcached does the same, so a
// tiny -m still stores items of every size). The region reserves room for those extra pages.
//
// Classes: class 1 chunks are sizeof(Item) + chunk_min rounded up to 8; each next class is the
// previous times growth_factor, rounded up to 8, until slab_chunk_max; the last class is exactly
// slab_chunk_max. At most kMaxClasses classes, ids 1..N (0 = none).
//
// Within a class, chunks are handed out from the free list first, then carved lazily from the
// class's newest page, then from a new page. Free chunks carry kItemFree and are linked through
// Item::h_next.
//
// Thread-safety: one mutex per class, no global allocator lock. Methods named *Locked require
// the class's mutex (Mutex(id)) to be held. ClassOf(), ChunkSize() and the other geometry
// accessors are lock-free and may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "item_layout.h"

namespace mcd::storage {

inline constexpr int kMaxClasses = 63;

struct SlabOptions {
  uint64_t memory_limit = 64ull << 20;
  uint32_t page_size = 1 << 20;
  uint32_t chunk_min = 48;
  double growth_factor = 1.25;
  uint32_t slab_chunk_max = 0;  // 0 = page_size / 2
  bool prealloc = false;
  std::vector<uint32_t> sizes;  // explicit chunk sizes instead of the factor (may be empty)
  bool large_pages = false;     // madvise(MADV_HUGEPAGE) on the region, before any page is touched
  // Test hook (memcached's T_MEMD_INITIAL_MALLOC): bytes counted as already allocated, against
  // the limit and in total_malloced, so a test can fake a nearly full large memory.
  uint64_t initial_malloced = 0;
};

// Per-class event counters, maintained by the cache's eviction sweep under the class lock.
struct ClassEvents {
  uint64_t evicted = 0;
  uint64_t evicted_nonzero = 0;
  uint64_t evicted_time = 0;
  uint64_t outofmemory = 0;
  uint64_t reclaimed = 0;
  uint64_t expired_unfetched = 0;
  uint64_t evicted_unfetched = 0;
  uint64_t evicted_active = 0;
  uint64_t crawler_reclaimed = 0;
  uint64_t crawler_items_checked = 0;
};

inline constexpr uint32_t kNoPage = UINT32_MAX;

// A position in a class's chunks, walking page by page in the order the pages were added and
// wrapping: the CLOCK hand and the reclaim cursor are two of these.
struct ChunkCursor {
  uint32_t page = kNoPage;
  uint32_t chunk = 0;
};

// Mutable state of one class. Every field is guarded by `mu`.
struct alignas(64) SlabClass {
  std::mutex mu;
  uint32_t size = 0;     // chunk size
  uint32_t perslab = 0;  // chunks per page
  uint32_t first_page = kNoPage;
  uint32_t last_page = kNoPage;  // newest page; carved lazily
  uint32_t carved = 0;           // chunks of last_page handed out so far
  uint64_t npages = 0;
  Item* free_head = nullptr;
  uint64_t free_count = 0;
  uint64_t used_chunks = 0;
  uint64_t mem_requested = 0;
  // The page being emptied by the page mover, or kNoPage. Its chunks are off the free list, it
  // is not carved any further, and a chunk freed in it is only marked free (see slab mover in
  // cache_mover.cc).
  uint32_t moving_page = kNoPage;
  // CLOCK hand: next chunk the eviction sweep examines.
  ChunkCursor hand;
  // Next chunk the reclaim probe examines (expired and flushed items, see cache_memory.cc).
  ChunkCursor reclaim;
  // The background crawler's position and the chunks left in its current round.
  ChunkCursor crawl;
  uint64_t crawl_left = 0;
  ClassEvents events;
};

class SlabAllocator {
 public:
  explicit SlabAllocator(const SlabOptions& options);
  ~SlabAllocator();
  SlabAllocator(const SlabAllocator&) = delete;
  SlabAllocator& operator=(const SlabAllocator&) = delete;

  // --- geometry (lock-free) ----------------------------------------------------------------
  int NumClasses() const { return num_classes_; }
  uint32_t ChunkSize(int id) const { return classes_[id].size; }
  uint32_t PerSlab(int id) const { return classes_[id].perslab; }
  uint32_t LargestChunk() const { return classes_[num_classes_].size; }
  uint32_t PageSize() const { return page_size_; }
  // Smallest class whose chunks hold `bytes`; 0 if larger than the largest chunk.
  int ClassFor(uint64_t bytes) const;
  // Class of the page holding p (p must point into an allocated chunk).
  int ClassOf(const void* p) const;
  // Index of the page holding p.
  uint32_t PageOf(const void* p) const {
    return static_cast<uint32_t>(static_cast<uint64_t>(static_cast<const char*>(p) - base_) /
                                 page_size_);
  }
  uint64_t LimitPages() const { return limit_pages_; }
  uint64_t PagesInUse() const { return pages_used_.load(std::memory_order_relaxed); }
  uint64_t MemoryLimit() const { return memory_limit_; }
  // Bytes of pages handed to classes (plus the initial_malloced test hook).
  uint64_t MallocedBytes() const { return initial_malloced_ + PagesInUse() * page_size_; }
  // memcached's -vv table, one line per class.
  std::string ClassTable() const;

  // --- per-class state -----------------------------------------------------------------------
  std::mutex& Mutex(int id) { return classes_[id].mu; }
  // REQUIRES: Mutex(id) held.
  SlabClass& ClassLocked(int id) { return classes_[id]; }
  const SlabClass& ClassLocked(int id) const { return classes_[id]; }

  // Takes a chunk of class id: free list, then the newest page, then (if `may_grow`) a new page
  // if the memory limit allows. nullptr if none. The chunk is counted used and its kItemFree flag
  // is cleared; the caller must initialize the header before releasing the lock.
  // REQUIRES: Mutex(id) held.
  void* TakeChunkLocked(int id, bool may_grow = true);
  // Whether TakeChunkLocked could still take a new page for class id (a snapshot: another class
  // may take the last page first). REQUIRES: Mutex(id) held.
  bool CanGrowLocked(int id) const {
    uint64_t used = pages_used_.load(std::memory_order_relaxed);
    return used < reserved_pages_ && (classes_[id].npages == 0 || used < limit_pages_);
  }
  // Returns a chunk to the free list of class id. REQUIRES: Mutex(id) held.
  void ReturnChunkLocked(int id, void* chunk);

  // --- page mover (REQUIRES: Mutex(id) held unless said otherwise) --------------------------
  // Starts emptying the class's oldest page: it leaves the free list and is carved no further.
  // Returns the page, or kNoPage if the class has no page (or is already moving one).
  uint32_t BeginMoveLocked(int id);
  // Chunks of the moving page (all of its chunks: the uncarved rest of a newest page is marked
  // free when the move begins); chunk k of it is at ChunkAt(id, page, k).
  uint32_t MovingChunksLocked(int id) const;
  char* ChunkAt(int id, uint32_t page, uint32_t k) const {
    return base_ + uint64_t{page} * page_size_ + uint64_t{k} * classes_[id].size;
  }
  // Takes the (now entirely free) moving page out of the class: off its page list, cursors moved
  // on. The page then belongs to no class; give it to one with AdoptPageLocked, or to the pool
  // with ReleasePage.
  uint32_t FinishMoveLocked(int id);
  // Gives a page that belongs to no class to class id: every chunk goes on its free list.
  void AdoptPageLocked(int id, uint32_t page);
  // Pages that belong to no class (moved to the global pool). Lock-free to read.
  uint64_t PoolPages() const;
  // Puts a page that belongs to no class in the global pool; GrabPageLocked takes pool pages
  // first, even past the memory limit (they are counted already). Thread-safe.
  void ReleasePage(uint32_t page);
  // Takes a page out of the global pool (it then belongs to no class); kNoPage if empty.
  uint32_t TakePoolPage();

  // Returns the chunk under the cursor (the class's `hand` or `reclaim`) and advances it (page by
  // page, in the order pages were added, wrapping). nullptr if the class has no chunk handed out
  // yet. REQUIRES: Mutex(id) held.
  void* AdvanceLocked(int id, ChunkCursor& cursor);
  // Returns the chunk under the cursor without advancing. REQUIRES: Mutex(id) held.
  void* PeekLocked(int id, ChunkCursor& cursor);
  // The same for the CLOCK hand.
  void* AdvanceHandLocked(int id) { return AdvanceLocked(id, classes_[id].hand); }
  void* PeekHandLocked(int id) { return PeekLocked(id, classes_[id].hand); }
  // Chunks of class id that have ever been handed out (full pages + carved part of the newest).
  // REQUIRES: Mutex(id) held.
  uint64_t CarvedChunksLocked(int id) const;
  // The pages of class id, oldest first (for walks that drop the lock between batches).
  // REQUIRES: Mutex(id) held.
  std::vector<uint32_t> PageListLocked(int id) const {
    std::vector<uint32_t> pages;
    for (uint32_t p = classes_[id].first_page; p != kNoPage; p = next_page_[p]) pages.push_back(p);
    return pages;
  }
  // Class a page belongs to now (0: none, e.g. in the global pool). Lock-free.
  int PageClass(uint32_t page) const { return page_class_[page].load(std::memory_order_relaxed); }
  // Chunks handed out in `page` of class id (the newest page is carved lazily).
  // REQUIRES: Mutex(id) held and PageClass(page) == id.
  uint32_t ChunksInPageLocked(int id, uint32_t page) const {
    const SlabClass& c = classes_[id];
    return page == c.last_page ? c.carved : c.perslab;
  }
  // Calls fn(chunk) for every chunk ever handed out in class id (free ones included).
  // REQUIRES: Mutex(id) held.
  template <typename Fn>
  void ForEachChunkLocked(int id, Fn&& fn) const {
    const SlabClass& c = classes_[id];
    for (uint32_t p = c.first_page; p != kNoPage; p = next_page_[p]) {
      uint32_t n = p == c.last_page ? c.carved : c.perslab;
      char* page = base_ + uint64_t{p} * page_size_;
      for (uint32_t k = 0; k < n; ++k) fn(page + uint64_t{k} * c.size);
    }
  }

  // Calls fn(chunk) for chunks starting at the CLOCK hand (without moving it), wrapping, until fn
  // returns true or every handed-out chunk was visited. REQUIRES: Mutex(id) held.
  template <typename Fn>
  void ScanFromHandLocked(int id, Fn&& fn) const {
    const SlabClass& c = classes_[id];
    uint64_t remaining = CarvedChunksLocked(id);
    uint32_t p = c.hand.page;
    uint32_t k = c.hand.chunk;
    while (remaining > 0) {
      uint32_t limit = p == c.last_page ? c.carved : c.perslab;
      if (k >= limit) {
        p = next_page_[p] == kNoPage ? c.first_page : next_page_[p];
        k = 0;
        continue;
      }
      --remaining;
      if (fn(base_ + uint64_t{p} * page_size_ + uint64_t{k} * c.size)) return;
      ++k;
    }
  }

 private:
  // Takes a fresh page for class id; kNoPage when the limit is reached.
  uint32_t GrabPageLocked(int id);

  uint64_t memory_limit_;
  uint64_t initial_malloced_;
  uint32_t page_size_;
  uint64_t limit_pages_;     // pages allowed by the memory limit
  uint64_t reserved_pages_;  // limit_pages_ + one first page per class
  char* base_ = nullptr;
  size_t mapped_bytes_ = 0;
  std::atomic<uint64_t> pages_used_{0};
  std::unique_ptr<std::atomic<uint8_t>[]> page_class_;
  std::unique_ptr<uint32_t[]> next_page_;  // guarded by the owning class's mutex
  std::mutex pool_mu_;
  std::vector<uint32_t> pool_;  // pages of no class, guarded by pool_mu_
  std::atomic<uint64_t> pool_size_{0};
  int num_classes_ = 0;
  std::unique_ptr<SlabClass[]> classes_;  // ids 0..kMaxClasses, 0 unused
};

}  // namespace mcd::storage
