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

#include "mcd/handler/buffer_budget.h"
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
  bool track_sizes = false;  // -o track_sizes: `stats sizes` histogram
  int idle_timeout = 0;      // -o idle_timeout: `stats` shows idle_kicks only when set
  // memcached 1.6.18 prints some `stats` and `stats items` lines only while the matching part
  // of its machinery is on. mcd follows the same -o options so the list of names is memcached's
  // for the same command line.
  bool maxconns_fast = true;  // rejected_connections
  bool slab_reassign = true;  // slab_reassign_*, slabs_moved
  // (lru_crawler_running and lru_crawler_starts follow the crawler's live state instead:
  // `lru_crawler enable|disable`, storage::Cache::CrawlerCounters.)
  bool lru_maintainer = true;  // lru_maintainer_juggles, evicted_active, moves_*, ...
  bool temp_lru = false;       // `stats items` number_temp (with lru_maintainer)
  // `stats settings`, in order: name, value (memcached's names).
  std::vector<std::pair<std::string, std::string>> settings;
};

// One entry of `stats conns`: a listening socket, a UDP socket or a client connection. The
// server describes them (handler code never sees sockets); FormatConnsStats prints them.
struct ConnDescription {
  int fd = -1;
  bool udp = false;         // a UDP socket: memcached prints "<fd>:UDP UDP" first
  std::string addr;         // "tcp:127.0.0.1:40000", "tcp6:[::1]:11211", "udp:...", "unix:/path"
  std::string listen_addr;  // the local address of a client connection; empty (not printed) else
  std::string_view state;   // memcached's state name ("conn_read", ...); a static string
  uint64_t secs_since_last_cmd = 0;
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
  // For `stats conns`: every listener and connection, by fd. `caller_conn_id` is the conn_id of
  // the session asking (reported in state conn_parse_cmd). Set by the server before its workers
  // start and thread-safe; empty means nothing is listed.
  std::function<std::vector<ConnDescription>(int caller_conn_id)> list_conns;
};

// OutBuf release callback for item references: ctx is the storage::Cache*.
void ReleaseItemRef(void* cache, void* item);

class Session {
 public:
  // budget: the worker's -o read_buf_mem_limit budget, or null (no limit). With one, every
  // command and every further key of a multiget takes a reply object from it; when none is left
  // a multiget is answered `SERVER_ERROR out of memory writing get response` (whatever it
  // produced is dropped), and any other command makes the session drop its unsent output and
  // ask for the connection to be closed, as memcached does.
  Session(SharedContext* ctx, stats::ThreadStats* thread_stats, int conn_id,
          BufferBudget* budget = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Consumes as much of `in` as forms complete commands (and data blocks), appending replies to
  // `out`; returns the number of bytes consumed. Stops after max_commands commands (the caller
  // yields and calls again), once `out` holds more than max_output bytes (checked before each
  // command and after each key of a retrieval, so one multiget line cannot queue gigabytes; the
  // caller sends, and calls again once the output has drained), when the connection must close,
  // or when no complete command is left. Bytes not consumed must be passed again, with more
  // appended, on the next call.
  size_t Consume(std::string_view in, OutBuf* out, int max_commands = 1 << 30,
                 size_t max_output = SIZE_MAX);

  // The connection must be closed once `out` is sent (quit, protocol abuse).
  bool want_close() const;
  // Consume() stopped with input left because it reached max_commands or max_output, not because
  // input ran out.
  bool yielded() const;
  // The caller needs no line-length limit of its own: Consume() closes on an over-long line.

  // For a data block that is not yet fully buffered: where the next bytes may be read directly
  // (zero copy into the item). Empty when no data block is pending. After reading n bytes there,
  // call DataWritten(n, out).
  std::span<char> DirectDataSpan();
  void DataWritten(size_t n, OutBuf* out);

  // memcached's name for the state between two reads, for `stats conns`: "conn_nread" while a
  // data block is awaited, "conn_swallow" while discarding one, else "conn_read".
  std::string_view ConnStateName() const;
  // Inside a command: its data block, a swallow, or a streamed key list is still to come, or a
  // dump is being produced.
  bool InCommand() const;
  // A dump (`lru_crawler metadump|mgdump`) is being streamed: each Consume() call, even with no
  // input, produces its next piece (bounded, then yielded()), and commands that follow it wait
  // until it has ended. Call Consume() again once the output has drained below its limit.
  bool Dumping() const;
  // With a budget: everything produced so far has been sent; gives its reply objects back.
  void RepliesSent();

 private:
  struct State;
  State* s_;
};

}  // namespace mcd::handler
