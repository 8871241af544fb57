// Counters, with memcached's stat names, and nothing else: no formatting, no I/O.
//
// ThreadStats: one per worker thread, written only by its owner with relaxed atomic stores (no
// lock, no read-modify-write), read by any thread that sums them for `stats`. `stats reset` does
// not write the counters: it records a baseline that later reads subtract, so resets never race
// with the owner's increments.
// ServerStats: connection counters shared by the server threads (atomics).
// PrefixStats (prefix_stats.h): the per-prefix counters of `stats detail`.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "mcd/stats/prefix_stats.h"
#include "mcd/util/counter.h"
#include "mcd/util/limits.h"

namespace mcd::stats {

// Per-thread counters; the name is the memcached stat name.
#define MCD_THREAD_COUNTERS(X) \
  X(cmd_get)                   \
  X(cmd_set)                   \
  X(cmd_flush)                 \
  X(cmd_touch)                 \
  X(cmd_meta)                  \
  X(get_hits)                  \
  X(get_misses)                \
  X(get_expired)               \
  X(get_flushed)               \
  X(delete_misses)             \
  X(delete_hits)               \
  X(incr_misses)               \
  X(incr_hits)                 \
  X(decr_misses)               \
  X(decr_hits)                 \
  X(cas_misses)                \
  X(cas_hits)                  \
  X(cas_badval)                \
  X(touch_hits)                \
  X(touch_misses)              \
  X(store_too_large)           \
  X(store_no_memory)           \
  X(auth_cmds)                 \
  X(auth_errors)               \
  X(idle_kicks)                \
  X(bytes_read)                \
  X(bytes_written)             \
  X(conn_yields)               \
  X(response_obj_oom)          \
  X(read_buf_oom)

// Per-thread levels (set, not incremented; `stats reset` leaves them): the connection memory
// that -o read_buf_mem_limit accounts for (server/buffer_budget.h). 0 without that limit.
#define MCD_THREAD_GAUGES(X) \
  X(response_obj_count)      \
  X(response_obj_bytes)      \
  X(read_buf_count)          \
  X(read_buf_bytes)          \
  X(read_buf_bytes_free)

// Per-slab-class counters shown by `stats slabs`.
#define MCD_CLASS_COUNTERS(X) \
  X(get_hits)                 \
  X(cmd_set)                  \
  X(delete_hits)              \
  X(incr_hits)                \
  X(decr_hits)                \
  X(cas_hits)                 \
  X(cas_badval)               \
  X(touch_hits)

// Per-class arrays are indexed by class id: 1..kMaxSlabClassId (util/limits.h), 0 unused.
inline constexpr int kMaxClasses = kMaxSlabClassId + 1;

// Counter and Gauge (written by one thread, read by many) are util's.
using ::mcd::Counter;
using ::mcd::Gauge;

struct ClassCounters {
#define MCD_DECLARE(name) Counter name;
  MCD_CLASS_COUNTERS(MCD_DECLARE)
#undef MCD_DECLARE
};

struct alignas(64) ThreadStats {
#define MCD_DECLARE(name) Counter name;
  MCD_THREAD_COUNTERS(MCD_DECLARE)
#undef MCD_DECLARE
#define MCD_DECLARE(name) Gauge name;
  MCD_THREAD_GAUGES(MCD_DECLARE)
#undef MCD_DECLARE
  ClassCounters per_class[kMaxClasses];
};

// Plain sums, for reporting (gauges are summed, never reset).
struct ThreadTotals {
#define MCD_DECLARE(name) uint64_t name = 0;
  MCD_THREAD_COUNTERS(MCD_DECLARE)
  MCD_THREAD_GAUGES(MCD_DECLARE)
#undef MCD_DECLARE
};
struct ClassTotals {
#define MCD_DECLARE(name) uint64_t name = 0;
  MCD_CLASS_COUNTERS(MCD_DECLARE)
#undef MCD_DECLARE
};

struct ServerStats {
  std::atomic<uint64_t> curr_connections{0};
  std::atomic<uint64_t> total_connections{0};
  std::atomic<uint64_t> rejected_connections{0};
  std::atomic<uint64_t> connection_structures{0};
  std::atomic<uint64_t> listen_disabled_num{0};
  std::atomic<uint64_t> time_in_listen_disabled_us{0};
  std::atomic<bool> accepting_conns{true};
  std::atomic<uint64_t> reserved_fds{0};
};

// All the worker threads' counters. Create the ThreadStats before the workers start; the
// registry owns them.
class Registry {
 public:
  // prefix_delimiter and detail_enabled: -D (see PrefixStats).
  explicit Registry(int threads, char prefix_delimiter = ':', bool detail_enabled = false);
  ThreadStats* Thread(int i) { return threads_[i].get(); }
  int NumThreads() const { return static_cast<int>(threads_.size()); }
  ServerStats& Server() { return server_; }
  const ServerStats& Server() const { return server_; }
  PrefixStats& Prefixes() { return prefixes_; }
  const PrefixStats& Prefixes() const { return prefixes_; }

  // Sums over threads, minus the baseline recorded by the last Reset().
  ThreadTotals Totals() const;
  ClassTotals ClassTotal(int class_id) const;
  // `stats reset`: also forgets the per-prefix counters.
  void Reset();

 private:
  ThreadTotals RawTotals() const;
  ClassTotals RawClassTotal(int class_id) const;

  std::vector<std::unique_ptr<ThreadStats>> threads_;
  ServerStats server_;
  PrefixStats prefixes_;
  mutable std::mutex baseline_mu_;
  ThreadTotals baseline_;
  ClassTotals class_baseline_[kMaxClasses];
};

}  // namespace mcd::stats
