// The text-protocol session of one connection: bytes in, replies out, cache calls in between.
//
// The one place where a parsed command meets the cache. It owns the per-connection protocol state
// (a storage command waiting for its data block, a multiget whose line is still arriving, bytes to
// swallow) and formats every reply. No socket in sight: the server hands it bytes and an OutBuf,
// and tests do the same with plain strings.
//
// Thread-safety: a Session is used by one thread at a time. SharedContext is shared by all
// workers; its members are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mcd/protocol/command.h"
#include "mcd/stats/stats.h"
#include "mcd/storage/cache.h"
#include "mcd/util/clock.h"
#include "mcd/util/out_buf.h"

namespace mcd::handler {

struct HandlerOptions {
  bool flush_enabled = true;      // -F turns off
  bool dump_enabled = true;       // -X turns off (stats cachedump)
  bool shutdown_enabled = false;  // -A
  bool use_cas = true;            // -C turns off
  std::string version;            // reported by `version` and `stats`
  std::string libevent_version;   // reported by `stats`
  uint64_t max_connections = 1024;
  int threads = 4;
  uint64_t limit_maxbytes = 64ull << 20;
  bool track_sizes = false;  // -o track_sizes: `stats sizes` histogram
  // `stats settings`, in order: name, value (memcached's names).
  std::vector<std::pair<std::string, std::string>> settings;
};

struct SharedContext {
  storage::Cache* cache = nullptr;
  stats::Registry* stats = nullptr;
  const Clock* clock = nullptr;
  RelTime started = 0;  // clock->Now() at start, for `uptime`
  HandlerOptions options;
  std::atomic<int> verbosity{0};
  // Called for `shutdown` when enabled (may be empty).
  std::function<void(bool graceful)> shutdown;
};

// OutBuf release callback for item references: ctx is the storage::Cache*.
void ReleaseItemRef(void* cache, void* item);

class Session {
 public:
  Session(SharedContext* ctx, stats::ThreadStats* thread_stats, int conn_id);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Consumes as much of `in` as forms complete commands (and data blocks), appending replies to
  // `out`; returns the number of bytes consumed. Stops after max_commands commands (the caller
  // yields and calls again), when the connection must close, or when no complete command is left.
  // Bytes not consumed must be passed again, with more appended, on the next call.
  size_t Consume(std::string_view in, OutBuf* out, int max_commands = 1 << 30);

  // The connection must be closed once `out` is sent (quit, protocol abuse).
  bool want_close() const;
  // Consume() stopped because it reached max_commands, not because input ran out.
  bool yielded() const;
  // The caller needs no line-length limit of its own: Consume() closes on an over-long line.

  // For a data block that is not yet fully buffered: where the next bytes may be read directly
  // (zero copy into the item). Empty when no data block is pending. After reading n bytes there,
  // call DataWritten(n, out).
  std::span<char> DirectDataSpan();
  void DataWritten(size_t n, OutBuf* out);

 private:
  struct State;
  State* s_;
};

}  // namespace mcd::handler
