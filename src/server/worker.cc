#include "worker.h"

#include <glog/logging.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "connection.h"
#include "udp.h"

namespace mcd::server {

Worker::Worker(int id, const ServerOptions& options, const ServerEnv* env,
               const WorkerCounters* counters, SessionFactory* factory)
    : id_(id),
      options_(options),
      env_(env),
      counters_(counters),
      factory_(factory),
      rbuf_(new char[kReadBufferSize]) {
  if (options_.read_buf_mem_limit > 0) {
    budget_ = std::make_unique<BufferBudget>(
        options_.read_buf_mem_limit / static_cast<uint64_t>(options_.threads), counters_);
  }
  sessions_ = factory_->ForWorker(id_, budget_.get());
  base_ = event_base_new();
  CHECK(base_ != nullptr) << "event_base_new failed";
  notify_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  PCHECK(notify_fd_ >= 0) << "eventfd";
  notify_ev_ = event_new(base_, notify_fd_, EV_READ | EV_PERSIST, &Worker::OnNotify, this);
  CHECK(notify_ev_ != nullptr && event_add(notify_ev_, nullptr) == 0);
  if (options_.idle_timeout > 0) {
    // One timer per worker; connections only record the (cached) time of their last activity.
    idle_ev_ = event_new(base_, -1, EV_PERSIST, &Worker::OnIdleSweep, this);
    timeval one_sec{1, 0};
    CHECK(idle_ev_ != nullptr && event_add(idle_ev_, &one_sec) == 0);
  }
}

Worker::~Worker() {
  StopAndJoin();
  {
    std::lock_guard<std::mutex> lock(conns_mu_);
    conns_.clear();
  }
  udp_.clear();
  if (idle_ev_ != nullptr) event_free(idle_ev_);
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
    env_->conns.curr_connections->fetch_sub(1, std::memory_order_relaxed);
  }
  size_t open;
  {
    std::lock_guard<std::mutex> lock(conns_mu_);
    open = conns_.size();
    conns_.clear();
  }
  env_->conns.curr_connections->fetch_sub(open, std::memory_order_relaxed);
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
    graceful_ = graceful_ || graceful_requested_;
    cut_ = cut_ || cut_requested_;
  }
  if (stop) {
    for (int fd : fds) {
      ::close(fd);
      env_->conns.curr_connections->fetch_sub(1, std::memory_order_relaxed);
    }
    loop_done_ = true;
    event_base_loopbreak(base_);
    return;
  }
  for (int fd : fds) {
    auto conn = std::make_unique<Connection>(this, fd);
    if (!conn->Start()) {
      LOG(ERROR) << "cannot register connection " << fd;
      env_->conns.curr_connections->fetch_sub(1, std::memory_order_relaxed);
      continue;  // the Connection destructor closes fd
    }
    if (env_->verbosity->load(std::memory_order_relaxed) > 1) {
      LOG(INFO) << "<" << fd << " new auto-negotiating client connection";
    }
    Connection* raw = conn.get();
    std::lock_guard<std::mutex> lock(conns_mu_);
    conns_.emplace(raw, std::move(conn));
  }
  if (graceful_) CloseQuiescent();
}

void Worker::Close(Connection* conn) {
  if (env_->verbosity->load(std::memory_order_relaxed) > 1) {
    LOG(INFO) << "<" << conn->fd() << " connection closed.";
  }
  env_->conns.curr_connections->fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(conns_mu_);
  conns_.erase(conn);
  if (graceful_ && conns_.empty()) graceful_done_.store(true, std::memory_order_release);
}

void Worker::AddUdpSocket(int fd) {
  auto u = std::make_unique<UdpSocket>(this, fd);
  if (!u->Start()) {
    LOG(ERROR) << "cannot register UDP socket " << fd;
    return;  // the UdpSocket destructor closes fd
  }
  udp_.push_back(std::move(u));
}

void Worker::DescribeConns(RelTime now, int caller_conn_id, std::vector<ConnDescription>* out) {
  for (const auto& u : udp_) out->push_back(u->Describe(now, caller_conn_id));
  std::lock_guard<std::mutex> lock(conns_mu_);
  for (const auto& [raw, conn] : conns_) out->push_back(conn->Describe(now));
}

void Worker::StopGracefully() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    graceful_requested_ = true;
  }
  uint64_t one = 1;
  ssize_t ignored = ::write(notify_fd_, &one, sizeof(one));
  (void)ignored;
}

void Worker::CutGracefully() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cut_requested_ = true;
  }
  uint64_t one = 1;
  ssize_t ignored = ::write(notify_fd_, &one, sizeof(one));
  (void)ignored;
}

bool Worker::GracefulCloses(const Connection& conn) const {
  return cut_ ? !conn.ReceivingCommand() : conn.Quiescent();
}

void Worker::CloseQuiescent() {
  std::vector<Connection*> done;
  for (const auto& [raw, conn] : conns_) {
    if (GracefulCloses(*raw)) done.push_back(raw);
  }
  for (Connection* c : done) Close(c);
  if (conns_.empty()) graceful_done_.store(true, std::memory_order_release);
}

void Worker::OnIdleSweep(evutil_socket_t, short, void* arg) {
  static_cast<Worker*>(arg)->KickIdle();
}

void Worker::KickIdle() {
  const RelTime now = env_->clock->Now();
  const RelTime limit = static_cast<RelTime>(options_.idle_timeout);
  std::vector<Connection*> idle;
  for (const auto& [raw, conn] : conns_) {
    // The clock ticks once a second, so "more than" keeps a client idle for at least the limit.
    if (raw->WaitingForCommand() && now > raw->last_active() && now - raw->last_active() > limit) {
      idle.push_back(raw);
    }
  }
  for (Connection* c : idle) {
    counters_->idle_kicks->Add();
    Close(c);
  }
}

}  // namespace mcd::server
