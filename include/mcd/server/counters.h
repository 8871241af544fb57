// Where the server counts what it does, under memcached's stat names. The server owns none of
// these: the app points them at the stats registry (handler::WorkerCountersOf and
// ConnCountersOf), so the server needs nothing of the stats module, and `stats` reads them where
// it reads every other counter.
//
// Every pointer must be set (tests point them at local counters).
#pragma once

#include <atomic>
#include <cstdint>

#include "mcd/util/counter.h"

namespace mcd::server {

// One worker thread's counters, written by that thread only.
struct WorkerCounters {
  Counter* bytes_read = nullptr;
  Counter* bytes_written = nullptr;
  Counter* conn_yields = nullptr;  // a connection stopped at -R (or the output limit)
  Counter* idle_kicks = nullptr;   // -o idle_timeout closed a connection
  // -o read_buf_mem_limit (BufferBudget): refusals, and the levels it publishes.
  Counter* response_obj_oom = nullptr;
  Counter* read_buf_oom = nullptr;
  Gauge* response_obj_count = nullptr;
  Gauge* response_obj_bytes = nullptr;
  Gauge* read_buf_count = nullptr;
  Gauge* read_buf_bytes = nullptr;
  Gauge* read_buf_bytes_free = nullptr;
};

// Connection counters shared by the master and the workers.
struct ConnCounters {
  std::atomic<uint64_t>* curr_connections = nullptr;
  std::atomic<uint64_t>* total_connections = nullptr;
  std::atomic<uint64_t>* rejected_connections = nullptr;
  std::atomic<bool>* accepting_conns = nullptr;  // false once a graceful stop has begun
};

}  // namespace mcd::server
