// A worker thread: one libevent loop serving the connections the master hands it.
//
//   master --accept--> Worker::Adopt(fd) --queue+eventfd--> worker loop --> Connection
//
// Connections never move between workers. A worker's read buffer is shared by all its
// connections (they run one at a time), so an idle connection holds no read buffer; only the
// bytes of a command still incomplete at the end of a read are kept per connection.
#pragma once

#include <event2/event.h>

#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "mcd/handler/session.h"
#include "mcd/server/server.h"
#include "mcd/stats/stats.h"
#include "mcd/util/out_buf.h"

namespace mcd::server {

class Connection;

class Worker {
 public:
  Worker(int id, const ServerOptions& options, handler::SharedContext* ctx,
         stats::ThreadStats* thread_stats);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Start();
  // Asks the loop to stop, closes every connection, joins the thread. Thread-safe.
  void StopAndJoin();
  // Hands an accepted, non-blocking socket to this worker. Thread-safe (called by the master).
  void Adopt(int fd);

  // --- used by Connection, on the worker thread --------------------------------------------
  event_base* base() { return base_; }
  const ServerOptions& options() const { return options_; }
  handler::SharedContext* ctx() { return ctx_; }
  stats::ThreadStats* thread_stats() { return thread_stats_; }
  char* read_buffer() { return rbuf_.get(); }
  OutBlockPool* out_pool() { return &out_pool_; }
  size_t read_buffer_size() const { return kReadBufferSize; }
  // Counts a connection served in this loop turn.
  void NoteServed() { ++served_; }
  // Closes and frees a connection.
  void Close(Connection* conn);

  static constexpr size_t kReadBufferSize = 64 * 1024;

 private:
  static constexpr int kYieldAfter = 1;
  void Loop();
  static void OnNotify(evutil_socket_t fd, short what, void* arg);
  void DrainQueue();

  int id_;
  const ServerOptions& options_;
  handler::SharedContext* ctx_;
  stats::ThreadStats* thread_stats_;
  event_base* base_ = nullptr;
  int notify_fd_ = -1;  // eventfd
  event* notify_ev_ = nullptr;
  std::thread thread_;
  std::unique_ptr<char[]> rbuf_;
  bool loop_done_ = false;  // worker thread only
  int served_ = 0;          // connections served in the current loop turn; worker thread only
  OutBlockPool out_pool_;   // before conns_: connections return their blocks when destroyed

  std::mutex mu_;
  std::vector<int> queue_;  // accepted fds waiting to be adopted; guarded by mu_
  bool stopping_ = false;   // guarded by mu_

  std::unordered_map<Connection*, std::unique_ptr<Connection>> conns_;  // worker thread only
};

}  // namespace mcd::server
