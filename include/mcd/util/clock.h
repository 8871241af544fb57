// Time for the cache: whole seconds relative to process start, as memcached keeps it.
//
// Nothing reads the system time directly; every module is handed a `const Clock*`, so tests drive
// expiry with a FakeClock instead of sleeping. Thread-safety: Now() may be called from any thread
// concurrently with Tick()/Set()/Advance().
#pragma once

#include <atomic>
#include <cstdint>

namespace mcd {

// Seconds since the clock's epoch (process start minus a small offset, so that 1 is already in
// the past: relative time 1 is how "already expired" is encoded).
using RelTime = uint32_t;

// Exptimes above this many seconds are absolute unix times, at or below are relative (30 days).
inline constexpr int64_t kMaxRelativeExptime = 60 * 60 * 24 * 30;

class Clock {
 public:
  virtual ~Clock() = default;
  // Current relative time in seconds.
  virtual RelTime Now() const = 0;
  // Unix time corresponding to RelTime 0.
  virtual int64_t Epoch() const = 0;

  // Converts a protocol exptime into an absolute RelTime, with memcached's rules:
  // 0 -> 0 (never expires); negative -> already expired; up to 30 days -> relative to now;
  // above -> absolute unix time (at or before the epoch -> already expired).
  RelTime ExptimeToRel(int64_t exptime) const;
  // Inverse, for reports: 0 stays 0, else the unix time.
  int64_t RelToUnix(RelTime t) const { return t == 0 ? 0 : Epoch() + t; }
};

// Wall clock with one-second resolution. Now() is a relaxed atomic load; the server calls Tick()
// from a timer (memcached does the same with its clock event), so the hot path makes no syscall.
class SystemClock final : public Clock {
 public:
  SystemClock();
  RelTime Now() const override { return now_.load(std::memory_order_relaxed); }
  int64_t Epoch() const override { return epoch_; }
  // Re-reads the system time; monotonic clock so a wall clock step does not jump the cache.
  void Tick();

 private:
  int64_t epoch_;          // unix time of RelTime 0
  int64_t mono_start_ns_;  // CLOCK_MONOTONIC at construction
  std::atomic<RelTime> now_;
};

// Test clock: time moves only when told.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(RelTime start = 1000, int64_t epoch = 1700000000)
      : epoch_(epoch), now_(start) {}
  RelTime Now() const override { return now_.load(std::memory_order_relaxed); }
  int64_t Epoch() const override { return epoch_; }
  void Set(RelTime t) { now_.store(t, std::memory_order_relaxed); }
  void Advance(RelTime secs) { now_.fetch_add(secs, std::memory_order_relaxed); }

 private:
  int64_t epoch_;
  std::atomic<RelTime> now_;
};

}  // namespace mcd
