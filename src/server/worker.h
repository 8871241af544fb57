// A worker thread: one libevent loop serving the connections the master hands it.
//
//   master --accept--> Worker::Adopt(fd) --queue+eventfd--> worker loop --> Connection
//
// Connections never move between workers. A worker's read buffer is shared by all its
// connections (they run one at a time), so an idle connection holds no read buffer; only the
// bytes of a command still incomplete at the end of a read are kept per connection.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "mcd/server/buffer_budget.h"
#include "mcd/server/counters.h"
#include "mcd/server/server.h"
#include "mcd/server/session.h"
#include "mcd/util/out_buf.h"

namespace mcd::server {

class Connection;
class UdpSocket;

class Worker {
 public:
  // Gets its sessions from factory->ForWorker(id, budget()) (on the calling thread, the master).
  Worker(int id, const ServerOptions& options, const ServerEnv* env, const WorkerCounters* counters,
         SessionFactory* factory);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Start();
  // Asks the loop to stop, closes every connection, joins the thread. Thread-safe.
  void StopAndJoin();
  // Hands an accepted, non-blocking socket to this worker. Thread-safe (called by the master).
  void Adopt(int fd);
  // Gives this worker a bound UDP socket to serve (takes ownership). Call before Start().
  void AddUdpSocket(int fd);
  // Appends the `stats conns` entries of this worker's connections and UDP sockets.
  // Thread-safe: holds conns_mu_, under which connections are added and destroyed.
  void DescribeConns(RelTime now, int caller_conn_id, std::vector<ConnDescription>* out);
  // Graceful stop: closes the connections that are between commands with nothing to send and
  // lets the others close themselves as soon as they are (Connection::UpdateInterest).
  // Thread-safe. GracefullyDone() turns true once no connection is left.
  void StopGracefully();
  bool GracefullyDone() const { return graceful_done_.load(std::memory_order_acquire); }
  // Later in a graceful stop: also closes the connections that only have replies left to send
  // (a client not reading them), keeping those still receiving a command. Thread-safe.
  void CutGracefully();

  // --- used by Connection, on the worker thread --------------------------------------------
  event_base* base() { return base_; }
  const ServerOptions& options() const { return options_; }
  const ServerEnv& env() const { return *env_; }
  const WorkerCounters& counters() const { return *counters_; }
  // Makes the sessions of this worker's connections and UDP sockets.
  WorkerSessions* sessions() { return sessions_.get(); }
  // What every OutBuf of this worker is built with: the factory's release callback, the pool.
  OutBuf NewOutBuf() { return OutBuf(factory_->release_fn(), factory_->release_ctx(), &out_pool_); }
  // How this worker's stream connections reach it (TCP, or the -s unix socket).
  Transport stream_transport() const {
    return options_.unix_socket.empty() ? Transport::kTcp : Transport::kUnix;
  }
  char* read_buffer() { return rbuf_.get(); }
  OutBlockPool* out_pool() { return &out_pool_; }
  // This worker's share of -o read_buf_mem_limit; null without a limit.
  BufferBudget* budget() { return budget_.get(); }
  size_t read_buffer_size() const { return kReadBufferSize; }
  // Counts a connection served in this loop turn.
  void NoteServed() { ++served_; }
  // Closes and frees a connection.
  void Close(Connection* conn);
  // A graceful stop is under way: connections close once they have nothing left to do.
  bool stopping_gracefully() const { return graceful_; }
  // Whether a graceful stop would close `conn` now (see CloseQuiescent).
  bool GracefulCloses(const Connection& conn) const;

  static constexpr size_t kReadBufferSize = 64 * 1024;

 private:
  static constexpr int kYieldAfter = 1;
  void Loop();
  static void OnNotify(evutil_socket_t fd, short what, void* arg);
  void DrainQueue();
  static void OnIdleSweep(evutil_socket_t fd, short what, void* arg);
  // Closes the connections idle for longer than options_.idle_timeout (counted in idle_kicks).
  void KickIdle();
  // Graceful stop: closes the Quiescent() connections, or after CutGracefully() all but those
  // ReceivingCommand().
  void CloseQuiescent();

  int id_;
  const ServerOptions& options_;
  const ServerEnv* env_;
  const WorkerCounters* counters_;
  SessionFactory* factory_;
  event_base* base_ = nullptr;
  int notify_fd_ = -1;  // eventfd
  event* notify_ev_ = nullptr;
  std::thread thread_;
  std::unique_ptr<char[]> rbuf_;
  bool loop_done_ = false;  // worker thread only
  int served_ = 0;          // connections served in the current loop turn; worker thread only
  OutBlockPool out_pool_;   // before conns_: connections return their blocks when destroyed
  std::unique_ptr<BufferBudget> budget_;      // before sessions_ and conns_, for the same reason
  std::unique_ptr<WorkerSessions> sessions_;  // before conns_: sessions may use it to the end

  std::mutex mu_;
  std::vector<int> queue_;           // accepted fds waiting to be adopted; guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  bool graceful_requested_ = false;  // guarded by mu_
  bool cut_requested_ = false;       // guarded by mu_

  bool graceful_ = false;                   // worker thread only
  bool cut_ = false;                        // worker thread only
  std::atomic<bool> graceful_done_{false};  // set by the worker thread, read by the master
  event* idle_ev_ = nullptr;                // once-a-second sweep when idle_timeout > 0

  // Changed only under conns_mu_ (so DescribeConns may read it from another thread); the
  // worker thread reads it without the lock.
  std::mutex conns_mu_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> conns_;
  std::vector<std::unique_ptr<UdpSocket>> udp_;  // fixed once the thread starts
};

}  // namespace mcd::server
