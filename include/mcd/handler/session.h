// The text-protocol session of one connection: bytes in, replies out, cache calls in between.
//
// The one place where a parsed command meets the cache. It owns the per-connection protocol state
// (a storage command waiting for its data block, a multiget whose line is still arriving, bytes to
// swallow) and formats every reply. No socket in sight: it implements server::Session, through
// which the server hands it bytes and an OutBuf, and tests do the same with plain strings.
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
#include "mcd/server/buffer_budget.h"
#include "mcd/server/session.h"
#include "mcd/stats/stats.h"
#include "mcd/storage/cache.h"
#include "mcd/util/clock.h"
#include "mcd/util/out_buf.h"

namespace mcd::handler {

// -B: which protocol a TCP or unix connection speaks. UDP always picks per datagram, as
// memcached does.
enum class Binding : uint8_t {
  kAuto,    // the first byte decides: 0x80 is binary, anything else text (classic and meta)
  kAscii,   // text only
  kBinary,  // binary only: a first byte other than 0x80 closes the connection
};

struct HandlerOptions {
  Binding binding = Binding::kAuto;  // -B
  bool flush_enabled = true;         // -F turns off
  bool dump_enabled = true;          // -X turns off (stats cachedump)
  bool shutdown_enabled = false;     // -A
  bool use_cas = true;               // -C turns off
  std::string version;               // reported by `version` and `stats`
  std::string libevent_version;      // reported by `stats`
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
  // the session asking (reported in state conn_parse_cmd). Set by the app (the server's
  // ListConns) before the server runs, and thread-safe; empty means nothing is listed.
  std::function<std::vector<server::ConnDescription>(int caller_conn_id)> list_conns;
};

// OutBuf release callback for item references: ctx is the storage::Cache*.
void ReleaseItemRef(void* cache, void* item);

class Session final : public server::Session {
 public:
  // budget: the worker's -o read_buf_mem_limit budget, or null (no limit). With one, every
  // command and every further key of a multiget takes a reply object from it; when none is left
  // a multiget is answered `SERVER_ERROR out of memory writing get response` (whatever it
  // produced is dropped), and any other command makes the session drop its unsent output and
  // ask for the connection to be closed, as memcached does.
  Session(SharedContext* ctx, stats::ThreadStats* thread_stats, int conn_id,
          server::BufferBudget* budget = nullptr);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // server::Session (see there). Consume() defaults to no command or output limit.
  size_t Consume(std::string_view in, OutBuf* out, int max_commands = 1 << 30,
                 size_t max_output = SIZE_MAX) override;
  bool want_close() const override;
  bool yielded() const override;
  std::span<char> DirectDataSpan() override;
  void DataWritten(size_t n, OutBuf* out) override;
  std::string_view ConnStateName() const override;
  bool InCommand() const override;
  // A dump (`lru_crawler metadump|mgdump`) is being streamed.
  bool Dumping() const override;
  void RepliesSent() override;
  // Classic text: a message ends before each command's reply and before each VALUE block but a
  // retrieval's first, so END rides on the last VALUE block (memcached's response objects).
  void MarkMessages(std::vector<size_t>* ends) override;
  void Reset() override;

 private:
  struct State;
  State* s_;
};

}  // namespace mcd::handler
