// One client connection on a worker thread: reads bytes, feeds the Session, sends its replies.
//
// Reads: into the worker's shared buffer, prefixed by the bytes of any incomplete command kept
// from the previous read; a large data block is read straight into the item being stored.
// Writes: everything the Session produced for one read leaves in one writev (more only if the
// kernel takes less). Backpressure: while more than max_pending_output bytes wait to be sent, the
// connection is not read, and the Session stops producing output past the same limit (the rest of
// the input waits in pending_ until the output drains). Fairness: at most reqs_per_event commands
// per event; the rest waits for the next loop turn (conn_yields).
#pragma once

#include <event2/event.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "mcd/server/buffer_budget.h"
#include "mcd/server/session.h"
#include "mcd/util/clock.h"
#include "mcd/util/out_buf.h"

namespace mcd::server {

class Worker;

class Connection {
 public:
  Connection(Worker* worker, int fd);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Registers the events; false if libevent refused.
  bool Start();
  int fd() const { return fd_; }
  // The `stats conns` entry. Thread-safe while the connection exists (the worker destroys it
  // only under the lock Worker::DescribeConns holds).
  ConnDescription Describe(RelTime now) const;
  // Worker thread only. When the last command was read (cached clock), for -o idle_timeout.
  RelTime last_active() const {
    return static_cast<RelTime>(activity_.load(std::memory_order_relaxed) >> 8);
  }
  // Waiting for a command with nothing to send: the state in which idle_timeout may close it.
  bool WaitingForCommand() const { return out_.empty() && !closing_ && !session_->InCommand(); }
  // Graceful stop: no command under way and nothing to send, so it may be closed now. Half a
  // command line does not count as a command (none has started; memcached drops it too).
  bool Quiescent() const;
  // Graceful stop: still receiving the rest of a command (its value, or a long key list), which
  // keeps its chance until the drain timeout (compatibility.md C14).
  bool ReceivingCommand() const { return !closing_ && session_->InCommand(); }

 private:
  static void OnRead(evutil_socket_t fd, short what, void* arg);
  static void OnWrite(evutil_socket_t fd, short what, void* arg);
  static void OnResume(evutil_socket_t fd, short what, void* arg);

  // Reads what is available (unless resuming a yielded batch) and processes it.
  void HandleRead(bool resume);
  // Sends pending output; returns false if the connection failed and was closed.
  bool Flush();
  // Enables/disables reading and write interest from the output and session state. During a
  // graceful stop it closes (and destroys) a connection the stop may close
  // (Worker::GracefulCloses): callers return right after it.
  void UpdateInterest();
  void CloseSoon();
  // Processes the bytes already buffered on a later loop turn, after other clients.
  void Resume();
  // Publishes the state after a read (and the time of it, when `command` is true) for
  // `stats conns`: one relaxed store.
  void NoteActivity(bool command);
  // -o read_buf_mem_limit: gives back the replies once all is sent, and the read buffer once
  // no command is under way.
  void SettleBudget();

  Worker* worker_;
  BufferBudget* budget_;  // the worker's; null without -o read_buf_mem_limit
  int fd_;
  std::unique_ptr<Session> session_;
  OutBuf out_;
  std::string pending_;  // bytes of an incomplete command from the previous read
  event* read_ev_ = nullptr;
  event* write_ev_ = nullptr;
  event* resume_ev_ = nullptr;
  bool reading_ = false;
  bool writing_ = false;
  bool closing_ = false;
  // Yielded at -R with little output queued: the output waits for the resumed turn, so a
  // pipelined batch (meta mg ... q ... mn) leaves in one write rather than one per -R commands.
  bool flush_deferred_ = false;
  bool has_read_buf_ = false;  // holds a read buffer of budget_
  // For `stats conns`: (time of the last read << 8) | state index; written by the worker thread
  // only, read by any thread.
  std::atomic<uint64_t> activity_{0};
};

}  // namespace mcd::server
