// Slab allocator: item memory in fixed-size pages, each page cut into equal chunks of one class.
//
// Memory: one contiguous range of address space is reserved at start-up (mmap PROT_NONE,
// MAP_NORESERVE: no memory, no commit charge), large enough for the limit to grow at run time
// (SetMemoryLimit, `cache_memlimit`) without ever moving a page. A page is made readable and
// writable (mprotect) when it is first handed out, so memory is committed only as it is used
// (with `prealloc` the pages of the start-up limit are made accessible and touched up front).
//
//   base                                                        base + reserved_pages*page_size
//   +-----------+-----------+-----------+-----------+-----------+ ... +---------------------+
//   | page 0    | page 1    | page 2    | page 3    | page 4    |     | never handed out    |
//   | class 5   | pool      | released  | class 1   | class 5   |     | (PROT_NONE)         |
//   +-----------+-----------+-----------+-----------+-----------+ ... +---------------------+
//   page_class_[i] = class of page i   (so a chunk's class is (addr - base) / page_size away)
//   next_page_[i]  = next page of the same class (a per-class singly linked page list)
//   Both arrays are sized for the whole reservation, mapped lazily (untouched entries cost
//   nothing) and written only when a page joins a class.
//
// A page is in one of four states: in a class; in the global pool (belongs to no class, still
// counted in total_malloced); released (its memory given back to the OS, PROT_NONE again, not
// counted; its index is reused before a never-used one, which keeps the mapping dense); or never
// handed out. Pages counted = pages in classes + pages in the pool (PagesInUse).
//
// The limit: a new page is handed out while fewer than limit pages are counted, except that a
// class with no page at all may take its first one as long as fewer than limit + one page per
// class are counted (memcached does the same, so a tiny -m still stores items of every size). The
// pool is used first, even at the limit: its pages are counted already. After the limit is
// lowered, the pages above it are given back as they become free: pool pages at once, then every
// page that reaches the pool while more pages than the limit are counted (the mover's automove
// sends the pages of classes with many free chunks there). Classes do not grow meanwhile, as the
// pool is always empty while over the limit.
//
// Classes: class 1 chunks are sizeof(Item) + chunk_min rounded up to 8; each next class is the
// previous times growth_factor, rounded up to 8, until slab_chunk_max; the last class is exactly
// slab_chunk_max. At most kMaxClasses classes, ids 1..N (0 = none).
//
// Within a class, chunks are handed out from the free list first, then carved lazily from the
// class's newest page, then from a new page. Free chunks carry kItemFree; those on the free list
// also kItemFreeListed, doubly linked through Item::h_next and Item::cas (the previous chunk's
// address), so that any chunk leaves the list in O(1).
//
// Thread-safety: one mutex per class, no global allocator lock on the chunk path. Methods named
// *Locked require the class's mutex (Mutex(id)) to be held. ClassOf(), ChunkSize() and the other
// geometry accessors are lock-free and may be called from any thread. Pages themselves (new
// pages, the pool, released pages, the limit) are guarded by one pages mutex, taken after a
// class mutex when a class grows, never before one.
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

inline constexpr int kMaxClasses = kMaxSlabClassId;  // util/limits.h

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
  // Address space to reserve for pages, which bounds how far SetMemoryLimit can raise the limit
  // (0: kDefaultReserveBytes or twice the limit, whichever is larger; never less than the
  // start-up limit needs). Less is taken when the system refuses that much.
  uint64_t reserve_bytes = 0;
};

