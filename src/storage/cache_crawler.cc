// The LRU crawler: frees expired and flushed items nobody asks for, so their memory returns to the
// free lists (and, through automove, whole quiet pages to the global pool) without waiting for a
// store in their class; and walks the live items for `lru_crawler metadump` and `mgdump`.
//
// Reclaim runs on the crawler thread (CrawlerLoop). A round visits the chunks of the classes it
// takes in once, each from its crawl cursor, at most `lru_crawler_tocrawl` items per class (0: no
// limit). The thread walks a round in steps of kCrawlsPerSleep chunks, a batch of at most
// kCrawlBatch chunks per class in turn under that class's lock, and pauses `lru_crawler_sleep`
// microseconds after each step (0: no pause), so a worker allocating in a class waits at most one
// batch and the crawler's share of the machine follows the setting as in memcached.
//
// Two kinds of round:
// - scheduled (while the crawler is enabled, looked at once a second): only classes that may hold
//   dead items (MayHoldDead), each when its next crawl is due; after a crawl that freed at least
//   1% of what it saw the next comes 5 s later, otherwise the wait doubles from 60 s up to an
//   hour. A flush_all makes every class due at once. (So a store right after an item expires
//   usually reuses it itself, counted in `reclaimed`, as memcached's tests expect.)
// - requested (`lru_crawler crawl`): every class named, at once; a scheduled round under way
//   takes them in. Until it has finished, another request is answered BUSY.
// Items are judged dead before their key is hashed (TryTakeLocked), so a step over live items
// costs a header read per chunk.
//
// Item walks (ItemWalk, for the dumps) do not involve the crawler thread: the connection's own
// worker runs them batch by batch as its output drains (handler/session.cc).
#include <algorithm>
#include <chrono>
#include <cstring>

#include "cache_impl.h"

