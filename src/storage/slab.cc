#include "slab.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <new>

namespace mcd::storage {
namespace {

uint64_t AlignUp8(uint64_t v) { return (v + 7) & ~uint64_t{7}; }

// Maps `len` bytes of inaccessible, uncommitted address space (at `at` exactly, replacing what
// was there, or anywhere for nullptr).
void* MapNone(void* at, size_t len) {
  const int fixed = at != nullptr ? MAP_FIXED : 0;
  return mmap(at, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | fixed, -1, 0);
}

}  // namespace

SlabAllocator::SlabAllocator(const SlabOptions& options)
    : memory_limit_(options.memory_limit),
      initial_malloced_(options.initial_malloced),
      page_size_(std::max<uint32_t>(options.page_size, 1024) & ~uint32_t{7}),
      prealloc_(options.prealloc),
      large_pages_(options.large_pages),
      classes_(new SlabClass[kMaxClasses + 1]) {
  uint32_t chunk_max = options.slab_chunk_max == 0 ? page_size_ / 2 : options.slab_chunk_max;
  chunk_max = std::min(chunk_max, page_size_) & ~uint32_t{7};
  // Class sizes follow memcached's table exactly: class 1 is memcached's 48-byte item header
  // plus -n (96 bytes with the defaults), each next class the previous times -f (truncated, then
  // aligned to 8), and the list ends before a size that reaches slab_chunk_max / factor; the last
  // class is slab_chunk_max. mcd's own header is smaller (40 bytes), so an item never needs a
  // larger class than in memcached, and tools and tests that name classes by number agree.
  const uint64_t smallest = AlignUp8(kMemcachedItemHeader + options.chunk_min);
  chunk_max = std::max<uint32_t>(chunk_max, static_cast<uint32_t>(smallest));
  double factor = options.growth_factor > 1.0 ? options.growth_factor : 1.01;

  uint64_t size = smallest;
  int id = 0;
  // Explicit sizes (-o slab_sizes): each aligned to 8 and above the previous one, below the
  // largest chunk; the factor is not used.
  for (uint32_t want : options.sizes) {
    uint64_t s = std::max<uint64_t>(AlignUp8(want), sizeof(Item) + 8);
    if (id == kMaxClasses - 1 || s >= chunk_max) break;
    if (id > 0 && s <= classes_[id].size) continue;
    classes_[++id].size = static_cast<uint32_t>(s);
  }
  if (!options.sizes.empty()) size = chunk_max;  // skip the factor loop
  // In double: a huge or infinite factor (memcached accepts -f inf) must end the list, not
  // overflow a conversion to an integer.
  const double end = static_cast<double>(chunk_max) / factor;
  while (id < kMaxClasses - 1 && static_cast<double>(size) < end) {
    const uint64_t aligned = AlignUp8(size);
    if (aligned >= chunk_max) break;
    classes_[++id].size = static_cast<uint32_t>(aligned);
    // Truncated like memcached's unsigned arithmetic; at least 8 more so that a factor barely
    // above 1 still makes progress (memcached repeats the size there).
    size = std::max(static_cast<uint64_t>(static_cast<double>(aligned) * factor), aligned + 8);
  }
  ++id;
  classes_[id].size = chunk_max;
  num_classes_ = id;
  for (int i = 1; i <= num_classes_; ++i) {
    classes_[i].perslab = page_size_ / classes_[i].size;
  }

  Reserve(options);
}

void SlabAllocator::Reserve(const SlabOptions& options) {
  limit_pages_.store(LimitPagesFor(memory_limit_.load(std::memory_order_relaxed)),
                     std::memory_order_relaxed);
  const uint64_t need = LimitPages() + FirstPageAllowance();
  uint64_t want = options.reserve_bytes != 0
                      ? options.reserve_bytes / page_size_
                      : std::max(kDefaultReserveBytes / page_size_, 2 * LimitPages());
  want = std::max(std::min(want, kMaxReservePages), need);
  // PROT_NONE costs neither memory nor commit charge, whatever vm.overcommit_memory says; only
  // address space. Where even that is short (ulimit -v, a sanitizer's layout), take less.
  void* mem = MAP_FAILED;
  for (;;) {
    mem = MapNone(nullptr, want * page_size_);
    if (mem != MAP_FAILED || want == need) break;
    want = std::max(need, want / 2);
  }
  if (mem == MAP_FAILED) throw std::bad_alloc();
  base_ = static_cast<char*>(mem);
  reserved_pages_ = want;
  mapped_bytes_ = want * page_size_;
  // The page index arrays, zero-filled by the kernel and touched only where pages are used: a
  // page's class is 0 until it joins one, and next_page_ is written whenever a page is linked.
  const size_t class_bytes = (reserved_pages_ + 63) & ~uint64_t{63};
  index_bytes_ = class_bytes + reserved_pages_ * sizeof(uint32_t);
  index_ = mmap(nullptr, index_bytes_, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (index_ == MAP_FAILED) {
    index_ = nullptr;
    munmap(base_, mapped_bytes_);
    throw std::bad_alloc();
  }
  page_class_ = static_cast<uint8_t*>(index_);
  next_page_ = reinterpret_cast<uint32_t*>(static_cast<char*>(index_) + class_bytes);
  // A hint only: without transparent huge pages the region simply keeps normal pages.
  if (large_pages_) madvise(base_, mapped_bytes_, MADV_HUGEPAGE);
  if (prealloc_) {
    accessible_pages_ = LimitPages();
    const uint64_t bytes = accessible_pages_ * page_size_;
    if (bytes != 0 && mprotect(base_, bytes, PROT_READ | PROT_WRITE) != 0) {
      munmap(index_, index_bytes_);
      munmap(base_, mapped_bytes_);
      throw std::bad_alloc();
    }
    for (uint64_t off = 0; off < bytes; off += 4096) base_[off] = 0;
  }
}

SlabAllocator::~SlabAllocator() {
  if (base_ != nullptr) munmap(base_, mapped_bytes_);
  if (index_ != nullptr) munmap(index_, index_bytes_);
}

uint64_t SlabAllocator::LimitPagesFor(uint64_t bytes) const {
  if (initial_malloced_ == 0) return std::max<uint64_t>(1, (bytes + page_size_ - 1) / page_size_);
  // Whole pages that still fit under the limit next to the faked allocation.
  return bytes > initial_malloced_ ? (bytes - initial_malloced_) / page_size_ : 0;
}

bool SlabAllocator::SetMemoryLimit(uint64_t bytes) {
  // As memcached: memory laid out in advance is not resized.
  if (prealloc_) return false;
  const uint64_t pages = LimitPagesFor(bytes);
  if (pages > reserved_pages_ - FirstPageAllowance()) return false;
  std::lock_guard<std::mutex> lock(pages_mu_);
  memory_limit_.store(bytes, std::memory_order_relaxed);
  limit_pages_.store(pages, std::memory_order_relaxed);
  while (!pool_.empty() && pages_used_.load(std::memory_order_relaxed) > pages) {
    GiveBackLocked(pool_.back());
    pool_.pop_back();
  }
  pool_size_.store(pool_.size(), std::memory_order_relaxed);
  return true;
}

int SlabAllocator::ClassFor(uint64_t bytes) const {
  if (bytes > LargestChunk()) return 0;
  // Binary search over the increasing chunk sizes.
  int lo = 1, hi = num_classes_;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (classes_[mid].size >= bytes) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

int SlabAllocator::ClassOf(const void* p) const {
  uint64_t off = static_cast<uint64_t>(static_cast<const char*>(p) - base_);
  return std::atomic_ref<uint8_t>(page_class_[off / page_size_]).load(std::memory_order_relaxed);
}

std::string SlabAllocator::ClassTable() const {
  std::string out;
  char line[96];
  for (int i = 1; i <= num_classes_; ++i) {
    int n = std::snprintf(line, sizeof(line), "slab class %3d: chunk size %9u perslab %7u\n", i,
                          classes_[i].size, classes_[i].perslab);
    out.append(line, static_cast<size_t>(n));
  }
  return out;
}

uint32_t SlabAllocator::TakePoolPage() {
  if (pool_size_.load(std::memory_order_relaxed) == 0) return kNoPage;
  std::lock_guard<std::mutex> lock(pages_mu_);
  if (pool_.empty()) return kNoPage;
  uint32_t page = pool_.back();
  pool_.pop_back();
  pool_size_.store(pool_.size(), std::memory_order_relaxed);
  return page;
}

uint32_t SlabAllocator::NewPageLocked(bool first) {
  const uint64_t used = pages_used_.load(std::memory_order_relaxed);
  const uint64_t limit = LimitPages();
  if (used >= limit && !(first && used < limit + FirstPageAllowance())) return kNoPage;
  const bool reuse = !released_.empty();
  uint32_t page;
  if (reuse) {
    page = released_.back();
  } else if (fresh_pages_ < reserved_pages_) {
    page = static_cast<uint32_t>(fresh_pages_);
  } else {
    return kNoPage;  // (not reached: the limit keeps first pages within the reservation)
  }
  if (reuse) {
    // Commits the page (under vm.overcommit_memory=2 this is where the commit limit bites).
    if (mprotect(base_ + uint64_t{page} * page_size_, page_size_, PROT_READ | PROT_WRITE) != 0) {
      return kNoPage;
    }
  } else if (page >= accessible_pages_) {
    // Fresh pages are taken in order: open the rest of the 2 MB huge-page frame as well, so that
    // the frame's first fault can be served with one transparent huge page (a frame half
    // PROT_NONE never can). The next fresh pages of the frame are then already accessible.
    constexpr uint64_t kHuge = uint64_t{2} << 20;
    char* start = base_ + uint64_t{page} * page_size_;
    const uint64_t start_addr = reinterpret_cast<uintptr_t>(start);
    uint64_t len = page_size_;
    if (large_pages_ && page_size_ < kHuge && kHuge % page_size_ == 0) {
      const uint64_t frame_end = (start_addr + kHuge) & ~(kHuge - 1);
      len = std::min<uint64_t>(frame_end - start_addr, (reserved_pages_ - page) * page_size_);
      len = std::max<uint64_t>(len, page_size_);
    }
    if (mprotect(start, len, PROT_READ | PROT_WRITE) != 0) return kNoPage;
    accessible_pages_ = page + len / page_size_;
  }
  if (reuse) {
    released_.pop_back();
  } else {
    ++fresh_pages_;
  }
  pages_used_.store(used + 1, std::memory_order_relaxed);
  return page;
}

void SlabAllocator::GiveBackLocked(uint32_t page) {
  char* p = base_ + uint64_t{page} * page_size_;
  // Replacing the page with a fresh PROT_NONE mapping frees its memory and its commit charge.
  // Should the kernel refuse (the map count limit, locked memory), the memory is still freed.
  if (MapNone(p, page_size_) == MAP_FAILED) {
    munlock(p, page_size_);
    madvise(p, page_size_, MADV_DONTNEED);
    mprotect(p, page_size_, PROT_NONE);
  } else if (large_pages_) {
    madvise(p, page_size_, MADV_HUGEPAGE);
  }
  released_.push_back(page);
  pages_used_.store(pages_used_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

uint32_t SlabAllocator::GrabPageLocked(int id) {
  SlabClass& c = classes_[id];
  uint32_t page = TakePoolPage();
  if (page == kNoPage) {
    std::lock_guard<std::mutex> lock(pages_mu_);
    page = NewPageLocked(c.npages == 0);
    if (page == kNoPage) return kNoPage;
  }
  std::atomic_ref<uint8_t>(page_class_[page])
      .store(static_cast<uint8_t>(id), std::memory_order_relaxed);
  next_page_[page] = kNoPage;
  if (c.last_page == kNoPage) {
    c.first_page = page;
    c.hand = ChunkCursor{page, 0};
    c.reclaim = ChunkCursor{page, 0};
    c.crawl = ChunkCursor{page, 0};
  } else {
    next_page_[c.last_page] = page;
  }
  c.last_page = page;
  c.carved = 0;
  ++c.npages;
  return page;
}

void SlabAllocator::PushFreeLocked(SlabClass& c, Item* it) {
  std::atomic_ref<uint8_t>(it->it_flags).store(kItemFree | kItemFreeListed);
  it->h_next = c.free_head;
  it->cas = 0;
  if (c.free_head != nullptr) c.free_head->cas = reinterpret_cast<uintptr_t>(it);
  c.free_head = it;
  ++c.free_count;
}

void SlabAllocator::UnlinkFreeLocked(SlabClass& c, Item* it) {
  Item* prev = reinterpret_cast<Item*>(static_cast<uintptr_t>(it->cas));
  Item* next = it->h_next;
  if (prev != nullptr) {
    prev->h_next = next;
  } else {
    c.free_head = next;
  }
  if (next != nullptr) next->cas = reinterpret_cast<uintptr_t>(prev);
  std::atomic_ref<uint8_t>(it->it_flags).store(kItemFree);
  --c.free_count;
}

void SlabAllocator::ForgetFreeLocked(int id, void* chunk) {
  Item* it = static_cast<Item*>(chunk);
  if ((it->flags() & kItemFreeListed) != 0) UnlinkFreeLocked(classes_[id], it);
}

void* SlabAllocator::TakeChunkLocked(int id, bool may_grow) {
  SlabClass& c = classes_[id];
  Item* it = c.free_head;
  // Free chunks of the page being moved leave the list lazily, here or when the mover meets them.
  while (it != nullptr && c.moving_page != kNoPage && PageOf(it) == c.moving_page) {
    UnlinkFreeLocked(c, it);
    it = c.free_head;
  }
  if (it != nullptr) {
    UnlinkFreeLocked(c, it);
  } else {
    if (c.last_page == kNoPage || c.carved == c.perslab || c.last_page == c.moving_page) {
      if (!may_grow || GrabPageLocked(id) == kNoPage) return nullptr;
    }
    it = reinterpret_cast<Item*>(base_ + uint64_t{c.last_page} * page_size_ +
                                 uint64_t{c.carved} * c.size);
    ++c.carved;
  }
  it->h_next = nullptr;
  it->cas = 0;
  std::atomic_ref<uint8_t>(it->it_flags).store(0);
  ++c.used_chunks;
  return it;
}

void SlabAllocator::ReturnChunkLocked(int id, void* chunk) {
  SlabClass& c = classes_[id];
  Item* it = static_cast<Item*>(chunk);
  --c.used_chunks;
  if (c.moving_page != kNoPage && PageOf(chunk) == c.moving_page) {
    std::atomic_ref<uint8_t>(it->it_flags).store(kItemFree);  // the mover collects it
    return;
  }
  PushFreeLocked(c, it);
}

uint64_t SlabAllocator::CarvedChunksLocked(int id) const {
  const SlabClass& c = classes_[id];
  if (c.npages == 0) return 0;
  return (c.npages - 1) * c.perslab + c.carved;
}

void* SlabAllocator::PeekLocked(int id, ChunkCursor& cur) {
  SlabClass& c = classes_[id];
  if (cur.page == kNoPage) return nullptr;
  uint32_t limit = cur.page == c.last_page ? c.carved : c.perslab;
  if (cur.chunk >= limit) {
    // Past the carved part of the newest page, or the end of a full page: wrap or move on.
    uint32_t next = next_page_[cur.page];
    cur.page = next == kNoPage ? c.first_page : next;
    cur.chunk = 0;
    if (cur.page == c.last_page && c.carved == 0) return nullptr;
  }
  return base_ + uint64_t{cur.page} * page_size_ + uint64_t{cur.chunk} * c.size;
}

void* SlabAllocator::AdvanceLocked(int id, ChunkCursor& cur) {
  void* p = PeekLocked(id, cur);
  if (p != nullptr) ++cur.chunk;
  return p;
}

uint32_t SlabAllocator::BeginMoveLocked(int id) {
  SlabClass& c = classes_[id];
  if (c.first_page == kNoPage || c.moving_page != kNoPage) return kNoPage;
  const uint32_t page = c.first_page;
  c.moving_page = page;
  if (page == c.last_page) {
    // Mark the uncarved rest free, so that the whole page reads as carved and a page grabbed
    // after it cannot make never-written chunks look handed out.
    for (uint32_t k = c.carved; k < c.perslab; ++k) {
      std::atomic_ref<uint8_t>(reinterpret_cast<Item*>(ChunkAt(id, page, k))->it_flags)
          .store(kItemFree);
    }
    c.carved = c.perslab;
  }
  // The page's free chunks leave the free list lazily (ForgetFreeLocked as the mover meets them,
  // or TakeChunkLocked when one reaches the head): no walk of the whole list under the lock.
  return page;
}

uint32_t SlabAllocator::MovingChunksLocked(int id) const {
  const SlabClass& c = classes_[id];
  return c.moving_page == kNoPage ? 0 : c.perslab;
}

uint32_t SlabAllocator::FinishMoveLocked(int id) {
  SlabClass& c = classes_[id];
  const uint32_t page = c.moving_page;
  if (page == kNoPage) return kNoPage;
  uint32_t prev = kNoPage;
  for (uint32_t p = c.first_page; p != page; p = next_page_[p]) prev = p;
  const uint32_t next = next_page_[page];
  if (prev == kNoPage) {
    c.first_page = next;
  } else {
    next_page_[prev] = next;
  }
  if (c.last_page == page) {
    c.last_page = prev;
    c.carved = c.perslab;  // every page before the newest is fully carved
  }
  --c.npages;
  // Cursors on the page move to the start of the next one (or wrap to the first).
  for (ChunkCursor* cur : {&c.hand, &c.reclaim, &c.crawl}) {
    if (cur->page == page) *cur = ChunkCursor{next == kNoPage ? c.first_page : next, 0};
  }
  if (c.first_page == kNoPage) {
    c.last_page = kNoPage;
    c.carved = 0;
    c.hand = ChunkCursor{};
    c.reclaim = ChunkCursor{};
    c.crawl = ChunkCursor{};
  }
  next_page_[page] = kNoPage;
  std::atomic_ref<uint8_t>(page_class_[page]).store(0, std::memory_order_relaxed);
  c.moving_page = kNoPage;
  return page;
}

void SlabAllocator::AdoptPageLocked(int id, uint32_t page) {
  SlabClass& c = classes_[id];
  std::atomic_ref<uint8_t>(page_class_[page])
      .store(static_cast<uint8_t>(id), std::memory_order_relaxed);
  // Fully carved, every chunk on the free list. It goes just before the newest page (which must
  // stay last: it is carved lazily), so that the next move out of this class takes the class's
  // oldest page, not the one it was just given.
  if (c.first_page == kNoPage || c.first_page == c.last_page) {
    next_page_[page] = c.first_page;
    c.first_page = page;
  } else {
    uint32_t before = c.first_page;
    while (next_page_[before] != c.last_page) before = next_page_[before];
    next_page_[page] = c.last_page;
    next_page_[before] = page;
  }
  if (c.last_page == kNoPage) {
    c.last_page = page;
    c.carved = c.perslab;
    c.hand = ChunkCursor{page, 0};
    c.reclaim = ChunkCursor{page, 0};
    c.crawl = ChunkCursor{page, 0};
  }
  ++c.npages;
  for (uint32_t k = c.perslab; k-- > 0;)
    PushFreeLocked(c, reinterpret_cast<Item*>(ChunkAt(id, page, k)));
}

uint64_t SlabAllocator::PoolPages() const { return pool_size_.load(std::memory_order_relaxed); }

void SlabAllocator::ReleasePage(uint32_t page) {
  std::lock_guard<std::mutex> lock(pages_mu_);
  if (pages_used_.load(std::memory_order_relaxed) > LimitPages()) {
    GiveBackLocked(page);
    return;
  }
  pool_.push_back(page);
  pool_size_.store(pool_.size(), std::memory_order_relaxed);
}

}  // namespace mcd::storage
