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
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>

#include "sock_addr.h"
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

// The port a socket is bound to; 0 if unknown.
int LocalPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family != AF_INET6) return 0;
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

// Sets the port of an AF_INET or AF_INET6 address.
void SetPort(sockaddr_storage* ss, int port) {
  const uint16_t p = htons(static_cast<uint16_t>(port));
  if (ss->ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(ss)->sin_port = p;
  if (ss->ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(ss)->sin6_port = p;
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  SessionFactory* sessions;
  ServerEnv env;
  event_base* base = nullptr;
  std::vector<int> listen_fds;
  std::vector<event*> listen_evs;
  std::vector<std::unique_ptr<Worker>> workers;
  size_t next_worker = 0;
  int stop_fd = -1;
  event* stop_ev = nullptr;
  // What the stop_fd wake-up asks for: 0 nothing, kStopGraceful, kStopNow (the stronger wins).
  std::atomic<int> stop_mode{0};
  event* drain_ev = nullptr;  // graceful stop: polls the workers until drained or the deadline
  std::chrono::steady_clock::time_point drain_cut;  // then only commands being received stay
  bool drain_cut_done = false;
  std::chrono::steady_clock::time_point drain_deadline;
  event* tick_ev = nullptr;
  std::function<void()> tick;
  // UDP sockets: one group per bound address, one socket per worker in each group.
  std::vector<std::vector<int>> udp_groups;
  // The unix socket file we created (-s), removed at exit if it is still ours.
  bool unix_bound = false;
  dev_t unix_dev = 0;
  ino_t unix_ino = 0;
  // `stats conns` entries of the listeners, fixed when Run() starts the workers.
  std::vector<ConnDescription> listener_descs;
  // What Listen() bound, for ListenPorts().
  std::vector<ListenPort> tcp_ports;
  std::vector<ListenPort> udp_ports;

  static void OnAccept(evutil_socket_t fd, short, void* arg);
  static void OnStop(evutil_socket_t fd, short, void* arg);
  static void OnTick(evutil_socket_t, short, void* arg);
  static void OnDrainCheck(evutil_socket_t, short, void* arg);
  bool BindOne(const HostPort& hp);
  bool BindUdp(const std::string& host, int port);
  bool BindUnix();
  void BeginGracefulStop();
};

namespace {
constexpr int kStopGraceful = 1;
constexpr int kStopNow = 2;
// Graceful stop: after this long, connections that only have replies left to send (a client not
// reading them) are closed too; memcached closes every connection at its next clock tick.
constexpr int kGracefulCutMs = 1000;
}  // namespace

std::string LibeventVersion() { return event_get_version(); }

Server::Server(const ServerOptions& options, SessionFactory* sessions, ServerEnv env)
    : impl_(std::make_unique<Impl>()) {
  CHECK(sessions != nullptr && env.clock != nullptr && env.verbosity != nullptr);
  CHECK_EQ(env.workers.size(), static_cast<size_t>(options.threads));
  impl_->options = options;
  impl_->sessions = sessions;
  impl_->env = std::move(env);
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
  if (impl_->unix_bound) {
    // Unlike memcached, remove the socket file at exit, unless another server replaced it.
    struct stat st {};
    const char* path = impl_->options.unix_socket.c_str();
    if (lstat(path, &st) == 0 && st.st_dev == impl_->unix_dev && st.st_ino == impl_->unix_ino) {
      ::unlink(path);
    }
  }
  impl_->workers.clear();
  for (const auto& group : impl_->udp_groups) {
    for (int fd : group) {
      if (fd >= 0) ::close(fd);
    }
  }
  if (impl_->tick_ev != nullptr) event_free(impl_->tick_ev);
  if (impl_->drain_ev != nullptr) event_free(impl_->drain_ev);
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
    tcp_ports.push_back({false, ai->ai_family == AF_INET6, LocalPort(fd)});
    any = true;
  }
  freeaddrinfo(res);
  return any;
}

bool Server::Impl::BindUdp(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_flags = AI_PASSIVE | AI_ADDRCONFIG;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  std::string port_str = std::to_string(std::max(port, 0));  // -1: the kernel picks one
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port_str.c_str(), &hints, &res);
  if (rc != 0) {
    LOG(ERROR) << "getaddrinfo(" << host << ":" << port << "): " << gai_strerror(rc);
    return false;
  }
  const int one = 1;
  auto open_socket = [&](const addrinfo* ai, const sockaddr_storage& addr, bool reuseport) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), ai->ai_addrlen) != 0) {
      int err = errno;
      ::close(fd);
      errno = err;
      return -1;
    }
    return fd;
  };
  bool ok = true;
  bool any = false;
  for (addrinfo* ai = res; ai != nullptr && ok; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    sockaddr_storage addr{};
    std::memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
    // Probe with a plain bind: it fails if any other socket holds the port, so a taken port is
    // refused although the group below shares it with SO_REUSEPORT (see udp.h). For an
    // ephemeral port the probe also learns which port the kernel picked, for the whole group.
    int probe = open_socket(ai, addr, false);
    if (probe < 0) {
      if (errno == EADDRINUSE) {
        PLOG(ERROR) << "failed to listen on UDP port " << port;
        ok = false;
      }
      continue;
    }
    const int bound = LocalPort(probe);
    ::close(probe);
    SetPort(&addr, bound);
    std::vector<int> group;
    for (int i = 0; i < options.threads; ++i) {
      int fd = open_socket(ai, addr, true);
      if (fd < 0) {
        PLOG(ERROR) << "failed to listen on UDP port " << port;
        ok = false;
        break;
      }
      group.push_back(fd);
    }
    if (!ok) {
      for (int fd : group) ::close(fd);
      break;
    }
    udp_groups.push_back(std::move(group));
    udp_ports.push_back({true, ai->ai_family == AF_INET6, bound});
    any = true;
  }
  freeaddrinfo(res);
  return ok && any;
}

