#include "udp.h"

#include <errno.h>
#include <glog/logging.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "sock_addr.h"
#include "worker.h"

namespace mcd::server {
namespace {

// Datagrams read per readable event before the loop serves the worker's other clients.
constexpr int kDatagramsPerEvent = 32;

uint16_t Get16(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}

void Put16(uint16_t v, char* p) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v & 0xff);
}

}  // namespace

bool ReadUdpHeader(std::string_view datagram, UdpHeader* out) {
  if (datagram.size() < kUdpHeaderSize) return false;
  const char* p = datagram.data();
  out->request_id = Get16(p);
  out->seq = Get16(p + 2);
  out->total = Get16(p + 4);
  out->reserved = Get16(p + 6);
  return true;
}

void WriteUdpHeader(const UdpHeader& h, char out[kUdpHeaderSize]) {
  Put16(h.request_id, out);
  Put16(h.seq, out + 2);
  Put16(h.total, out + 4);
  Put16(h.reserved, out + 6);
}

UdpSocket::UdpSocket(Worker* worker, int fd)
    : worker_(worker),
      fd_(fd),
      session_(worker->sessions()->NewSession(fd, Transport::kUdp)),
      out_(worker->NewOutBuf()),
      last_cmd_(worker->env().clock->Now()) {
  session_->MarkMessages(&ends_);
}

UdpSocket::~UdpSocket() {
  if (read_ev_ != nullptr) event_free(read_ev_);
  out_.Clear();
  session_.reset();
  ::close(fd_);
}

bool UdpSocket::Start() {
  read_ev_ = event_new(worker_->base(), fd_, EV_READ | EV_PERSIST, &UdpSocket::OnRead, this);
  return read_ev_ != nullptr && event_add(read_ev_, nullptr) == 0;
}

void UdpSocket::OnRead(evutil_socket_t, short, void* arg) {
  auto* u = static_cast<UdpSocket*>(arg);
  u->worker_->NoteServed();
  // The worker's read buffer (64 KB) holds any datagram (at most 65507 bytes of UDP payload).
  char* buf = u->worker_->read_buffer();
  const size_t cap = u->worker_->read_buffer_size();
  for (int i = 0; i < kDatagramsPerEvent; ++i) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    ssize_t n = ::recvfrom(u->fd_, buf, cap, 0, reinterpret_cast<sockaddr*>(&peer), &peer_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: drained; anything else is per datagram (e.g. ICMP errors) and passes
    }
    u->worker_->counters().bytes_read->Add(static_cast<uint64_t>(n));
    u->HandleDatagram(std::string_view(buf, static_cast<size_t>(n)),
                      reinterpret_cast<sockaddr*>(&peer), peer_len);
  }
}

void UdpSocket::HandleDatagram(std::string_view datagram, const sockaddr* peer,
                               socklen_t peer_len) {
  UdpHeader h;
  // memcached needs more than the header and exactly one datagram in the request.
  if (datagram.size() <= kUdpHeaderSize || !ReadUdpHeader(datagram, &h) || h.total != 1) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::memcpy(&last_peer_, peer, std::min<size_t>(peer_len, sizeof(last_peer_)));
    last_peer_len_ = peer_len;
    last_cmd_ = worker_->env().clock->Now();
  }
  Session& session = *session_;
  std::string_view in = datagram.substr(kUdpHeaderSize);
  while (!in.empty()) {
    // One command at a time, so the replies waiting in out_ stay one command's.
    size_t used = session.Consume(in, &out_, 1, SIZE_MAX);
    // A dump is produced in pieces; over UDP it is one message (dropped by SendMessage if it
    // needs more datagrams than the header can count).
    while (session.Dumping() && out_.size() <= kUdpMaxPayload * 0xffff) {
      session.Consume({}, &out_, 1, SIZE_MAX);
    }
    SendReplies(h.request_id, peer, peer_len);
    if (used == 0 || session.want_close()) break;
    in.remove_prefix(used);
  }
  // Nothing carries over to the next datagram; an incomplete command gives its item back now.
  session.Reset();
}

void UdpSocket::SendReplies(uint16_t request_id, const sockaddr* peer, socklen_t peer_len) {
  if (!out_.empty()) {
    reply_.clear();
    iovec iov[64];
    while (!out_.empty()) {
      const int cnt = out_.FillIov(iov, 64);
      size_t n = 0;
      for (int i = 0; i < cnt; ++i) {
        reply_.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
        n += iov[i].iov_len;
      }
      out_.Consume(n);
    }
    // Messages end at the session's marks, the last at the end of the reply; marks past the
    // end (a reply taken back) and empty messages are skipped.
    std::string_view reply = reply_;
    size_t start = 0;
    for (size_t i = 0; i <= ends_.size(); ++i) {
      const size_t end = i < ends_.size() ? std::min(ends_[i], reply.size()) : reply.size();
      if (end <= start) continue;
      SendMessage(request_id, reply.substr(start, end - start), peer, peer_len);
      start = end;
    }
  }
  ends_.clear();
}

void UdpSocket::SendMessage(uint16_t request_id, std::string_view msg, const sockaddr* peer,
                            socklen_t peer_len) {
  const size_t total = (msg.size() + kUdpMaxPayload - 1) / kUdpMaxPayload;
  if (total > 0xffff) {
    LOG(WARNING) << "UDP reply of " << msg.size() << " bytes needs too many datagrams; dropped";
    return;
  }
  UdpHeader h;
  h.request_id = request_id;
  h.total = static_cast<uint16_t>(total);
  char header[kUdpHeaderSize];
  for (size_t seq = 0; seq < total; ++seq) {
    h.seq = static_cast<uint16_t>(seq);
    WriteUdpHeader(h, header);
    std::string_view part = msg.substr(seq * kUdpMaxPayload, kUdpMaxPayload);
    iovec iov[2] = {{header, kUdpHeaderSize}, {const_cast<char*>(part.data()), part.size()}};
    msghdr mh{};
    mh.msg_name = const_cast<sockaddr*>(peer);
    mh.msg_namelen = peer_len;
    mh.msg_iov = iov;
    mh.msg_iovlen = 2;
    ssize_t n = ::sendmsg(fd_, &mh, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) n = ::sendmsg(fd_, &mh, MSG_NOSIGNAL);
    // A datagram the kernel refuses (full send buffer) is lost, as UDP may lose any datagram.
    if (n > 0) worker_->counters().bytes_written->Add(static_cast<uint64_t>(n));
  }
}

ConnDescription UdpSocket::Describe(RelTime now, int caller_conn_id) const {
  ConnDescription d;
  d.fd = fd_;
  d.udp = true;
  d.state = "conn_read";
  std::string local = LocalAddr(fd_, "udp");
  std::lock_guard<std::mutex> lock(mu_);
  if (caller_conn_id == fd_ && last_peer_len_ != 0) {
    d.addr = FormatSockAddr("udp", reinterpret_cast<const sockaddr*>(&last_peer_), last_peer_len_);
    d.listen_addr = std::move(local);
  } else {
    d.addr = std::move(local);
  }
  d.secs_since_last_cmd = now > last_cmd_ ? now - last_cmd_ : 0;
  return d;
}

}  // namespace mcd::server
