#include "automove.h"

#include <algorithm>

namespace mcd::storage {
namespace {

// Free chunks beyond this many pages' worth let a quiet class give a page back (memcached: 2.5).
constexpr double kMinPagesForReclaim = 2.5;
// A class gives pages to others only while it has more than this many.
constexpr uint64_t kMinPagesForSource = 2;

}  // namespace

AutomovePolicy::AutomovePolicy(int num_classes, int window, double ratio, int phases)
    : num_classes_(num_classes), window_(std::max(window, 1)), ratio_(ratio) {
  phases_.resize(static_cast<size_t>(std::max(phases, 1)));
  for (Phase& ph : phases_) {
    ph.slots.resize((static_cast<size_t>(num_classes) + 1) * static_cast<size_t>(window_));
    ph.previous.resize(static_cast<size_t>(num_classes) + 1);
  }
}

AutomoveDecision AutomovePolicy::Tick(std::span<const AutomoveSample> samples) {
  Phase& ph = phases_[ticks_ % phases_.size()];
  ++ticks_;
  return TickPhase(ph, samples);
}

AutomoveDecision AutomovePolicy::TickPhase(Phase& ph, std::span<const AutomoveSample> samples) {
  AutomoveDecision out;
  const int n = std::min<int>(num_classes_, static_cast<int>(samples.size()) - 1);
  std::vector<AutomoveSample>& previous = ph.previous;
  auto SlotOf = [&](int id, uint64_t tick) -> Slot& {
    return ph.slots[static_cast<size_t>(id) * static_cast<size_t>(window_) + tick % window_];
  };
  uint64_t evicted_total = 0;
  for (int id = 1; id <= n; ++id) evicted_total += samples[id].evicted - previous[id].evicted;
  const uint64_t ticks = ++ph.ticks;

  int oldest = -1;
  uint64_t oldest_age = 0;
  int youngest = -1;
  uint64_t youngest_age = UINT64_MAX;
  bool youngest_evicting_now = false;
  for (int id = 1; id <= n; ++id) {
    const AutomoveSample& now = samples[id];
    const AutomoveSample& before = previous[id];
    Slot& slot = SlotOf(id, ticks);
    slot = Slot{};
    const uint64_t evicted = now.evicted - before.evicted;
    if (evicted > 0) {
      slot.evicted = true;
      slot.dirty = true;
      slot.evicted_share = static_cast<double>(evicted) / static_cast<double>(evicted_total);
    }
    if (now.outofmemory > before.outofmemory || now.total_pages > before.total_pages) {
      slot.dirty = true;
    }
    slot.age = now.age;

    int evicted_ticks = 0;
    bool dirty = false;
    double share = 0;
    uint64_t age_sum = 0;
    for (int k = 0; k < window_; ++k) {
      const Slot& s =
          ph.slots[static_cast<size_t>(id) * static_cast<size_t>(window_) + static_cast<size_t>(k)];
      evicted_ticks += s.evicted ? 1 : 0;
      dirty = dirty || s.dirty;
      share += s.evicted_share;
      age_sum += s.age;
    }
    const uint64_t age = age_sum / static_cast<uint64_t>(window_);

    if (static_cast<double>(now.free_chunks) >
            static_cast<double>(now.chunks_per_page) * kMinPagesForReclaim &&
        !dirty) {
      out.src = id;
      out.dst = 0;
      previous.assign(samples.begin(), samples.begin() + n + 1);
      previous.resize(static_cast<size_t>(num_classes_) + 1);
      return out;
    }
    if (age > oldest_age && now.total_pages > kMinPagesForSource) {
      oldest = id;
      oldest_age = age;
    }
    if (age < youngest_age && (evicted_ticks > window_ / 2 || share / window_ > 0.25)) {
      youngest = id;
      youngest_age = age;
      youngest_evicting_now = slot.evicted;
    }
  }
  previous.assign(samples.begin(), samples.begin() + n + 1);
  previous.resize(static_cast<size_t>(num_classes_) + 1);
  if (youngest != -1 && oldest != -1 && youngest != oldest &&
      ticks > static_cast<uint64_t>(window_) && youngest_evicting_now &&
      static_cast<double>(youngest_age) < static_cast<double>(oldest_age) * ratio_) {
    out.src = oldest;
    out.dst = youngest;
  }
  return out;
}

}  // namespace mcd::storage
