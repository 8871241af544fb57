#include "connection.h"

#include <errno.h>
#include <glog/logging.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <iterator>
#include <string_view>

#include "sock_addr.h"
#include "worker.h"

namespace mcd::server {
namespace {

// A data block with at least this much still to come is read straight into the item.
constexpr size_t kDirectReadMin = 16 * 1024;
constexpr int kMaxIov = IOV_MAX;
// Output a yield at -R may keep for the resumed turn instead of writing it at once.
constexpr size_t kDeferredFlushMax = 64 * 1024;

// States reported by `stats conns`, indexed by the low byte of Connection::activity_.
constexpr std::string_view kStateNames[] = {"conn_read", "conn_nread", "conn_swallow",
                                            "conn_mwrite", "conn_closing"};

}  // namespace

Connection::Connection(Worker* worker, int fd)
    : worker_(worker),
      budget_(worker->budget()),
      fd_(fd),
      session_(worker->sessions()->NewSession(fd, worker->stream_transport())),
      out_(worker->NewOutBuf()),
      activity_(uint64_t{worker->env().clock->Now()} << 8) {}

Connection::~Connection() {
  if (read_ev_ != nullptr) event_free(read_ev_);
  if (write_ev_ != nullptr) event_free(write_ev_);
  if (resume_ev_ != nullptr) event_free(resume_ev_);
  out_.Clear();
  if (has_read_buf_) budget_->ReleaseReadBuffer();
  ::close(fd_);
}

bool Connection::Start() {
  read_ev_ = event_new(worker_->base(), fd_, EV_READ | EV_PERSIST, &Connection::OnRead, this);
  write_ev_ = event_new(worker_->base(), fd_, EV_WRITE | EV_PERSIST, &Connection::OnWrite, this);
  resume_ev_ = event_new(worker_->base(), -1, 0, &Connection::OnResume, this);
  if (read_ev_ == nullptr || write_ev_ == nullptr || resume_ev_ == nullptr) return false;
  if (event_add(read_ev_, nullptr) != 0) return false;
  reading_ = true;
  return true;
}

void Connection::Resume() {
  // A zero timeout, not event_active(): libevent runs events activated during a pass in that same
  // pass, so a pipelining client would be served again and again before the loop polls the other
  // sockets. A timer is only run after the next poll, behind every socket already ready.
  static const timeval kNow = {0, 0};
  event_add(resume_ev_, &kNow);
}

void Connection::OnRead(evutil_socket_t, short, void* arg) {
  static_cast<Connection*>(arg)->HandleRead(false);
}

void Connection::OnResume(evutil_socket_t, short, void* arg) {
  static_cast<Connection*>(arg)->HandleRead(true);
}

void Connection::OnWrite(evutil_socket_t, short, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  if (!c->Flush()) return;
  if (c->closing_ && c->out_.empty()) {
    c->worker_->Close(c);
    return;
  }
  c->NoteActivity(false);
  c->UpdateInterest();
}

void Connection::NoteActivity(bool command) {
  uint64_t state = 0;
  if (closing_) {
    state = 4;
  } else if (!out_.empty()) {
    state = 3;
  } else {
    std::string_view name = session_->ConnStateName();
    state = name == kStateNames[1] ? 1 : name == kStateNames[2] ? 2 : 0;
  }
  uint64_t when = command ? uint64_t{worker_->env().clock->Now()}
                          : activity_.load(std::memory_order_relaxed) >> 8;
  activity_.store(when << 8 | state, std::memory_order_relaxed);
}

ConnDescription Connection::Describe(RelTime now) const {
  ConnDescription d;
  d.fd = fd_;
  d.addr = PeerAddr(fd_, "tcp");
  d.listen_addr = LocalAddr(fd_, "tcp");
  uint64_t a = activity_.load(std::memory_order_relaxed);
  size_t state = static_cast<size_t>(a & 0xff);
  d.state = kStateNames[state < std::size(kStateNames) ? state : 0];
  RelTime last = static_cast<RelTime>(a >> 8);
  d.secs_since_last_cmd = now > last ? now - last : 0;
  return d;
}

void Connection::HandleRead(bool resume) {
  worker_->NoteServed();
  if (budget_ != nullptr && !has_read_buf_) {
    // As memcached: a connection needs a read buffer to go on; none left closes it.
    if (!budget_->TakeReadBuffer()) {
      worker_->Close(this);
      return;
    }
    has_read_buf_ = true;
  }
  const WorkerCounters& counters = worker_->counters();
  char* buf = worker_->read_buffer();
  const size_t cap = worker_->read_buffer_size();
  bool eof = false;

  // A large data block still to come goes straight into the item.
  if (!resume && pending_.empty()) {
    std::span<char> direct = session_->DirectDataSpan();
    if (direct.size() >= kDirectReadMin) {
      ssize_t n = ::read(fd_, direct.data(), direct.size());
      if (n > 0) {
        counters.bytes_read->Add(static_cast<uint64_t>(n));
        session_->DataWritten(static_cast<size_t>(n), &out_);
        if (!Flush()) return;
        NoteActivity(false);
        UpdateInterest();
        return;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        worker_->Close(this);
      }
      return;
    }
  }

  size_t have = pending_.size();
  if (have != 0) std::memcpy(buf, pending_.data(), have);
  pending_.clear();
  if (!resume && have < cap) {
    ssize_t n = ::read(fd_, buf + have, cap - have);
    if (n > 0) {
      counters.bytes_read->Add(static_cast<uint64_t>(n));
      have += static_cast<size_t>(n);
    } else if (n == 0) {
      eof = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      worker_->Close(this);
      return;
    }
  }

  const size_t max_out = worker_->options().max_pending_output;
  size_t used = session_->Consume(std::string_view(buf, have), &out_,
                                  worker_->options().reqs_per_event, max_out);
  if (used < have) pending_.assign(buf + used, have - used);
  const bool close = session_->want_close();
  const bool more = !close && session_->yielded() && !eof;
  if (close) {
    closing_ = true;
    pending_.clear();
  }
  // A yield at -R (input left, output small, no reply budget to give back) keeps the output for
  // the resumed turn: other connections are served first either way, and the batch is written
  // once. Anything else is written now.
  flush_deferred_ = more && budget_ == nullptr && out_.size() < kDeferredFlushMax;
  if (!flush_deferred_ && !Flush()) return;
  if (eof || (closing_ && out_.empty())) {
    worker_->Close(this);
    return;
  }
  // Yielded (-R or the output limit): go on at the next loop turn if the output has drained
  // below the limit; otherwise UpdateInterest stops reading and resumes once it has.
  if (more && out_.size() <= max_out) {
    counters.conn_yields->Add();
    Resume();
  }
  NoteActivity(true);
  UpdateInterest();
}

bool Connection::Flush() {
  iovec iov[kMaxIov];
  while (!out_.empty()) {
    int cnt = out_.FillIov(iov, kMaxIov);
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(cnt);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EINTR) continue;
      worker_->Close(this);
      return false;
    }
    worker_->counters().bytes_written->Add(static_cast<uint64_t>(n));
    out_.Consume(static_cast<size_t>(n));
  }
  return true;
}

