// The automove policy (`slabs automove 1`, memcached's default): decides, once a second, whether
// one slab page should move and from where to where. A plain type fed with per-class samples, so
// it is tested with made-up figures and no cache; the cache's mover thread feeds it and carries
// out its decisions (see cache_mover.cc).
//
// The rules are memcached's:
//   - Each class keeps a window of the last `window` ticks: whether it evicted in that tick (and
//     its share of all evictions), whether it was "dirty" (evicted, ran out of memory or took a
//     page), and the age of its oldest item.
//   - A class with more than 2.5 pages' worth of free chunks and no dirty tick in its window
//     gives a page to the global pool.
//   - Otherwise, once the window has filled: the youngest class that is evicting (in more than
//     half of the window's ticks, or taking more than a quarter of the evictions on average,
//     and in this tick) gets a page from the oldest class with more than two pages, when the
//     youngest's average age is below `ratio` times the oldest's. Two classes under similar
//     pressure have similar ages, so pages do not bounce between them.
//
// Sampling (mcd's own): memcached samples once a second, at whatever phase its maintainer thread
// happens to wake, so a change of traffic can go unseen for most of a second and the first move
// comes up to a second late. mcd runs `phases` copies of the same window, each sampled once a
// second at its own offset (phase k at k/phases of a second), and asks one of them at every
// sampling tick: the rule is memcached's, judged over whole one-second slots, but it is checked
// `phases` times a second, so its decision comes as soon as any second-aligned window meets it.
// How often moves may follow one another is the caller's (the mover thread's) business.
//
// Thread-safety: none; one thread (the mover) owns it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace mcd::storage {

// One class's figures at one tick; counters are totals since start (the policy takes deltas).
struct AutomoveSample {
  uint64_t evicted = 0;
  uint64_t outofmemory = 0;
  uint64_t total_pages = 0;
  uint64_t free_chunks = 0;
  uint32_t chunks_per_page = 0;
  uint64_t age = 0;  // seconds since the oldest item (at the CLOCK hand) was last used
};

struct AutomoveDecision {
  int src = -1;  // -1: no move
  int dst = -1;  // 0: the global page pool
  bool move() const { return src > 0 && dst >= 0; }
};

class AutomovePolicy {
 public:
  // window: seconds per window (-o slab_automove_window, default 30); ratio: -o
  // slab_automove_ratio (default 0.8); phases: sampling ticks per second (1 = memcached's one
  // tick a second). Classes are ids 1..num_classes.
  AutomovePolicy(int num_classes, int window, double ratio, int phases = 1);

  // One sampling tick (the caller ticks `phases` times a second, evenly spaced): samples[id] for
  // id 1..num_classes (samples[0] unused). Returns the move to make, if any.
  AutomoveDecision Tick(std::span<const AutomoveSample> samples);
  void set_ratio(double ratio) { ratio_ = ratio; }

 private:
  struct Slot {
    bool evicted = false;
    bool dirty = false;
    double evicted_share = 0;
    uint64_t age = 0;
  };
  // One once-a-second window: memcached's policy state.
  struct Phase {
    uint64_t ticks = 0;
    std::vector<Slot> slots;               // window_ slots per class
    std::vector<AutomoveSample> previous;  // the samples of this phase's previous tick
  };
  AutomoveDecision TickPhase(Phase& ph, std::span<const AutomoveSample> samples);

  int num_classes_;
  int window_;
  double ratio_;
  uint64_t ticks_ = 0;
  std::vector<Phase> phases_;
};

}  // namespace mcd::storage