namespace mcd::storage {
namespace {

// Chunks examined per hold of a class lock.
constexpr uint64_t kCrawlBatch = 64;
// Chunks examined between two pauses of lru_crawler_sleep (memcached's crawls_persleep).
constexpr uint64_t kCrawlsPerSleep = 1000;
// Seconds between crawls of a class: after one that paid off, the first, and the longest.
constexpr RelTime kCrawlWaitMin = 5;
constexpr RelTime kCrawlWaitFirst = 60;
constexpr RelTime kCrawlWaitMax = 3600;

uint64_t AllClasses() { return ~uint64_t{0}; }

}  // namespace

bool Cache::Impl::StartCrawlRound(uint64_t class_mask, bool due_only) {
  const RelTime now = Now();
  const uint64_t flushes = flush_count.load(std::memory_order_relaxed);
  const bool flushed = flushes != crawl_flushes_seen;
  if (due_only) crawl_flushes_seen = flushes;
  const uint32_t tocrawl = crawler_tocrawl.load(std::memory_order_relaxed);
  bool started = false;
  for (int id = 1; id <= slab.NumClasses(); ++id) {
    CrawlSchedule& sched = crawl_schedule[id];
    if (sched.next == 0) {  // first look: the first crawl is a minute away, as in memcached
      sched.wait = kCrawlWaitFirst;
      sched.next = now + kCrawlWaitFirst;
    }
    if (((class_mask >> id) & 1) == 0) continue;
    if (due_only && (!MayHoldDead(id) || !(flushed || now >= sched.next))) continue;
    std::lock_guard<std::mutex> lock(slab.Mutex(id));
    SlabClass& c = slab.ClassLocked(id);
    c.crawl_left = slab.CarvedChunksLocked(id);
    if (c.crawl_left == 0) continue;
    started = true;
    sched.in_round = true;
    sched.items_left = tocrawl == 0 ? UINT64_MAX : tocrawl;
    sched.checked_before = c.events.crawler_items_checked;
    sched.reclaimed_before = c.events.crawler_reclaimed;
  }
  return started;
}

void Cache::Impl::EndClassCrawl(int id, const ClassEvents& ev, RelTime now) {
  CrawlSchedule& sched = crawl_schedule[id];
  sched.in_round = false;
  // (`stats reset` may have cleared the counters during the round.)
  const uint64_t seen = ev.crawler_items_checked >= sched.checked_before
                            ? ev.crawler_items_checked - sched.checked_before
                            : ev.crawler_items_checked;
  const uint64_t freed = ev.crawler_reclaimed >= sched.reclaimed_before
                             ? ev.crawler_reclaimed - sched.reclaimed_before
                             : ev.crawler_reclaimed;
  if (freed > 0 && freed >= seen / 100) {
    sched.wait = kCrawlWaitMin;
  } else {
    sched.wait = std::min<RelTime>(sched.wait < kCrawlWaitFirst ? kCrawlWaitFirst : sched.wait * 2,
                                   kCrawlWaitMax);
  }
  sched.next = now + sched.wait;
}

bool Cache::Impl::CrawlStep(uint64_t budget) {
  const RelTime now = Now();
  const int n = slab.NumClasses();
  bool progress = true;
  while (budget > 0 && progress) {
    progress = false;
    for (int k = 0; k < n && budget > 0; ++k) {
      const int id = (crawl_next_class - 1 + k) % n + 1;
      CrawlSchedule& sched = crawl_schedule[id];
      if (!sched.in_round) continue;
      Item* deferred[kCrawlBatch];
      uint64_t ndeferred = 0;
      {
        std::lock_guard<std::mutex> lock(slab.Mutex(id));
        SlabClass& c = slab.ClassLocked(id);
        for (uint64_t i = 0; i < kCrawlBatch && budget > 0 && c.crawl_left > 0; ++i) {
          --budget;
          --c.crawl_left;
          Item* chunk = static_cast<Item*>(slab.AdvanceLocked(id, c.crawl));
          if (chunk == nullptr) {
            c.crawl_left = 0;
            break;
          }
          if ((chunk->flags() & kItemFree) != 0) continue;
          ++c.events.crawler_items_checked;
          if (--sched.items_left == 0) c.crawl_left = 0;
          Item* it = nullptr;
          switch (TryTakeLocked(id, chunk, kNoStripe, now, /*dead_only=*/true, &it,
                                /*crawler=*/true)) {
            case Victim::kTaken:
              slab.ReturnChunkLocked(id, it);  // to the free list, not reused here
              break;
            case Victim::kTakenChunked:
              deferred[ndeferred++] = it;
              break;
            case Victim::kSkip:
            case Victim::kBusy:
              break;
          }
        }
        if (c.crawl_left == 0) {
          EndClassCrawl(id, c.events, now);
        } else {
          progress = true;
        }
      }
      for (uint64_t i = 0; i < ndeferred; ++i) FreeItem(deferred[i]);
    }
  }
  crawl_next_class = crawl_next_class % n + 1;
  for (int id = 1; id <= n; ++id) {
    if (crawl_schedule[id].in_round) return true;
  }
  return false;
}

void Cache::Impl::CrawlerLoop() {
  using SteadyClock = std::chrono::steady_clock;
  auto next_tick = SteadyClock::now() + std::chrono::seconds(1);
  bool crawling = false;
  std::unique_lock<std::mutex> lock(crawler_mu);
  while (!crawler_stop) {
    const uint64_t request = crawl_request;
    crawl_request = 0;
    const auto now = SteadyClock::now();
    const bool tick = now >= next_tick;
    if (tick) next_tick = now + std::chrono::seconds(1);
    lock.unlock();
    if (request != 0) {
      StartCrawlRound(request, /*due_only=*/false);
      crawling = true;
    } else if (!crawling && tick && crawler_enabled.load(std::memory_order_relaxed) &&
               StartCrawlRound(AllClasses(), /*due_only=*/true)) {
      crawler_starts.fetch_add(1, std::memory_order_relaxed);
      crawling = true;
    }
    if (crawling) crawling = CrawlStep(kCrawlsPerSleep);
    lock.lock();
    crawl_round = crawling;
    if (!crawling && crawl_request == 0) crawl_requested = false;
    if (crawler_stop) break;
    if (crawling) {
      const uint32_t us = crawler_sleep_us.load(std::memory_order_relaxed);
      if (us > 0) crawler_cv.wait_for(lock, std::chrono::microseconds(us));
    } else {
      crawler_cv.wait_until(lock, next_tick, [this] { return crawler_stop || crawl_request != 0; });
    }
  }
}

CrawlResult Cache::RequestCrawl(uint64_t class_mask) {
  Impl* d = impl_.get();
  if (!d->crawler_enabled.load(std::memory_order_relaxed)) return CrawlResult::kDisabled;
  {
    std::lock_guard<std::mutex> lock(d->crawler_mu);
    if (d->crawl_requested) return CrawlResult::kBusy;
    if (class_mask == 0) return CrawlResult::kNotStarted;
    d->crawl_request = class_mask;
    d->crawl_requested = true;
  }
  d->crawler_starts.fetch_add(1, std::memory_order_relaxed);
  d->crawler_cv.notify_one();
  return CrawlResult::kOk;
}

bool Cache::CrawlPending() {
  Impl* d = impl_.get();
  uint64_t request = 0;
  {
    std::lock_guard<std::mutex> lock(d->crawler_mu);
    request = d->crawl_request;
    d->crawl_request = 0;
  }
  if (request == 0) return false;
  d->StartCrawlRound(request, /*due_only=*/false);
  while (d->CrawlStep(UINT64_MAX)) {
  }
  std::lock_guard<std::mutex> lock(d->crawler_mu);
  d->crawl_requested = false;
  return true;
}

void Cache::CrawlOnce() {
  impl_->StartCrawlRound(AllClasses(), /*due_only=*/false);
  while (impl_->CrawlStep(UINT64_MAX)) {
  }
}

bool Cache::EnableCrawler() { return !impl_->crawler_enabled.exchange(true); }

void Cache::DisableCrawler() { impl_->crawler_enabled.store(false); }

void Cache::SetCrawlerSleep(uint32_t us) {
  impl_->crawler_sleep_us.store(us, std::memory_order_relaxed);
  impl_->crawler_cv.notify_one();
}

void Cache::SetCrawlerToCrawl(uint32_t items) {
  impl_->crawler_tocrawl.store(items, std::memory_order_relaxed);
}

CrawlerStats Cache::CrawlerCounters() const {
  const Impl* d = impl_.get();
  CrawlerStats s;
  s.enabled = d->crawler_enabled.load(std::memory_order_relaxed);
  s.starts = d->crawler_starts.load(std::memory_order_relaxed);
  s.sleep_us = d->crawler_sleep_us.load(std::memory_order_relaxed);
  s.tocrawl = d->crawler_tocrawl.load(std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(d->crawler_mu);
    s.running = d->crawl_requested || d->crawl_round;
  }
  s.running = s.running || d->item_walks.load(std::memory_order_relaxed) > 0;
  return s;
}

// --- item walks (metadump, mgdump) ---------------------------------------------------------------

struct ItemWalk::State {
  Cache::Impl* impl = nullptr;
  uint64_t class_mask = 0;
  int cls = 0;                  // class being walked; 0 before the first
  std::vector<uint32_t> pages;  // its pages when the walk reached it
  size_t page_index = 0;
  uint32_t chunk = 0;  // next chunk in pages[page_index]
  bool done = false;
  // One batch, copied under the class lock and reported after it.
  struct Entry {
    ItemMeta meta;
    uint8_t nkey = 0;
    char key[kMaxKeyLength];
  };
  std::vector<Entry> batch;