bool Server::Impl::BindUnix() {
  const std::string& path = options.unix_socket;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    LOG(ERROR) << "unix socket path too long: " << path;
    return false;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  // As memcached: a socket file left at the path (by a crashed or even a running server) is
  // replaced; any other kind of file makes bind fail.
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    PLOG(ERROR) << "socket";
    return false;
  }
  // bind creates the file under the umask, so the umask makes its mode (0777 & -a mask).
  mode_t old_mask = umask(static_cast<mode_t>(~options.unix_mask & 0777));
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  umask(old_mask);
  if (rc != 0 || listen(fd, options.backlog) != 0) {
    PLOG(ERROR) << "failed to listen on UNIX socket: " << path;
    ::close(fd);
    return false;
  }
  if (lstat(path.c_str(), &st) == 0) {
    unix_bound = true;
    unix_dev = st.st_dev;
    unix_ino = st.st_ino;
  }
  listen_fds.push_back(fd);
  return true;
}

bool Server::Listen() {
  Impl& m = *impl_;
  if (!m.options.unix_socket.empty()) {
    // As memcached, -s replaces the TCP and UDP listeners.
    if (!m.BindUnix()) return false;
  } else {
    std::vector<std::string> entries = m.options.listen;
    if (entries.empty()) entries.push_back("");
    if (m.options.udp_port != 0) {
      for (const std::string& e : entries) {
        if (!m.BindUdp(SplitListen(e, m.options.udp_port).host, m.options.udp_port)) {
          return false;
        }
      }
    }
    // As memcached, -p 0 means no TCP listener (even with -l), and then nothing listening at
    // all is not an error.
    if (m.options.port == 0) return true;
    for (const std::string& e : entries) {
      // -1: a port of the kernel's choice, for each address (as memcached).
      if (!m.BindOne(SplitListen(e, std::max(m.options.port, 0)))) return false;
    }
  }
  for (int fd : impl_->listen_fds) {
    event* ev = event_new(impl_->base, fd, EV_READ | EV_PERSIST, &Impl::OnAccept, impl_.get());
    event_add(ev, nullptr);
    impl_->listen_evs.push_back(ev);
  }
  return !impl_->listen_fds.empty();
}

int Server::BoundPort() const {
  return impl_->listen_fds.empty() ? 0 : LocalPort(impl_->listen_fds[0]);
}

std::vector<ListenPort> Server::ListenPorts() const {
  std::vector<ListenPort> all = impl_->tcp_ports;
  all.insert(all.end(), impl_->udp_ports.begin(), impl_->udp_ports.end());
  return all;
}

