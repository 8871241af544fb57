// bench/probe.h: the load generator's control connections. They are separate from the load
// connections and use blocking I/O with a timeout, one per helper thread:
//   - server snapshots: `stats` and `stats slabs` at window boundaries (counters such as
//     evictions and slabs_moved, and the pages each slab class holds), optionally logged raw
//     together with `stats items` for later diagnosis;
//   - a loop that keeps the slab page mover busy with `slabs reassign` from one class to another
//     (or to the global page pool), at a fixed pace.
//
// Thread-safety: none; each object belongs to one thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

namespace mcd_bench {

uint64_t MonotonicNs();
// Sleeps until MonotonicNs() >= deadline_ns.
void SleepUntilNs(uint64_t deadline_ns);

class ControlConn {
 public:
  ControlConn() = default;
  ControlConn(const ControlConn&) = delete;
  ControlConn& operator=(const ControlConn&) = delete;
  ~ControlConn();

  // IPv4 host only; replies must come within 10 s.
  bool Connect(const std::string& host, int port);
  // Sends `cmd` and CRLF, reads the reply: up to and including a line "END" when `multi_line`,
  // else one line. The reply keeps its CRLFs (the terminating line's CRLF is dropped).
  bool Command(std::string_view cmd, bool multi_line, std::string* reply);

 private:
  int fd_ = -1;
  std::string buf_;
};

struct ServerSnapshot {
  bool ok = false;
  uint64_t t_ns = 0;
  std::map<std::string, uint64_t> stats;  // the numeric fields of `stats`
  std::map<uint64_t, uint64_t> pages;     // chunk_size -> total_pages, from `stats slabs`
};

// Reads `stats` and `stats slabs` (and `stats items`, only into the log). When `log` is not
// null, appends the raw replies after a header line "=== <label>".
ServerSnapshot TakeSnapshot(ControlConn& conn, std::FILE* log, const std::string& label);

struct ReassignCounts {
  uint64_t ok = 0;     // moves accepted
  uint64_t busy = 0;   // BUSY replies (a move was still running)
  uint64_t other = 0;  // NOSPARE, BADCLASS, errors...
  std::string last_other;
};

// Until `until_ns`: `slabs reassign src dst`, `rate` times a second (0: each as soon as the
// previous move is done). A BUSY reply is repeated 1 ms later; the pace does not catch up by
// more than one second's worth of moves.
void ReassignLoop(ControlConn& conn, int src, int dst, double rate, uint64_t until_ns,
                  ReassignCounts* out);

}  // namespace mcd_bench
