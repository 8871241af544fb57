#include "worker.h"

#include <glog/logging.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "connection.h"

namespace mcd::server {

Worker::Worker(int id, const ServerOptions& options, handler::SharedContext* ctx,
               stats::ThreadStats* thread_stats)
    : id_(id),
      options_(options),
      ctx_(ctx),
      thread_stats_(thread_stats),
      rbuf_(new char[kReadBufferSize]) {
  base_ = event_base_new();
  CHECK(base_ != nullptr) << "event_base_new failed";
  notify_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  PCHECK(notify_fd_ >= 0) << "eventfd";
  notify_ev_ = event_new(base_, notify_fd_, EV_READ | EV_PERSIST, &Worker::OnNotify, this);
  CHECK(notify_ev_ != nullptr && event_add(notify_ev_, nullptr) == 0);
}

Worker::~Worker() {
  StopAndJoin();
  conns_.clear();
  event_free(notify_ev_);
  ::close(notify_fd_);
  event_base_free(base_);
}

void Worker::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Worker::Loop() {
  while (!loop_done_) {
    served_ = 0;
    if (event_base_loop(base_, EVLOOP_ONCE) < 0) break;
    // A worker that served clients gives the CPU away once per loop turn, so when threads
    // outnumber cores the other workers' clients do not wait out a whole scheduler time slice.
    if (served_ >= kYieldAfter) sched_yield();
  }
}

void Worker::StopAndJoin() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  uint64_t one = 1;
  ssize_t ignored = ::write(notify_fd_, &one, sizeof(one));
  (void)ignored;
  if (thread_.joinable()) thread_.join();
  // Connections close here, on the (now idle) caller, after the loop has stopped.
  std::vector<int> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(queue_);
  }
  for (int fd : left) {
    ::close(fd);
    ctx_->stats->Server().curr_connections.fetch_sub(1, std::memory_order_relaxed);
  }
  size_t open = conns_.size();
  conns_.clear();
  ctx_->stats->Server().curr_connections.fetch_sub(open, std::memory_order_relaxed);
}

void Worker::Adopt(int fd) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(fd);
  }
  uint64_t one = 1;
  ssize_t ignored = ::write(notify_fd_, &one, sizeof(one));
  (void)ignored;
}

void Worker::OnNotify(evutil_socket_t fd, short, void* arg) {
  uint64_t v;
  ssize_t ignored = ::read(fd, &v, sizeof(v));
  (void)ignored;
  static_cast<Worker*>(arg)->DrainQueue();
}

void Worker::DrainQueue() {
  std::vector<int> fds;
  bool stop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fds.swap(queue_);
    stop = stopping_;
  }
  if (stop) {
    for (int fd : fds) {
      ::close(fd);
      ctx_->stats->Server().curr_connections.fetch_sub(1, std::memory_order_relaxed);
    }
    loop_done_ = true;
    event_base_loopbreak(base_);
    return;
  }
  for (int fd : fds) {
    auto conn = std::make_unique<Connection>(this, fd);
    if (!conn->Start()) {
      LOG(ERROR) << "cannot register connection " << fd;
      ctx_->stats->Server().curr_connections.fetch_sub(1, std::memory_order_relaxed);
      continue;  // the Connection destructor closes fd
    }
    if (ctx_->verbosity.load(std::memory_order_relaxed) > 1) {
      LOG(INFO) << "<" << fd << " new auto-negotiating client connection";
    }
    Connection* raw = conn.get();
    conns_.emplace(raw, std::move(conn));
  }
}

void Worker::Close(Connection* conn) {
  if (ctx_->verbosity.load(std::memory_order_relaxed) > 1) {
    LOG(INFO) << "<" << conn->fd() << " connection closed.";
  }
  ctx_->stats->Server().curr_connections.fetch_sub(1, std::memory_order_relaxed);
  conns_.erase(conn);
}

}  // namespace mcd::server