  // Moves to the next class of the mask that has pages; false when there is none.
  bool NextClass() {
    SlabAllocator& slab = impl->slab;
    while (++cls <= slab.NumClasses()) {
      if (((class_mask >> cls) & 1) == 0) continue;
      std::lock_guard<std::mutex> lock(slab.Mutex(cls));
      pages = slab.PageListLocked(cls);
      if (pages.empty()) continue;
      page_index = 0;
      chunk = 0;
      return true;
    }
    return false;
  }

  // Copies the live items among up to `max` chunks at the walk's position into `batch`;
  // returns the number of chunks examined. REQUIRES: the class lock of cls held.
  uint64_t CollectLocked(uint64_t max, RelTime now) {
    SlabAllocator& slab = impl->slab;
    const uint32_t page = pages[page_index];
    if (slab.PageClass(page) != cls) {  // moved away meanwhile
      ++page_index;
      chunk = 0;
      return 1;
    }
    const uint32_t n = slab.ChunksInPageLocked(cls, page);
    uint64_t examined = 0;
    for (; chunk < n && examined < max; ++chunk, ++examined) {
      const Item* it = reinterpret_cast<const Item*>(slab.ChunkAt(cls, page, chunk));
      const uint8_t f = it->flags();
      if ((f & (kItemFree | kItemChunkData)) != 0 || (f & kItemLinked) == 0) continue;
      LookupResult why;
      if (impl->IsDead(it, now, &why)) continue;
      Entry& e = batch.emplace_back();
      e.nkey = it->nkey;
      std::memcpy(e.key, it->key_ptr(), it->nkey);
      e.meta.exptime = it->load_exptime();
      e.meta.last_access = it->load_time();
      e.meta.cas = (f & kItemNoCas) != 0 ? 0 : it->load_cas();
      e.meta.fetched = (f & kItemFetched) != 0;
      e.meta.key_binary = (it->meta() & kMetaKeyBinary) != 0;
      e.meta.class_id = cls;
      e.meta.size = it->total_size();
    }
    if (chunk >= n) {
      ++page_index;
      chunk = 0;
    }
    return std::max<uint64_t>(examined, 1);
  }
};

ItemWalk::ItemWalk(std::unique_ptr<State> state) : s_(std::move(state)) {}

ItemWalk::~ItemWalk() { s_->impl->item_walks.fetch_sub(1, std::memory_order_relaxed); }

bool ItemWalk::Step(uint64_t max_chunks, const std::function<void(const ItemMeta&)>& fn) {
  State& s = *s_;
  SlabAllocator& slab = s.impl->slab;
  while (!s.done && max_chunks > 0) {
    if ((s.cls == 0 || s.page_index >= s.pages.size()) && !s.NextClass()) {
      s.done = true;
      break;
    }
    s.batch.clear();
    {
      const RelTime now = s.impl->Now();
      std::lock_guard<std::mutex> lock(slab.Mutex(s.cls));
      max_chunks -= std::min(max_chunks, s.CollectLocked(std::min(max_chunks, kCrawlBatch), now));
    }
    for (State::Entry& e : s.batch) {
      e.meta.key = std::string_view(e.key, e.nkey);
      fn(e.meta);
    }
  }
  return !s.done;
}

std::unique_ptr<ItemWalk> Cache::WalkItems(uint64_t class_mask) {
  auto state = std::make_unique<ItemWalk::State>();
  state->impl = impl_.get();
  state->class_mask = class_mask;
  state->batch.reserve(kCrawlBatch);
  impl_->item_walks.fetch_add(1, std::memory_order_relaxed);
  impl_->crawler_starts.fetch_add(1, std::memory_order_relaxed);
  return std::unique_ptr<ItemWalk>(new ItemWalk(std::move(state)));
}

}  // namespace mcd::storage