// Default address space reserved for pages: the limit can grow to about this at run time.
inline constexpr uint64_t kDefaultReserveBytes = 256ull << 30;
// At most this many pages are reserved (bounds the page index arrays with small pages).
inline constexpr uint64_t kMaxReservePages = 1ull << 22;

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
  // The page being emptied by the page mover, or kNoPage. Its free chunks leave the free list as
  // the mover meets them (or when one reaches the head of the list, never to be handed out), it
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
  // First byte of page `page` (readable only while the page is in a class or the pool).
  const char* PageAddress(uint32_t page) const { return base_ + uint64_t{page} * page_size_; }
  uint64_t LimitPages() const { return limit_pages_.load(std::memory_order_relaxed); }
  // Pages counted against the limit: in classes or in the pool.
  uint64_t PagesInUse() const { return pages_used_.load(std::memory_order_relaxed); }
  // Pages the address-space reservation holds.
  uint64_t ReservedPages() const { return reserved_pages_; }
  uint64_t MemoryLimit() const { return memory_limit_.load(std::memory_order_relaxed); }
  // Bytes of pages in classes and the pool (plus the initial_malloced test hook).
  uint64_t MallocedBytes() const { return initial_malloced_ + PagesInUse() * page_size_; }
  // Changes the memory limit (bytes) at run time. Raising it lets classes take more pages;
  // lowering it gives the pool's pages back to the OS at once, and every page that reaches the
  // pool later while over the limit. False (nothing changed) with `prealloc`, or when the
  // reservation cannot hold the new limit. Thread-safe.
  bool SetMemoryLimit(uint64_t bytes);
  // More pages are counted than the limit allows (after SetMemoryLimit lowered it).
  bool OverLimit() const { return PagesInUse() > LimitPages(); }
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
    if (pool_size_.load(std::memory_order_relaxed) != 0) return true;
    const uint64_t used = PagesInUse();
    const uint64_t limit = LimitPages();
    return used < limit || (classes_[id].npages == 0 && used < limit + FirstPageAllowance());
  }
  // Returns a chunk to the free list of class id. REQUIRES: Mutex(id) held.
  void ReturnChunkLocked(int id, void* chunk);
  // Takes a free chunk of the moving page off the free list if it is still on it (the mover
  // calls this for every free chunk it meets). REQUIRES: Mutex(id) held.
  void ForgetFreeLocked(int id, void* chunk);

  // --- page mover (REQUIRES: Mutex(id) held unless said otherwise) --------------------------
  // Starts emptying the class's oldest page: none of its chunks is handed out any more, and it is
  // carved no further. O(1) (the page's free chunks leave the free list lazily).
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
  // first, even past the memory limit (they are counted already). While more pages are counted
  // than the limit allows, the page's memory is given back to the OS instead (it is no longer
  // counted, and its index is reused by a later new page). Thread-safe.
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
  int PageClass(uint32_t page) const {
    return std::atomic_ref<uint8_t>(page_class_[page]).load(std::memory_order_relaxed);
  }
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
  // The doubly linked free list (next in h_next, previous in cas). REQUIRES: the class's mutex.
  void PushFreeLocked(SlabClass& c, Item* it);
  void UnlinkFreeLocked(SlabClass& c, Item* it);
  // Takes a page for class id (the pool's first, then a new one); kNoPage when the limit is
  // reached.
  uint32_t GrabPageLocked(int id);
  // Reserves the address space and the page index arrays (end of the constructor).
  void Reserve(const SlabOptions& options);
  // Pages allowed by a memory limit of `bytes`.
  uint64_t LimitPagesFor(uint64_t bytes) const;
  // Pages past the limit that classes may take as their first page.
  uint64_t FirstPageAllowance() const { return static_cast<uint64_t>(num_classes_); }
  // A page index not counted yet, made readable and writable (a released one first, then a
  // never-used one); kNoPage when the limit (first: a class's first page) or the OS refuses.
  // REQUIRES: pages_mu_ held.
  uint32_t NewPageLocked(bool first);
  // Gives a page's memory back to the OS and stops counting it. REQUIRES: pages_mu_ held.
  void GiveBackLocked(uint32_t page);

  std::atomic<uint64_t> memory_limit_;
  uint64_t initial_malloced_;
  uint32_t page_size_;
  bool prealloc_ = false;
  bool large_pages_ = false;
  std::atomic<uint64_t> limit_pages_{0};  // pages allowed by the memory limit
  uint64_t reserved_pages_ = 0;           // pages the address-space reservation holds
  char* base_ = nullptr;
  size_t mapped_bytes_ = 0;
  // Counted pages (in classes or the pool); changed under pages_mu_, read anywhere.
  std::atomic<uint64_t> pages_used_{0};
  // Page index arrays over the whole reservation, in one lazily mapped block (index_bytes_).
  // page_class_ entries are read lock-free (std::atomic_ref); next_page_ entries are guarded by
  // the owning class's mutex.
  uint8_t* page_class_ = nullptr;
  uint32_t* next_page_ = nullptr;
  void* index_ = nullptr;
  size_t index_bytes_ = 0;
  std::mutex pages_mu_;         // guards what follows, and changes of pages_used_ and the limit
  std::vector<uint32_t> pool_;  // pages of no class, still counted
  std::atomic<uint64_t> pool_size_{0};
  std::vector<uint32_t> released_;  // indices whose memory was given back, reused first
  uint64_t fresh_pages_ = 0;        // pages [0, fresh_pages_) have been handed out before
  uint64_t accessible_pages_ = 0;   // pages [0, accessible_pages_) are mapped read/write (prealloc)
  int num_classes_ = 0;
  std::unique_ptr<SlabClass[]> classes_;  // ids 0..kMaxClasses, 0 unused
};

}  // namespace mcd::storage
