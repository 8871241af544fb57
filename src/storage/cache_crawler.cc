// The background crawler's reclaim: frees expired and flushed items nobody asks for, so their
// memory returns to the free lists (and, through automove, whole quiet pages to the global pool)
// without waiting for a store in their class. memcached's LRU crawler does this job.
//
// A round visits every chunk of every class that may hold dead items (MayHoldDead: it has held
// an item with an exptime, or a flush happened) once, from each class's crawl cursor. The mover
// thread starts a round once a second when none is running and walks it in steps of
// kCrawlBudget chunks per class every few milliseconds, holding a class lock for at most
// kCrawlBatch chunks at a time, so workers allocating in the class wait at most one batch.
// Items are judged dead before their key is hashed (TryTakeLocked), so a step over live items
// costs a header read per chunk.
#include "cache_impl.h"

namespace mcd::storage {
namespace {

// Chunks examined per hold of a class lock.
constexpr uint64_t kCrawlBatch = 64;

}  // namespace

void Cache::Impl::StartCrawlRound() {
  for (int id = 1; id <= slab.NumClasses(); ++id) {
    const bool may = MayHoldDead(id);
    std::lock_guard<std::mutex> lock(slab.Mutex(id));
    SlabClass& c = slab.ClassLocked(id);
    c.crawl_left = may ? slab.CarvedChunksLocked(id) : 0;
  }
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
      }
      for (uint64_t i = 0; i < ndeferred; ++i) FreeItem(deferred[i]);
      if (!left) break;
      if (todo == 0) more = true;
    }
  }
  return more;
}

void Cache::CrawlOnce() {
  impl_->StartCrawlRound();
  while (impl_->CrawlStep(UINT64_MAX)) {
  }
}

}  // namespace mcd::storage
