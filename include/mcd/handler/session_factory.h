// The handler's side of server/session.h: makes the text-protocol Sessions the server runs, and
// points the server's counters at the stats registry. The app builds one and hands it to the
// Server (app/main.cc).
//
// Thread-safety: as server::SessionFactory. Each worker's WorkerSessions hands its sessions that
// worker's stats::ThreadStats (Registry::Thread(worker_id)) and reply budget.
#pragma once

#include <memory>
#include <string_view>

#include "mcd/handler/session.h"
#include "mcd/server/counters.h"
#include "mcd/server/session.h"
#include "mcd/stats/stats.h"

namespace mcd::handler {

class SessionFactory final : public server::SessionFactory {
 public:
  // ctx: shared by every session; not owned.
  explicit SessionFactory(SharedContext* ctx) : ctx_(ctx) {}

  // Sessions of a TCP or unix connection take their reply objects from `budget`; those of a UDP
  // socket take none (no reply outlives its datagram).
  std::unique_ptr<server::WorkerSessions> ForWorker(int worker_id,
                                                    server::BufferBudget* budget) override;
  // Item references queued by AppendRef go back to the cache (ReleaseItemRef).
  OutBuf::ReleaseFn release_fn() const override { return &ReleaseItemRef; }
  void* release_ctx() const override { return ctx_->cache; }
  std::string_view TooManyConnectionsReply() const override;

 private:
  SharedContext* ctx_;
};

// The server's counters, in the registry's: a worker's in its ThreadStats, the connection
// counters in ServerStats.
server::WorkerCounters WorkerCountersOf(stats::ThreadStats* ts);
server::ConnCounters ConnCountersOf(stats::ServerStats* st);

}  // namespace mcd::handler