void Connection::SettleBudget() {
  if (out_.empty()) session_->RepliesSent();
  if (has_read_buf_ && pending_.empty() && !session_->InCommand()) {
    budget_->ReleaseReadBuffer();
    has_read_buf_ = false;
  }
}

void Connection::UpdateInterest() {
  if (budget_ != nullptr) SettleBudget();
  const bool want_write = !out_.empty() && !flush_deferred_;
  const bool want_read = !closing_ && out_.size() <= worker_->options().max_pending_output;
  if (want_write != writing_) {
    if (want_write) {
      event_add(write_ev_, nullptr);
    } else {
      event_del(write_ev_);
    }
    writing_ = want_write;
  }
  if (want_read != reading_) {
    if (want_read) {
      event_add(read_ev_, nullptr);
      // Bytes already buffered are not signalled again by the socket, nor is a dump's next
      // piece: process them now.
      if (!pending_.empty() || session_->Dumping()) Resume();
    } else {
      event_del(read_ev_);
    }
    reading_ = want_read;
  }
  if (worker_->stopping_gracefully() && worker_->GracefulCloses(*this)) worker_->Close(this);
}

bool Connection::Quiescent() const {
  if (!WaitingForCommand()) return false;
  // Complete commands kept for later (a yield) are still to be served; half a line is not.
  if (pending_.find('\n') != std::string::npos) return false;
  int unread = 0;  // bytes the client sent that were not read yet (graceful stop only)
  return ioctl(fd_, FIONREAD, &unread) != 0 || unread == 0;
}

}  // namespace mcd::server
