// UDP: the text protocol in datagrams, framed as memcached frames them (`-U <port>`, off by
// default).
//
// Every datagram, in both directions, starts with an 8-byte header of four big-endian 16-bit
// fields:
//
//   0           2           4           6           8
//   +-----------+-----------+-----------+-----------+---------------------------------+
//   | request id| seq number| datagrams | reserved  | payload: text protocol bytes    |
//   |           | (0..n-1)  | total (n) | (0)       | (at most 1392 bytes in a reply) |
//   +-----------+-----------+-----------+-----------+---------------------------------+
//
// Requests: one datagram holding one or more complete commands (a storage command with its whole
// data block). A datagram of 8 bytes or less, or whose total is not 1, is dropped without a
// reply, as memcached drops it; the sequence number and the reserved field of a request are not
// checked (memcached ignores them too). Each datagram starts a fresh session (the socket's one
// Session, Reset()): nothing carries over to the next datagram, so an incomplete command at its
// end is dropped without a reply.
//
// Replies: the session marks where each reply message ends (Session::MarkMessages; for classic
// text, each command's reply is a message and a retrieval reply is one message per VALUE block,
// with END riding on the last one, as memcached sends one response object per key). The server
// only cuts: each message is cut into datagrams of at most 1400 bytes including the header,
// numbered 0..n-1, each carrying the request id and n. This is what memcached 1.6.18 sends,
// measured: a 5000-byte value comes back as datagrams of 1400, 1400, 1400 and 857 bytes.
//
// Threading: each worker owns its own UDP socket per address, all bound to the same port with
// SO_REUSEPORT, so the kernel spreads clients over the workers by address hash, no worker wakes
// for a datagram another one reads, and nothing is shared between threads but the cache.
// (memcached instead registers one socket in every worker's loop, and every datagram wakes them
// all.) The sockets are bound after a probe bind without SO_REUSEPORT, so a port already taken
// by another process is still refused at start, as with memcached.
#pragma once

#include <event2/event.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mcd/server/session.h"
#include "mcd/util/clock.h"
#include "mcd/util/out_buf.h"

namespace mcd::server {

class Worker;

constexpr size_t kUdpHeaderSize = 8;
constexpr size_t kUdpMaxDatagram = 1400;  // header included
constexpr size_t kUdpMaxPayload = kUdpMaxDatagram - kUdpHeaderSize;

struct UdpHeader {
  uint16_t request_id = 0;
  uint16_t seq = 0;
  uint16_t total = 0;
  uint16_t reserved = 0;
};

// Reads the header of a received datagram; false if it is too short.
bool ReadUdpHeader(std::string_view datagram, UdpHeader* out);
void WriteUdpHeader(const UdpHeader& h, char out[kUdpHeaderSize]);

// One UDP socket served by one worker thread.
class UdpSocket {
 public:
  // Takes ownership of fd (bound, non-blocking).
  UdpSocket(Worker* worker, int fd);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Registers the read event on the worker's loop; false if libevent refused.
  bool Start();
  int fd() const { return fd_; }
  // The `stats conns` entry. As memcached shows it: the local address, except for the socket
  // that is asking (it reads the request of caller_conn_id), which shows the request's sender
  // and the local address as listen_addr. Thread-safe.
  ConnDescription Describe(RelTime now, int caller_conn_id) const;

 private:
  static void OnRead(evutil_socket_t fd, short what, void* arg);
  void HandleDatagram(std::string_view datagram, const sockaddr* peer, socklen_t peer_len);
  // Sends out_ as the messages the session marked in ends_, then empties both.
  void SendReplies(uint16_t request_id, const sockaddr* peer, socklen_t peer_len);
  void SendMessage(uint16_t request_id, std::string_view msg, const sockaddr* peer,
                   socklen_t peer_len);

  Worker* worker_;
  int fd_;
  event* read_ev_ = nullptr;
  // One session for every datagram (Reset() between them), and buffers kept from one datagram to
  // the next: a datagram allocates nothing once they are warm.
  std::unique_ptr<Session> session_;
  OutBuf out_;
  std::vector<size_t> ends_;  // message ends in out_, marked by the session
  std::string reply_;         // out_'s bytes, contiguous, to cut into datagrams

  // Last datagram's sender and time, for `stats conns`; written by the worker per datagram.
  mutable std::mutex mu_;
  sockaddr_storage last_peer_{};  // guarded by mu_
  socklen_t last_peer_len_ = 0;   // guarded by mu_; 0 until the first datagram
  RelTime last_cmd_ = 0;          // guarded by mu_
};

}  // namespace mcd::server
