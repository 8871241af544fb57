// The background crawler's reclaim: frees expired and flushed items nobody asks for, so their
// memory returns to the free lists (and, through automove, whole quiet pages to the global pool)
// without waiting for a store in their class. memcached's LRU crawler does this job.
//
// A round visits every chunk of the classes it takes in once, from each class's crawl cursor.
// The mover thread starts one once a second when none is running, and walks it in steps of
// kCrawlBudget chunks per class every few milliseconds, holding a class lock for at most
// kCrawlBatch chunks at a time, so workers allocating in the class wait at most one batch.
//
// Which classes a round takes in follows memcached's schedule in spirit: only classes that may
// hold dead items (MayHoldDead), each when its next crawl is due; after a crawl that freed at
// least 1% of what it saw the next comes 5 s later, otherwise the wait doubles from 60 s up to
// an hour. A flush_all makes every class due at once. (So a store right after an item expires
// usually reuses it itself, counted in `reclaimed`, as memcached's tests expect.)
// Items are judged dead before their key is hashed (TryTakeLocked), so a step over live items
// costs a header read per chunk.
#include <algorithm>

#include "cache_impl.h"

namespace mcd::storage {
namespace {

// Chunks examined per hold of a class lock.
constexpr uint64_t kCrawlBatch = 64;
// Seconds between crawls of a class: after one that paid off, the first, and the longest.
constexpr RelTime kCrawlWaitMin = 5;
constexpr RelTime kCrawlWaitFirst = 60;
constexpr RelTime kCrawlWaitMax = 3600;

}  // namespace

void Cache::Impl::StartCrawlRound(bool all) {
  const RelTime now = Now();
  const uint64_t flushes = flush_count.load(std::memory_order_relaxed);
  const bool flushed = flushes != crawl_flushes_seen;
  crawl_flushes_seen = flushes;
  for (int id = 1; id <= slab.NumClasses(); ++id) {
    CrawlSchedule& sched = crawl_schedule[id];
    if (sched.next == 0) {  // first look: the first crawl is a minute away, as in memcached
      sched.wait = kCrawlWaitFirst;
      sched.next = now + kCrawlWaitFirst;
    }
    if (!MayHoldDead(id) || !(all || flushed || now >= sched.next)) continue;
    std::lock_guard<std::mutex> lock(slab.Mutex(id));
    SlabClass& c = slab.ClassLocked(id);
    c.crawl_left = slab.CarvedChunksLocked(id);
    sched.in_round = true;
    sched.checked_before = c.events.crawler_items_checked;
    sched.reclaimed_before = c.events.crawler_reclaimed;
  }
}

void Cache::Impl::EndClassCrawl(int id, const ClassEvents& ev, RelTime now) {
  CrawlSchedule& sched = crawl_schedule[id];
  sched.in_round = false;
  const uint64_t seen = ev.crawler_items_checked - sched.checked_before;
  const uint64_t freed = ev.crawler_reclaimed - sched.reclaimed_before;
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
  bool more = false;
  for (int id = 1; id <= slab.NumClasses(); ++id) {
    uint64_t todo = budget;
    while (todo > 0) {
      Item* deferred[kCrawlBatch];
      uint64_t ndeferred = 0;
      bool left = false;
      {
        std::lock_guard<std::mutex> lock(slab.Mutex(id));
        SlabClass& c = slab.ClassLocked(id);
        for (uint64_t i = 0; i < kCrawlBatch && todo > 0 && c.crawl_left > 0; ++i) {
          --todo;
          --c.crawl_left;
          Item* chunk = static_cast<Item*>(slab.AdvanceLocked(id, c.crawl));
          if (chunk == nullptr) {
            c.crawl_left = 0;
            break;
          }
          ++c.events.crawler_items_checked;
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
        left = c.crawl_left > 0;
        if (!left && crawl_schedule[id].in_round) EndClassCrawl(id, c.events, now);
      }
      for (uint64_t i = 0; i < ndeferred; ++i) FreeItem(deferred[i]);
      if (!left) break;
      if (todo == 0) more = true;
    }
  }
  return more;
}

void Cache::CrawlOnce() {
  impl_->StartCrawlRound(/*all=*/true);
  while (impl_->CrawlStep(UINT64_MAX)) {
  }
}

}  // namespace mcd::storage