void Server::Run() {
  Impl& m = *impl_;
  for (int i = 0; i < m.options.threads; ++i) {
    m.workers.push_back(
        std::make_unique<Worker>(i, m.options, &m.env, &m.env.workers[i], m.sessions));
  }
  for (auto& group : m.udp_groups) {
    for (size_t i = 0; i < group.size() && i < m.workers.size(); ++i) {
      m.workers[i]->AddUdpSocket(group[i]);
      group[i] = -1;  // the worker owns it now
    }
  }
  // Snapshot for `stats conns` (listen_fds may change while the workers run).
  for (int fd : m.listen_fds) {
    ConnDescription d;
    d.fd = fd;
    d.addr = LocalAddr(fd, "tcp");
    d.state = "conn_listening";
    m.listener_descs.push_back(std::move(d));
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

std::vector<ConnDescription> Server::ListConns(int caller_conn_id) const {
  const Impl& m = *impl_;
  const RelTime now = m.env.clock->Now();
  std::vector<ConnDescription> out = m.listener_descs;
  for (auto& d : out) d.secs_since_last_cmd = now > m.env.started ? now - m.env.started : 0;
  for (const auto& w : m.workers) w->DescribeConns(now, caller_conn_id, &out);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.fd < b.fd; });
  for (auto& d : out) {
    if (d.fd == caller_conn_id) d.state = "conn_parse_cmd";
  }
  return out;
}

void Server::Stop() {
  impl_->stop_mode.store(kStopNow);
  uint64_t one = 1;
  ssize_t ignored = ::write(impl_->stop_fd, &one, sizeof(one));
  (void)ignored;
}

void Server::StopGraceful() {
  int none = 0;
  // Lock-free atomics are async-signal-safe; a pending immediate stop is not weakened.
  impl_->stop_mode.compare_exchange_strong(none, kStopGraceful);
  uint64_t one = 1;
  ssize_t ignored = ::write(impl_->stop_fd, &one, sizeof(one));
  (void)ignored;
}

void Server::Impl::OnStop(evutil_socket_t fd, short, void* arg) {
  Impl& m = *static_cast<Impl*>(arg);
  uint64_t v;
  ssize_t ignored = ::read(fd, &v, sizeof(v));
  (void)ignored;
  if (m.stop_mode.load() == kStopGraceful) {
    if (m.drain_ev == nullptr) m.BeginGracefulStop();
    return;
  }
  event_base_loopbreak(m.base);
}

void Server::Impl::BeginGracefulStop() {
  std::fputs("Gracefully stopping\n", stderr);  // memcached's words, on stderr at any -v
  for (event* ev : listen_evs) event_free(ev);
  for (int fd : listen_fds) ::close(fd);
  listen_evs.clear();
  listen_fds.clear();
  env.conns.accepting_conns->store(false, std::memory_order_relaxed);
  for (auto& w : workers) w->StopGracefully();
  const auto now = std::chrono::steady_clock::now();
  drain_cut = now + std::chrono::milliseconds(std::min(kGracefulCutMs, options.drain_timeout_ms));
  drain_deadline = now + std::chrono::milliseconds(options.drain_timeout_ms);
  drain_ev = event_new(base, -1, EV_PERSIST, &Impl::OnDrainCheck, this);
  timeval every{0, 20 * 1000};
  event_add(drain_ev, &every);
}

void Server::Impl::OnDrainCheck(evutil_socket_t, short, void* arg) {
  Impl& m = *static_cast<Impl*>(arg);
  bool drained = std::all_of(m.workers.begin(), m.workers.end(),
                             [](const std::unique_ptr<Worker>& w) { return w->GracefullyDone(); });
  const auto now = std::chrono::steady_clock::now();
  if (drained || now >= m.drain_deadline) {
    event_base_loopbreak(m.base);
    return;
  }
  if (!m.drain_cut_done && now >= m.drain_cut) {
    m.drain_cut_done = true;
    for (auto& w : m.workers) w->CutGracefully();
  }
}

void Server::Impl::OnTick(evutil_socket_t, short, void* arg) { static_cast<Impl*>(arg)->tick(); }

void Server::Impl::OnAccept(evutil_socket_t lfd, short, void* arg) {
  Impl& m = *static_cast<Impl*>(arg);
  const ConnCounters& st = m.env.conns;
  // Accept a bounded batch per event so one busy listener cannot starve the loop.
  for (int i = 0; i < 64; ++i) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        PLOG(ERROR) << "accept";
      }
      return;
    }
    st.total_connections->fetch_add(1, std::memory_order_relaxed);
    if (st.curr_connections->load(std::memory_order_relaxed) >=
        static_cast<uint64_t>(m.options.max_connections)) {
      std::string_view msg = m.sessions->TooManyConnectionsReply();
      ssize_t ignored = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)ignored;
      ::close(fd);
      st.rejected_connections->fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    st.curr_connections->fetch_add(1, std::memory_order_relaxed);
    m.workers[m.next_worker]->Adopt(fd);
    m.next_worker = (m.next_worker + 1) % m.workers.size();
  }
}

}  // namespace mcd::server
