// Counters written by one thread and read by many, without a lock or a read-modify-write.
//
// They live in util so that every module can count into them: stats::ThreadStats is made of
// them, and the server counts its bytes and connections into the ones the app points it at.
#pragma once

#include <atomic>
#include <cstdint>

namespace mcd {

// A counter written by one thread, read by many.
class Counter {
 public:
  void Add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A level written by one thread, read by many.
class Gauge {
 public:
  void Set(uint64_t v) { v_.store(v, std::memory_order_relaxed); }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace mcd
