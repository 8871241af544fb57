#include "mcd/handler/session_factory.h"

#include "binary_session.h"
#include "mcd/protocol/binary.h"
#include "mcd/protocol/wire.h"

namespace mcd::handler {
namespace {

// A session that picks its protocol from the first byte it is given (memcached's negotiation):
// 0x80 starts a binary session, anything else a text one. Reset() (UDP, every datagram) picks
// again. Both sessions are kept once made, so a UDP socket allocates nothing per datagram.
class NegotiatingSession final : public server::Session {
 public:
  NegotiatingSession(SharedContext* ctx, stats::ThreadStats* ts, int conn_id,
                     server::BufferBudget* budget)
      : ctx_(ctx), ts_(ts), conn_id_(conn_id), budget_(budget) {}

  size_t Consume(std::string_view in, OutBuf* out, int max_commands, size_t max_output) override {
    if (active_ == nullptr) {
      if (in.empty()) return 0;
      active_ = Pick(static_cast<uint8_t>(in.front()) == protocol::binary::kRequestMagic);
    }
    return active_->Consume(in, out, max_commands, max_output);
  }
  bool want_close() const override { return active_ != nullptr && active_->want_close(); }
  bool yielded() const override { return active_ != nullptr && active_->yielded(); }
  std::span<char> DirectDataSpan() override {
    return active_ != nullptr ? active_->DirectDataSpan() : std::span<char>();
  }
  void DataWritten(size_t n, OutBuf* out) override {
    if (active_ != nullptr) active_->DataWritten(n, out);
  }
  std::string_view ConnStateName() const override {
    return active_ != nullptr ? active_->ConnStateName() : "conn_read";
  }
  bool InCommand() const override { return active_ != nullptr && active_->InCommand(); }
  bool Dumping() const override { return active_ != nullptr && active_->Dumping(); }
  void RepliesSent() override {
    if (active_ != nullptr) active_->RepliesSent();
  }
  void MarkMessages(std::vector<size_t>* ends) override {
    marks_ = ends;
    if (text_ != nullptr) text_->MarkMessages(ends);
    if (binary_ != nullptr) binary_->MarkMessages(ends);
  }
  void Reset() override {
    if (active_ != nullptr) active_->Reset();
    active_ = nullptr;
  }

 private:
  server::Session* Pick(bool binary) {
    std::unique_ptr<server::Session>& s = binary ? binary_ : text_;
    if (s == nullptr) {
      if (binary) {
        s = std::make_unique<BinarySession>(ctx_, ts_, conn_id_, budget_);
      } else {
        s = std::make_unique<handler::Session>(ctx_, ts_, conn_id_, budget_);
      }
      s->MarkMessages(marks_);
    }
    return s.get();
  }

  SharedContext* ctx_;
  stats::ThreadStats* ts_;
  int conn_id_;
  server::BufferBudget* budget_;
  std::vector<size_t>* marks_ = nullptr;
  std::unique_ptr<server::Session> text_;
  std::unique_ptr<server::Session> binary_;
  server::Session* active_ = nullptr;
};

class TextWorkerSessions final : public server::WorkerSessions {
 public:
  TextWorkerSessions(SharedContext* ctx, stats::ThreadStats* ts, server::BufferBudget* budget)
      : ctx_(ctx), ts_(ts), budget_(budget) {}

  std::unique_ptr<server::Session> NewSession(int conn_id, server::Transport transport) override {
    if (transport == server::Transport::kUdp) {
      // Every datagram picks its protocol, whatever -B says (as memcached).
      return std::make_unique<NegotiatingSession>(ctx_, ts_, conn_id, nullptr);
    }
    switch (ctx_->options.binding) {
      case Binding::kAscii:
        return std::make_unique<handler::Session>(ctx_, ts_, conn_id, budget_);
      case Binding::kBinary:
        return std::make_unique<BinarySession>(ctx_, ts_, conn_id, budget_);
      case Binding::kAuto:
        break;
    }
    return std::make_unique<NegotiatingSession>(ctx_, ts_, conn_id, budget_);
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
