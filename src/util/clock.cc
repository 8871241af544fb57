#include "mcd/util/clock.h"

#include <time.h>

namespace mcd {
namespace {

// RelTime starts here rather than at 0, so that 1 ("already expired") is always in the past.
constexpr RelTime kStartOffset = 2;

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

RelTime Clock::ExptimeToRel(int64_t exptime) const {
  if (exptime == 0) return 0;
  if (exptime < 0) return 1;
  if (exptime > kMaxRelativeExptime) {
    if (exptime <= Epoch()) return 1;
    int64_t rel = exptime - Epoch();
    return rel > UINT32_MAX ? UINT32_MAX : static_cast<RelTime>(rel);
  }
  int64_t rel = static_cast<int64_t>(Now()) + exptime;
  return rel > UINT32_MAX ? UINT32_MAX : static_cast<RelTime>(rel);
}

SystemClock::SystemClock()
    : epoch_(static_cast<int64_t>(::time(nullptr)) - kStartOffset),
      mono_start_ns_(MonotonicNs()),
      now_(kStartOffset) {}

void SystemClock::Tick() {
  int64_t elapsed = (MonotonicNs() - mono_start_ns_) / 1000000000;
  now_.store(static_cast<RelTime>(elapsed + kStartOffset), std::memory_order_relaxed);
}

}  // namespace mcd
