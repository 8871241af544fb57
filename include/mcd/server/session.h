// What the server needs from whoever speaks a protocol: a Session per connection, created through
// a SessionFactory that the app hands to the Server. The server moves bytes; the session frames
// them, runs them and writes the replies. The server includes nothing of a protocol (a CI check,
// scripts/check-deps.sh, enforces it), so a new protocol is a new session behind this interface,
// not new server code.
//
//   app ──builds──> SessionFactory (handler) ──given to──> Server
//   Server, per worker:      factory->ForWorker(id, budget)   -> WorkerSessions
//   Worker, per connection:  sessions->NewSession(fd, kTcp)   -> Session   (one per connection)
//   UdpSocket, once:         sessions->NewSession(fd, kUdp)   -> Session   (Reset() per datagram)
//
// Cost: one virtual call per Consume() and a few per read for the state queries; nothing per key
// or per byte.
//
// Thread-safety: a Session and its WorkerSessions are used by their worker's thread only. The
// SessionFactory's ForWorker() is called on the master thread before the workers start; its
// other members are called from any thread and must be thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mcd/util/out_buf.h"

namespace mcd::server {

class BufferBudget;

// How a session's client reaches the server.
enum class Transport : uint8_t {
  kTcp,
  kUnix,  // -s: a stream socket like TCP
  kUdp,   // one session per socket, Reset() for every datagram; replies cut into messages
};

// One entry of `stats conns`: a listening socket, a UDP socket or a client connection. The
// server describes them (sessions never see sockets); the handler formats them.
struct ConnDescription {
  int fd = -1;
  bool udp = false;         // a UDP socket: memcached prints "<fd>:UDP UDP" first
  std::string addr;         // "tcp:127.0.0.1:40000", "tcp6:[::1]:11211", "udp:...", "unix:/path"
  std::string listen_addr;  // the local address of a client connection; empty (not printed) else
  std::string_view state;   // memcached's state name ("conn_read", ...); a static string
  uint64_t secs_since_last_cmd = 0;
};

// The protocol state of one connection (or of one UDP socket, datagram by datagram).
class Session {
 public:
  virtual ~Session() = default;

  // Consumes as much of `in` as forms complete commands (and data blocks), appending replies to
  // `out`; returns the number of bytes consumed. Stops after max_commands commands (the caller
  // yields and calls again), once `out` holds more than max_output bytes (checked before each
  // command and after each key of a retrieval, so one multiget line cannot queue gigabytes; the
  // caller sends, and calls again once the output has drained), when the connection must close,
  // or when no complete command is left. Bytes not consumed must be passed again, with more
  // appended, on the next call. The session needs no line-length limit from the caller: it
  // closes on an over-long line itself.
  virtual size_t Consume(std::string_view in, OutBuf* out, int max_commands, size_t max_output) = 0;

  // The connection must be closed once `out` is sent (quit, protocol abuse).
  virtual bool want_close() const = 0;
  // Consume() stopped with input left because it reached max_commands or max_output, not
  // because input ran out.
  virtual bool yielded() const = 0;

  // For a data block that is not yet fully buffered: where the next bytes may be read directly
  // (zero copy into the item). Empty when no data block is pending. After reading n bytes
  // there, call DataWritten(n, out).
  virtual std::span<char> DirectDataSpan() = 0;
  virtual void DataWritten(size_t n, OutBuf* out) = 0;

  // memcached's name for the state between two reads, for `stats conns`: "conn_nread" while a
  // data block is awaited, "conn_swallow" while discarding one, else "conn_read". A static
  // string.
  virtual std::string_view ConnStateName() const = 0;
  // Inside a command: its data block, a swallow, or a streamed key list is still to come, or a
  // dump is being produced.
  virtual bool InCommand() const = 0;
  // A dump is being streamed: each Consume() call, even with no input, produces its next piece
  // (bounded, then yielded()), and commands that follow it wait until it has ended. Call
  // Consume() again once the output has drained below its limit.
  virtual bool Dumping() const = 0;
  // With a budget: everything produced so far has been sent; gives its reply objects back.
  virtual void RepliesSent() = 0;

  // Message boundaries (UDP sends each reply message in its own datagrams). While `ends` is set,
  // Consume() and DataWritten() append to it the offsets in `out` (out->size() at the time)
  // where one reply message ends and the next begins; the bytes after the last offset are the
  // last message, still open. The codec decides what a message is (classic text: each
  // command's reply, except that a retrieval's reply is one message per VALUE block, with END
  // riding on the last). Offsets stay valid while nothing is consumed from `out`. Null stops
  // recording; the setting survives Reset().
  virtual void MarkMessages(std::vector<size_t>* ends) = 0;

  // Starts over as a fresh session of the same connection (UDP: every datagram), dropping any
  // command under way and giving back what it holds. No allocation.
  virtual void Reset() = 0;
};

// One worker's maker of sessions, holding what the sessions of that worker share (the thread's
// counters, the worker's reply budget).
class WorkerSessions {
 public:
  virtual ~WorkerSessions() = default;
  // conn_id: the connection's fd (memcached's id in logs and `stats conns`).
  virtual std::unique_ptr<Session> NewSession(int conn_id, Transport transport) = 0;
};

class SessionFactory {
 public:
  virtual ~SessionFactory() = default;

  // Called on the master thread for each worker (0..threads-1) before it starts. budget: the
  // worker's share of -o read_buf_mem_limit (sessions take their reply objects from it), or
  // null without a limit; it outlives the result.
  virtual std::unique_ptr<WorkerSessions> ForWorker(int worker_id, BufferBudget* budget) = 0;

  // The release callback of every OutBuf the server hands to sessions: sessions queue
  // references to their own objects (cached items) and these give them back once sent.
  virtual OutBuf::ReleaseFn release_fn() const = 0;
  virtual void* release_ctx() const = 0;

  // Sent on a connection refused for -c (too many connections), before it is closed.
  virtual std::string_view TooManyConnectionsReply() const = 0;
};

}  // namespace mcd::server
