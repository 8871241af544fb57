#include "mcd/server/server.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "mcd/protocol/wire.h"
#include "worker.h"

namespace mcd::server {
namespace {

struct HostPort {
  std::string host;  // empty: all interfaces
  std::string port;
};

// Splits one -l entry: "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address.
HostPort SplitListen(const std::string& entry, int default_port) {
  HostPort hp{entry, std::to_string(default_port)};
  if (!entry.empty() && entry.front() == '[') {
    size_t close = entry.find(']');
    if (close != std::string::npos) {
      hp.host = entry.substr(1, close - 1);
      if (close + 1 < entry.size() && entry[close + 1] == ':') hp.port = entry.substr(close + 2);
    }
  } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
    size_t colon = entry.find(':');
    hp.host = entry.substr(0, colon);
    hp.port = entry.substr(colon + 1);
  }
  return hp;
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  handler::SharedContext* ctx;
  event_base* base = nullptr;
  std::vector<int> listen_fds;
  std::vector<event*> listen_evs;
  std::vector<std::unique_ptr<Worker>> workers;
  size_t next_worker = 0;
  int stop_fd = -1;
  event* stop_ev = nullptr;
  event* tick_ev = nullptr;
  std::function<void()> tick;

  static void OnAccept(evutil_socket_t fd, short, void* arg);
  static void OnStop(evutil_socket_t fd, short, void* arg);
  static void OnTick(evutil_socket_t, short, void* arg);
  bool BindOne(const HostPort& hp);
};

Server::Server(const ServerOptions& options, handler::SharedContext* ctx)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->ctx = ctx;
  evthread_use_pthreads();
  impl_->base = event_base_new();
  CHECK(impl_->base != nullptr);
  impl_->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  PCHECK(impl_->stop_fd >= 0) << "eventfd";
  impl_->stop_ev =
      event_new(impl_->base, impl_->stop_fd, EV_READ | EV_PERSIST, &Impl::OnStop, impl_.get());
  event_add(impl_->stop_ev, nullptr);
}

Server::~Server() {
  for (event* ev : impl_->listen_evs) event_free(ev);
  for (int fd : impl_->listen_fds) ::close(fd);
  impl_->workers.clear();
  if (impl_->tick_ev != nullptr) event_free(impl_->tick_ev);
  event_free(impl_->stop_ev);
  ::close(impl_->stop_fd);
  event_base_free(impl_->base);
}

void Server::OnEverySecond(std::function<void()> fn) { impl_->tick = std::move(fn); }

bool Server::Impl::BindOne(const HostPort& hp) {
  addrinfo hints{};
  hints.ai_flags = AI_PASSIVE | AI_ADDRCONFIG;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(hp.host.empty() ? nullptr : hp.host.c_str(), hp.port.c_str(), &hints, &res);
  if (rc != 0) {
    LOG(ERROR) << "getaddrinfo(" << hp.host << ":" << hp.port << "): " << gai_strerror(rc);
    return false;
  }
  bool any = false;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    // Accepted sockets inherit TCP_NODELAY: replies go out at once, with no syscall per accept.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno == EADDRINUSE) {
        PLOG(ERROR) << "failed to listen on TCP port " << hp.port;
        ::close(fd);
        freeaddrinfo(res);
        return false;
      }
      ::close(fd);
      continue;
    }
    if (listen(fd, options.backlog) != 0) {
      PLOG(ERROR) << "listen";
      ::close(fd);
      continue;
    }
    listen_fds.push_back(fd);
    any = true;
  }
  freeaddrinfo(res);
  return any;
}

bool Server::Listen() {
  if (impl_->options.port == 0 && impl_->options.listen.empty()) return true;
  std::vector<std::string> entries = impl_->options.listen;
  if (entries.empty()) entries.push_back("");
  for (const std::string& e : entries) {
    if (!impl_->BindOne(SplitListen(e, impl_->options.port))) return false;
  }
  for (int fd : impl_->listen_fds) {
    event* ev = event_new(impl_->base, fd, EV_READ | EV_PERSIST, &Impl::OnAccept, impl_.get());
    event_add(ev, nullptr);
    impl_->listen_evs.push_back(ev);
  }
  return !impl_->listen_fds.empty();
}

int Server::BoundPort() const {
  if (impl_->listen_fds.empty()) return 0;
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(impl_->listen_fds[0], reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

void Server::Run() {
  Impl& m = *impl_;
  for (int i = 0; i < m.options.threads; ++i) {
    m.workers.push_back(std::make_unique<Worker>(i, m.options, m.ctx, m.ctx->stats->Thread(i)));
  }
  for (auto& w : m.workers) w->Start();
  if (m.tick) {
    m.tick_ev = event_new(m.base, -1, EV_PERSIST, &Impl::OnTick, &m);
    timeval one_sec{1, 0};
    event_add(m.tick_ev, &one_sec);
  }
  event_base_dispatch(m.base);
  for (auto& w : m.workers) w->StopAndJoin();
}

void Server::Stop() {
  uint64_t one = 1;
  ssize_t ignored = ::write(impl_->stop_fd, &one, sizeof(one));
  (void)ignored;
}

void Server::Impl::OnStop(evutil_socket_t fd, short, void* arg) {
  uint64_t v;
  ssize_t ignored = ::read(fd, &v, sizeof(v));
  (void)ignored;
  event_base_loopbreak(static_cast<Impl*>(arg)->base);
}

void Server::Impl::OnTick(evutil_socket_t, short, void* arg) { static_cast<Impl*>(arg)->tick(); }

void Server::Impl::OnAccept(evutil_socket_t lfd, short, void* arg) {
  Impl& m = *static_cast<Impl*>(arg);
  stats::ServerStats& st = m.ctx->stats->Server();
  // Accept a bounded batch per event so one busy listener cannot starve the loop.
  for (int i = 0; i < 64; ++i) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        PLOG(ERROR) << "accept";
      }
      return;
    }
    st.total_connections.fetch_add(1, std::memory_order_relaxed);
    if (st.curr_connections.load(std::memory_order_relaxed) >=
        static_cast<uint64_t>(m.options.max_connections)) {
      std::string_view msg = protocol::wire::kTooManyConnections;
      ssize_t ignored = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)ignored;
      ::close(fd);
      st.rejected_connections.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    st.curr_connections.fetch_add(1, std::memory_order_relaxed);
    m.workers[m.next_worker]->Adopt(fd);
    m.next_worker = (m.next_worker + 1) % m.workers.size();
  }
}

}  // namespace mcd::server
