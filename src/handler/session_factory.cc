#include "mcd/handler/session_factory.h"

#include "mcd/protocol/wire.h"

namespace mcd::handler {
namespace {

class TextWorkerSessions final : public server::WorkerSessions {
 public:
  TextWorkerSessions(SharedContext* ctx, stats::ThreadStats* ts, server::BufferBudget* budget)
      : ctx_(ctx), ts_(ts), budget_(budget) {}

  std::unique_ptr<server::Session> NewSession(int conn_id, server::Transport transport) override {
    server::BufferBudget* budget = transport == server::Transport::kUdp ? nullptr : budget_;
    return std::make_unique<Session>(ctx_, ts_, conn_id, budget);
  }

 private:
  SharedContext* ctx_;
  stats::ThreadStats* ts_;
  server::BufferBudget* budget_;
};

}  // namespace

std::unique_ptr<server::WorkerSessions> SessionFactory::ForWorker(int worker_id,
                                                                  server::BufferBudget* budget) {
  return std::make_unique<TextWorkerSessions>(ctx_, ctx_->stats->Thread(worker_id), budget);
}

std::string_view SessionFactory::TooManyConnectionsReply() const {
  return protocol::wire::kTooManyConnections;
}

server::WorkerCounters WorkerCountersOf(stats::ThreadStats* ts) {
  server::WorkerCounters c;
  c.bytes_read = &ts->bytes_read;
  c.bytes_written = &ts->bytes_written;
  c.conn_yields = &ts->conn_yields;
  c.idle_kicks = &ts->idle_kicks;
  c.response_obj_oom = &ts->response_obj_oom;
  c.read_buf_oom = &ts->read_buf_oom;
  c.response_obj_count = &ts->response_obj_count;
  c.response_obj_bytes = &ts->response_obj_bytes;
  c.read_buf_count = &ts->read_buf_count;
  c.read_buf_bytes = &ts->read_buf_bytes;
  c.read_buf_bytes_free = &ts->read_buf_bytes_free;
  return c;
}

server::ConnCounters ConnCountersOf(stats::ServerStats* st) {
  server::ConnCounters c;
  c.curr_connections = &st->curr_connections;
  c.total_connections = &st->total_connections;
  c.rejected_connections = &st->rejected_connections;
  c.accepting_conns = &st->accepting_conns;
  return c;
}

}  // namespace mcd::handler
