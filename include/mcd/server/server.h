// The network server: a libevent master thread owning the listeners, handing each accepted
// connection to one of N worker threads, each running its own event loop.
//
// The only module that includes libevent, and it knows no protocol: connections are served by
// the sessions of a SessionFactory (server/session.h) that the app hands in. Thread-safety: Run()
// blocks the calling thread (the master); Stop() may be called from any thread or a signal-safe
// context via the self-pipe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mcd/server/counters.h"
#include "mcd/server/session.h"
#include "mcd/util/clock.h"

namespace mcd::server {

struct ServerOptions {
  int port = 11211;                 // -p; 0 = no TCP listener, -1 = a port the kernel picks
  std::vector<std::string> listen;  // -l (may hold "a,b" lists already split); empty = all
  int backlog = 1024;               // -b
  int threads = 4;                  // -t
  int max_connections = 1024;       // -c
  int reqs_per_event = 20;          // -R
  int verbosity = 0;                // -v count
  int udp_port = 0;  // -U; 0 = no UDP listener (memcached's default since 1.5.6), -1 = any port
  std::string unix_socket;  // -s; when set, the only listener (no TCP, no UDP)
  int unix_mask = 0700;     // -a: permission bits of the unix socket file
  // Bytes of pending output above which a connection stops being read until it drains.
  size_t max_pending_output = 4 << 20;
  // -o idle_timeout: seconds without activity after which a connection is closed; 0 = never.
  int idle_timeout = 0;
  // -o read_buf_mem_limit, in bytes; 0 = no limit. Split evenly between the workers, each
  // counting its connections' read buffers and replies against its share
  // (server/buffer_budget.h).
  uint64_t read_buf_mem_limit = 0;
  // StopGraceful(): longest wait for busy connections to finish before Run() returns anyway.
  int drain_timeout_ms = 5000;
};

// One bound TCP listener or UDP address (not the unix socket), as memcached writes them to the
// MEMCACHED_PORT_FILENAME file.
struct ListenPort {
  bool udp = false;
  bool inet6 = false;
  int port = 0;  // the port actually bound (the kernel's choice for -p -1 / -U -1)
};

// What the server needs from the process around it; the app fills it in. Pointers are not owned
// and must outlive the Server.
struct ServerEnv {
  const Clock* clock = nullptr;  // the cached clock: connection activity, -o idle_timeout
  RelTime started = 0;           // clock->Now() at start: the listeners' age in `stats conns`
  const std::atomic<int>* verbosity = nullptr;  // -v level, which may change at run time
  ConnCounters conns;
  std::vector<WorkerCounters> workers;  // one per thread (options.threads)
};

// The version of the libevent linked in (`stats` reports it).
std::string LibeventVersion();

class Server {
 public:
  // sessions: serves every connection (not owned; ForWorker() is called from Run()).
  Server(const ServerOptions& options, SessionFactory* sessions, ServerEnv env);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listeners; false (with a logged reason) if none could be bound.
  bool Listen();
  // The TCP port actually bound (useful with port 0 in tests).
  int BoundPort() const;
  // Every TCP listener, then every UDP address, in the order bound. Call after Listen().
  std::vector<ListenPort> ListenPorts() const;
  // Runs until Stop(); starts and joins the worker threads.
  void Run();
  // Asks Run() to return. Async-signal-safe.
  void Stop();
  // Graceful stop (SIGUSR1, `shutdown graceful`): closes the listeners at once, closes idle
  // connections (no command under way, nothing to send; half a command line counts as idle),
  // lets the others finish the command they are in and send their replies, then Run() returns
  // as soon as none is left. After a second, connections that only have replies left to send (a
  // client not reading them) are closed too; one still receiving a command's value has until
  // drain_timeout_ms. Async-signal-safe.
  void StopGraceful();
  // fn runs on the master thread once a second while Run() runs (the clock tick). Call before
  // Run().
  void OnEverySecond(std::function<void()> fn);
  // `stats conns`: every listener, UDP socket and connection, sorted by fd; the one whose
  // conn_id is caller_conn_id (the session asking) in state conn_parse_cmd. Thread-safe while
  // Run() runs (sessions call it); empty before.
  std::vector<ConnDescription> ListConns(int caller_conn_id) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcd::server
