// UDP (-U), unix domain sockets (-s, -a) and `stats conns`, over real sockets. The cases that
// memcached 1.6.18 shares pass against it too (MCD_TEST_BINARY=/usr/bin/memcached); the rest
// skip there and name the compatibility.md entry.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "server_process.h"

namespace mcd::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kHeader = 8;
constexpr Duration kReplyTimeout(5000);
// How long "no reply" is awaited after the reply to a later request has arrived.
constexpr Duration kQuietWait(200);

// True if nothing holds 127.0.0.1:port for UDP (a plain bind succeeds).
bool UdpPortFree(int port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = Loopback(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

std::string Header(uint16_t id, uint16_t seq, uint16_t total, uint16_t reserved) {
  std::string h(kHeader, '\0');
  const uint16_t fields[4] = {id, seq, total, reserved};
  for (int i = 0; i < 4; ++i) {
    h[2 * i] = static_cast<char>(fields[i] >> 8);
    h[2 * i + 1] = static_cast<char>(fields[i] & 0xff);
  }
  return h;
}

struct Datagram {
  uint16_t id = 0;
  uint16_t seq = 0;
  uint16_t total = 0;
  uint16_t reserved = 0;
  size_t size = 0;  // header included
  std::string body;
};

class UdpClient {
 public:
  explicit UdpClient(int port) : port_(port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  }
  ~UdpClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;

  bool SendRaw(std::string_view bytes) {
    sockaddr_in addr = Loopback(port_);
    return ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&addr),
                    sizeof(addr)) == static_cast<ssize_t>(bytes.size());
  }
  bool Send(uint16_t id, std::string_view payload) {
    return SendRaw(Header(id, 0, 1, 0) + std::string(payload));
  }
  // The next datagram within `timeout`, or nullopt.
  int fd() const { return fd_; }
  std::optional<Datagram> Receive(Duration timeout = kReplyTimeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < static_cast<ssize_t>(kHeader)) return std::nullopt;
    auto field = [&](int i) {
      return static_cast<uint16_t>((static_cast<uint8_t>(buf[2 * i]) << 8) |
                                   static_cast<uint8_t>(buf[2 * i + 1]));
    };
    Datagram d;
    d.id = field(0);
    d.seq = field(1);
    d.total = field(2);
    d.reserved = field(3);
    d.size = static_cast<size_t>(n);
    d.body.assign(buf + kHeader, static_cast<size_t>(n) - kHeader);
    return d;
  }
  // Sends one request and collects the datagrams of its reply message (by seq, until `total`
  // have arrived). Empty on timeout.
  std::vector<Datagram> Request(uint16_t id, std::string_view payload) {
    std::vector<Datagram> got;
    if (!Send(id, payload)) return got;
    const auto deadline = SteadyClock::now() + kReplyTimeout;
    while (SteadyClock::now() < deadline) {
      auto left = std::chrono::duration_cast<Duration>(deadline - SteadyClock::now());
      std::optional<Datagram> d = Receive(left);
      if (!d) break;
      got.push_back(*d);
      if (got.size() >= got.front().total) break;
    }
    return got;
  }

 private:
  int port_;
  int fd_ = -1;
};

// Concatenates the bodies in sequence order; fails the test if numbering is off.
std::string Reassemble(std::vector<Datagram> parts) {
  std::sort(parts.begin(), parts.end(),
            [](const Datagram& a, const Datagram& b) { return a.seq < b.seq; });
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    EXPECT_EQ(parts[i].seq, i);
    EXPECT_EQ(parts[i].total, parts.size());
    out += parts[i].body;
  }
  return out;
}

// `stats conns` as fd -> (field -> value), fields in their order of appearance.
using ConnsMap = std::map<int, std::vector<std::pair<std::string, std::string>>>;
ConnsMap ParseConns(const std::string& reply) {
  ConnsMap out;
  std::istringstream in(reply);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("STAT ", 0) != 0) continue;
    size_t colon = line.find(':', 5);
    size_t sp = line.find(' ', 5);
    if (colon == std::string::npos || sp == std::string::npos || colon > sp) continue;
    int fd = std::atoi(line.substr(5, colon - 5).c_str());
    out[fd].emplace_back(line.substr(colon + 1, sp - colon - 1), line.substr(sp + 1));
  }
  return out;
}

std::string FieldOf(const ConnsMap::mapped_type& fields, const std::string& name) {
  for (const auto& [k, v] : fields) {
    if (k == name) return v;
  }
  return "<none>";
}

std::string LocalAddrOf(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return {};
  return "tcp:127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

// A private directory for socket files; the server (running as nobody when the tests run as
// root) must be able to create and remove files in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/mcd_unix_XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) {
      path_ = tmpl;
      ::chmod(path_.c_str(), 0777);
    }
  }
  ~TempDir() {
    if (path_.empty()) return;
    for (const char* name : {"mc.sock", "file"}) ::unlink((path_ + "/" + name).c_str());
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// UDP

class UdpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int attempt = 0; attempt < 3; ++attempt) {
      udp_port_ = FreePort(SOCK_DGRAM);
      ASSERT_NE(udp_port_, 0);
      if (server_.Start({"-U", std::to_string(udp_port_)})) break;
    }
    ASSERT_TRUE(server_.Running()) << server_.Output();
    c_ = Client::Open(server_.port());
    ASSERT_TRUE(c_->Connected());
    udp_ = std::make_unique<UdpClient>(udp_port_);
  }
  void TearDown() override {
    c_.reset();
    server_.Stop();
  }

  ServerProcess server_;
  int udp_port_ = 0;
  std::unique_ptr<Client> c_;
  std::unique_ptr<UdpClient> udp_;
};

TEST_F(UdpTest, SetAndGetRoundTripWithHeaders) {
  std::vector<Datagram> r = udp_->Request(0x1234, "set k 5 0 3\r\nabc\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, 0x1234);
  EXPECT_EQ(r[0].seq, 0);
  EXPECT_EQ(r[0].total, 1);
  EXPECT_EQ(r[0].reserved, 0);
  EXPECT_EQ(r[0].body, "STORED\r\n");

  r = udp_->Request(0xbeef, "get k\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, 0xbeef);
  EXPECT_EQ(r[0].seq, 0);
  EXPECT_EQ(r[0].total, 1);
  EXPECT_EQ(r[0].body, "VALUE k 5 3\r\nabc\r\nEND\r\n");
  // Stored over UDP, visible over TCP.
  EXPECT_TRUE(c_->Expect("get k\r\n", "VALUE k 5 3\r\nabc\r\nEND\r\n"));
}

TEST_F(UdpTest, LargeValueIsSplitLikeMemcached) {
  const std::string value(5000, 'v');
  ASSERT_TRUE(c_->Expect("set big 0 0 5000\r\n" + value + "\r\n", "STORED\r\n"));
  std::vector<Datagram> r = udp_->Request(7, "get big\r\n");
  // memcached 1.6.18: datagrams of at most 1400 bytes, header included.
  ASSERT_EQ(r.size(), 4u);
  std::vector<size_t> sizes;
  for (const Datagram& d : r) {
    EXPECT_EQ(d.id, 7);
    EXPECT_EQ(d.reserved, 0);
    sizes.push_back(d.size);
  }
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<size_t>{857, 1400, 1400, 1400}));
  EXPECT_EQ(Reassemble(r), "VALUE big 0 5000\r\n" + value + "\r\nEND\r\n");
}

TEST_F(UdpTest, EachCommandOfADatagramIsItsOwnMessage) {
  ASSERT_TRUE(c_->Expect("set a 0 0 1\r\nx\r\n", "STORED\r\n"));
  ASSERT_TRUE(udp_->Send(9, "get a\r\ndelete nope\r\nget a\r\n"));
  std::vector<std::string> bodies;
  for (int i = 0; i < 3; ++i) {
    std::optional<Datagram> d = udp_->Receive();
    ASSERT_TRUE(d.has_value()) << "reply " << i;
    EXPECT_EQ(d->id, 9);
    EXPECT_EQ(d->seq, 0);
    EXPECT_EQ(d->total, 1);
    bodies.push_back(d->body);
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"VALUE a 0 1\r\nx\r\nEND\r\n", "NOT_FOUND\r\n",
                                              "VALUE a 0 1\r\nx\r\nEND\r\n"}));
}

TEST_F(UdpTest, MultiGetSendsOneMessagePerValue) {
  const std::string value(2000, 'w');
  ASSERT_TRUE(c_->Expect("set big 0 0 2000\r\n" + value + "\r\n", "STORED\r\n"));
  ASSERT_TRUE(c_->Expect("set a 0 0 1\r\nx\r\n", "STORED\r\n"));
  ASSERT_TRUE(udp_->Send(11, "get big a\r\n"));
  std::vector<Datagram> big;
  std::vector<Datagram> small;
  for (int i = 0; i < 3; ++i) {
    std::optional<Datagram> d = udp_->Receive();
    ASSERT_TRUE(d.has_value()) << "datagram " << i;
    EXPECT_EQ(d->id, 11);
    (d->total == 2 ? big : small).push_back(*d);
  }
  ASSERT_EQ(big.size(), 2u);
  ASSERT_EQ(small.size(), 1u);
  EXPECT_EQ(Reassemble(big), "VALUE big 0 2000\r\n" + value + "\r\n");
  EXPECT_EQ(small[0].seq, 0);
  EXPECT_EQ(small[0].total, 1);
  EXPECT_EQ(small[0].body, "VALUE a 0 1\r\nx\r\nEND\r\n");
}

// A binary request (magic 0x80) built by hand: opcode, key, extras, value; opaque 0x0a0b0c0d.
std::string BinaryRequest(uint8_t opcode, std::string_view key, std::string_view extras = "",
                          std::string_view value = "") {
  const uint32_t body = static_cast<uint32_t>(extras.size() + key.size() + value.size());
  std::string h(24, '\0');
  h[0] = '\x80';
  h[1] = static_cast<char>(opcode);
  h[2] = static_cast<char>(key.size() >> 8);
  h[3] = static_cast<char>(key.size() & 0xff);
  h[4] = static_cast<char>(extras.size());
  for (int i = 0; i < 4; ++i) h[8 + i] = static_cast<char>(body >> (24 - 8 * i));
  h[12] = '\x0a';
  h[13] = '\x0b';
  h[14] = '\x0c';
  h[15] = '\x0d';
  return h + std::string(extras) + std::string(key) + std::string(value);
}

// memcached picks the protocol of each UDP datagram from its first byte whatever -B says: a
// binary request gets a binary response in the same framing, and text datagrams on the same
// socket stay text.
TEST_F(UdpTest, BinaryDatagramsGetBinaryReplies) {
  const std::string set_extras("\0\0\0\x05\0\0\0\0", 8);  // flags 5, exptime 0
  std::vector<Datagram> r = udp_->Request(0x0102, BinaryRequest(0x01, "bk", set_extras, "xyz"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, 0x0102);
  EXPECT_EQ(r[0].total, 1);
  ASSERT_EQ(r[0].body.size(), 24u);
  EXPECT_EQ(static_cast<uint8_t>(r[0].body[0]), 0x81);  // response magic
  EXPECT_EQ(r[0].body[1], '\x01');
  EXPECT_EQ(r[0].body.substr(6, 2), std::string("\0\0", 2));  // status: no error
  EXPECT_EQ(r[0].body.substr(12, 4), "\x0a\x0b\x0c\x0d");     // opaque echoed

  r = udp_->Request(0x0103, BinaryRequest(0x00, "bk"));  // get
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].body.size(), 24u + 4 + 3);
  EXPECT_EQ(static_cast<uint8_t>(r[0].body[0]), 0x81);
  EXPECT_EQ(r[0].body.substr(6, 2), std::string("\0\0", 2));
  EXPECT_EQ(r[0].body.substr(24), std::string("\0\0\0\x05", 4) + "xyz");  // flags, value

  r = udp_->Request(0x0104, BinaryRequest(0x00, "absent"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body.substr(6, 2), std::string("\0\x01", 2));  // key not found
  EXPECT_EQ(r[0].body.substr(24), "Not found");

  // The same socket, a text datagram next: text again; and the value is there over TCP.
  r = udp_->Request(0x0105, "get bk\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "VALUE bk 5 3\r\nxyz\r\nEND\r\n");
  EXPECT_TRUE(c_->Expect("get bk\r\n", "VALUE bk 5 3\r\nxyz\r\nEND\r\n"));
}

TEST_F(UdpTest, MalformedDatagramsGetNoReplyAndServingGoesOn) {
  ASSERT_TRUE(udp_->SendRaw(std::string("\x00\x01\x00", 3)));      // shorter than a header
  ASSERT_TRUE(udp_->SendRaw(Header(2, 0, 1, 0)));                  // header only
  ASSERT_TRUE(udp_->SendRaw(Header(3, 0, 2, 0) + "version\r\n"));  // claims 2 datagrams
  ASSERT_TRUE(udp_->SendRaw(Header(4, 1, 2, 0) + "version\r\n"));  // second of two
  ASSERT_TRUE(udp_->SendRaw(Header(5, 0, 0, 0) + "version\r\n"));  // claims none
  ASSERT_TRUE(udp_->SendRaw(Header(6, 0, 0x0101, 0) + "version\r\n"));
  ASSERT_TRUE(udp_->SendRaw(Header(8, 0, 1, 0) + "no newline, no command"));
  ASSERT_TRUE(udp_->SendRaw(Header(10, 0, 1, 0) + "set k 0 0 10\r\nabc"));  // incomplete
  ASSERT_TRUE(udp_->Send(0x4242, "version\r\n"));
  std::optional<Datagram> d = udp_->Receive();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->id, 0x4242);
  EXPECT_EQ(d->body.rfind("VERSION ", 0), 0u) << Escape(d->body);
  std::optional<Datagram> extra = udp_->Receive(kQuietWait);
  EXPECT_FALSE(extra.has_value()) << "unexpected reply to request " << extra->id << ": "
                                  << Escape(extra->body);
  EXPECT_TRUE(c_->Expect("get k\r\n", "END\r\n"));
  // Garbage that is a complete line gets the ordinary error.
  std::vector<Datagram> r = udp_->Request(12, "garbage\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "ERROR\r\n");
}

TEST_F(UdpTest, SequenceNumberAndReservedFieldOfARequestAreIgnored) {
  ASSERT_TRUE(udp_->SendRaw(Header(21, 5, 1, 0x0102) + "version\r\n"));
  std::optional<Datagram> d = udp_->Receive();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->id, 21);
  EXPECT_EQ(d->seq, 0);
  EXPECT_EQ(d->total, 1);
  EXPECT_EQ(d->reserved, 0);
}

TEST_F(UdpTest, StatsCountersMove) {
  ASSERT_TRUE(c_->Expect("set a 0 0 1\r\nx\r\n", "STORED\r\n"));
  std::map<std::string, std::string> before = c_->Stats();
  const std::string req = "get a\r\n";
  std::vector<Datagram> r = udp_->Request(1, req);
  ASSERT_EQ(r.size(), 1u);
  std::map<std::string, std::string> after = c_->Stats();
  auto delta = [&](const std::string& name) {
    return std::stoull(after[name]) - std::stoull(before[name]);
  };
  EXPECT_EQ(delta("cmd_get"), 1u);
  EXPECT_EQ(delta("get_hits"), 1u);
  // The `stats` request itself adds to bytes_read and bytes_written too.
  EXPECT_GE(delta("bytes_read"), kHeader + req.size());
  EXPECT_GE(delta("bytes_written"), r[0].size);
}

TEST_F(UdpTest, StatsConnsListsTheUdpSockets) {
  std::vector<Datagram> r = udp_->Request(3, "version\r\n");
  ASSERT_EQ(r.size(), 1u);
  const std::string local = "udp:127.0.0.1:" + std::to_string(udp_port_);
  // Asked over TCP: every UDP socket shows its own address.
  int udp_entries = 0;
  for (const auto& [fd, fields] : ParseConns(c_->Call("stats conns\r\n"))) {
    if (fields.empty() || fields[0].first != "UDP") continue;
    ++udp_entries;
    EXPECT_EQ(fields[0].second, "UDP");
    ASSERT_EQ(fields.size(), 4u);
    EXPECT_EQ(fields[1], std::make_pair(std::string("addr"), local));
    EXPECT_EQ(fields[2], std::make_pair(std::string("state"), std::string("conn_read")));
  }
  EXPECT_GE(udp_entries, 1);
  // Asked over UDP: the socket reading the request shows its sender.
  r = udp_->Request(4, "stats conns\r\n");
  ASSERT_FALSE(r.empty());
  sockaddr_in me{};
  socklen_t len = sizeof(me);
  ASSERT_EQ(::getsockname(udp_->fd(), reinterpret_cast<sockaddr*>(&me), &len), 0);
  bool self = false;
  for (const auto& [fd, fields] : ParseConns(Reassemble(r))) {
    if (FieldOf(fields, "state") != "conn_parse_cmd") continue;
    self = true;
    ASSERT_EQ(fields.size(), 5u);
    EXPECT_EQ(fields[0], std::make_pair(std::string("UDP"), std::string("UDP")));
    EXPECT_EQ(FieldOf(fields, "addr"), "udp:127.0.0.1:" + std::to_string(ntohs(me.sin_port)));
    EXPECT_EQ(FieldOf(fields, "listen_addr"), local);
  }
  EXPECT_TRUE(self);
}

// compatibility.md C26: over UDP a dump (produced in pieces over TCP) is one reply message, the
// command after it in the datagram its own. memcached's crawler cannot write to a UDP client.
TEST_F(UdpTest, DumpIsOneMessage) {
  if (!ServerIsMcd(server_.port())) GTEST_SKIP() << "memcached differs (compatibility.md C26)";
  // 500 items: about 27 datagrams, well within a socket's receive buffer.
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(c_->Send("set key" + std::to_string(i) + " 0 0 1 noreply\r\nv\r\n"));
  }
  ASSERT_EQ(c_->Version().rfind("VERSION ", 0), 0u);
  ASSERT_TRUE(udp_->Send(5, "lru_crawler metadump all\r\nversion\r\n"));
  std::vector<Datagram> parts;
  const auto deadline = SteadyClock::now() + kReplyTimeout;
  while (SteadyClock::now() < deadline && (parts.empty() || parts.size() < parts.front().total)) {
    std::optional<Datagram> d = udp_->Receive();
    ASSERT_TRUE(d.has_value());
    ASSERT_EQ(d->id, 5);
    parts.push_back(*d);
  }
  const std::string dump = Reassemble(parts);
  EXPECT_GT(parts.size(), 10u);  // ~37 KB in 1400-byte datagrams
  EXPECT_EQ(std::count(dump.begin(), dump.end(), '\n'), 501);
  EXPECT_TRUE(dump.ends_with("\nEND\r\n"));
  std::optional<Datagram> v = udp_->Receive();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->total, 1);
  EXPECT_EQ(v->body.rfind("VERSION ", 0), 0u);
  std::vector<Datagram> mg = udp_->Request(6, "lru_crawler mgdump 1,2,3\r\n");
  ASSERT_FALSE(mg.empty());
  EXPECT_EQ(Reassemble(mg).rfind("OK\r\n", 0), 0u);
}

// compatibility.md C17: memcached keeps a command's state from one datagram to the next.
TEST_F(UdpTest, NothingCarriesOverBetweenDatagrams) {
  if (!ServerIsMcd(server_.port())) GTEST_SKIP() << "memcached differs (compatibility.md C17)";
  ASSERT_TRUE(udp_->Send(1, "set s 0 0 10\r\nabc"));
  std::vector<Datagram> r = udp_->Request(2, "version\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, 2);
  EXPECT_EQ(r[0].body.rfind("VERSION ", 0), 0u);
  r = udp_->Request(3, "set t 0 0 2000000\r\nabc\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "SERVER_ERROR object too large for cache\r\n");
  r = udp_->Request(4, "version\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, 4);
}

// The socket's one session is reset once its datagram is done: the item of a command cut off at
// the end of a datagram goes back to the cache then, not when the next datagram comes.
TEST_F(UdpTest, AnIncompleteCommandGivesItsItemBackWithItsDatagram) {
  if (!ServerIsMcd(server_.port())) GTEST_SKIP() << "memcached differs (compatibility.md C17)";
  auto used_chunks = [this] {
    uint64_t used = 0;
    for (const auto& [name, value] : c_->Stats("slabs")) {
      if (name.ends_with(":used_chunks")) used += std::stoull(value);
    }
    return used;
  };
  ASSERT_EQ(used_chunks(), 0u);
  // The reply to `version` shows the datagram is being served; no later datagram follows (the
  // next one would reset the session anyway).
  std::vector<Datagram> r = udp_->Request(1, "version\r\nset s 0 0 10\r\nabc");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body.rfind("VERSION ", 0), 0u);
  const auto deadline = SteadyClock::now() + kReplyTimeout;
  while (used_chunks() != 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(used_chunks(), 0u);
}

TEST(UdpDefaultTest, UdpIsOffWithoutDashU) {
  ServerProcess server;
  server.set_add_udp_off(false);
  ASSERT_TRUE(server.Start());
  Client c(server.port());
  ASSERT_TRUE(c.Connected());
  EXPECT_EQ(c.Stats("settings")["udpport"], "0");
  // Before 1.5.6 memcached also listened for UDP on the TCP port; nothing does now.
  EXPECT_TRUE(UdpPortFree(server.port()));
  int conn_udp = 0;
  for (const auto& [fd, fields] : ParseConns(c.Call("stats conns\r\n"))) {
    if (!fields.empty() && fields[0].first == "UDP") ++conn_udp;
  }
  EXPECT_EQ(conn_udp, 0);
}

// ---------------------------------------------------------------------------------------------
// Unix domain socket

class UnixSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    path_ = dir_.path() + "/mc.sock";
  }
  ::testing::AssertionResult StartUnix(std::vector<std::string> extra = {}) {
    server_.set_ready_unix_path(path_);
    std::vector<std::string> args = {"-s", path_};
    args.insert(args.end(), extra.begin(), extra.end());
    return server_.Start(args);
  }
  bool ServerIsMcdUnix() {
    Client c(path_);
    return c.Version().find("mcd") != std::string::npos;
  }
  mode_t SocketMode() {
    struct stat st {};
    if (::lstat(path_.c_str(), &st) != 0) return 0;
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    return st.st_mode & 07777;
  }

  TempDir dir_;
  std::string path_;
  ServerProcess server_;
};

TEST_F(UnixSocketTest, CommandsWorkWithDefaultMode0700AndNoTcp) {
  ASSERT_TRUE(StartUnix());
  EXPECT_EQ(SocketMode(), 0700u);
  Client c(path_);
  ASSERT_TRUE(c.Connected());
  EXPECT_TRUE(c.Expect("set k 0 0 2\r\nhi\r\n", "STORED\r\n"));
  EXPECT_TRUE(c.Expect("get k\r\n", "VALUE k 0 2\r\nhi\r\nEND\r\n"));
  std::map<std::string, std::string> settings = c.Stats("settings");
  EXPECT_EQ(settings["domain_socket"], path_);
  EXPECT_EQ(settings["umask"], "700");
  // -s replaces the TCP listener although -p and -l were given.
  Client tcp(server_.port(), Duration(500));
  EXPECT_FALSE(tcp.Connected());
}

// Regression: mcd binds before switching user, and the socket file stayed owned by root, so the
// daemon (now `nobody`) could not remove it at exit. memcached's belongs to the -u user.
TEST_F(UnixSocketTest, SocketFileBelongsToTheUserGivenWithU) {
  if (::geteuid() != 0) GTEST_SKIP() << "-u only switches user when started as root";
  const passwd* pw = ::getpwnam("nobody");
  ASSERT_NE(pw, nullptr);
  ASSERT_TRUE(StartUnix());  // the harness adds -u nobody as root
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, pw->pw_uid);
}

TEST_F(UnixSocketTest, MaskSetsTheFileMode) {
  ASSERT_TRUE(StartUnix({"-a", "0770"}));
  EXPECT_EQ(SocketMode(), 0770u);
  Client c(path_);
  ASSERT_TRUE(c.Connected());
  EXPECT_EQ(c.Stats("settings")["umask"], "770");
}

TEST_F(UnixSocketTest, MaskWithoutLeadingZeroIsOctal) {
  ASSERT_TRUE(StartUnix({"-a", "666"}));
  EXPECT_EQ(SocketMode(), 0666u);
}

TEST_F(UnixSocketTest, UdpIsOffWithUnixSocket) {
  const int udp_port = FreePort(SOCK_DGRAM);
  ASSERT_NE(udp_port, 0);
  ASSERT_TRUE(StartUnix({"-U", std::to_string(udp_port)}));
  EXPECT_TRUE(UdpPortFree(udp_port));
  Client c(path_);
  ASSERT_TRUE(c.Connected());
  // Reported as given, as memcached reports it.
  EXPECT_EQ(c.Stats("settings")["udpport"], std::to_string(udp_port));
}

TEST_F(UnixSocketTest, StatsConnsShowsUnixAddresses) {
  ASSERT_TRUE(StartUnix());
  Client c(path_);
  ASSERT_TRUE(c.Connected());
  ConnsMap conns = ParseConns(c.Call("stats conns\r\n"));
  bool listener = false;
  bool self = false;
  const bool mcd = ServerIsMcdUnix();
  // memcached cuts addresses to 31 characters (compatibility.md C19).
  auto expect_path = [&](const std::string& shown) {
    EXPECT_EQ(shown.rfind("unix:", 0), 0u) << shown;
    EXPECT_EQ(("unix:" + path_).rfind(shown, 0), 0u) << shown;
    if (mcd) {
      EXPECT_EQ(shown, "unix:" + path_);
    }
  };
  for (const auto& [fd, fields] : conns) {
    if (FieldOf(fields, "state") == "conn_listening") {
      expect_path(FieldOf(fields, "addr"));
      EXPECT_EQ(FieldOf(fields, "listen_addr"), "<none>");
      listener = true;
    }
    if (FieldOf(fields, "state") == "conn_parse_cmd") {
      expect_path(FieldOf(fields, "listen_addr"));
      self = true;
    }
  }
  EXPECT_TRUE(listener);
  EXPECT_TRUE(self);
}

TEST_F(UnixSocketTest, StaleSocketFileIsReplaced) {
  // A socket file nobody listens on any more, as a crashed server leaves it.
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  ASSERT_TRUE(StartUnix());
  Client c(path_);
  ASSERT_TRUE(c.Connected());
  EXPECT_TRUE(c.Expect("version\r\n", "VERSION "));
}

TEST_F(UnixSocketTest, RegularFileAtThePathIsLeftAndStartFails) {
  {
    FILE* f = std::fopen(path_.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("keep me\n", f);
    std::fclose(f);
  }
  EXPECT_FALSE(StartUnix());
  struct stat st {};
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

// compatibility.md C18: memcached 1.6.18 leaves the socket file behind.
TEST_F(UnixSocketTest, SocketFileIsRemovedAfterSigterm) {
  ASSERT_TRUE(StartUnix());
  bool is_mcd;
  {
    Client c(path_);
    ASSERT_TRUE(c.Connected());
    is_mcd = c.Version().find("mcd") != std::string::npos;
  }
  std::optional<int> status = server_.Stop();
  ASSERT_TRUE(status.has_value());
  if (!is_mcd) GTEST_SKIP() << "memcached leaves the file (compatibility.md C18)";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  EXPECT_NE(::access(path_.c_str(), F_OK), 0) << "socket file still there";
}

// ---------------------------------------------------------------------------------------------
// stats conns over TCP

class StatsConnsTest : public ServerTest {};

TEST_F(StatsConnsTest, ListsListenerClientsAndStates) {
  auto idle = NewClient();
  ASSERT_TRUE(idle->Connected());
  ASSERT_TRUE(idle->Expect("version\r\n", "VERSION "));
  ASSERT_EQ(idle->ReadLine().empty(), false);
  auto mid_set = NewClient();
  ASSERT_TRUE(mid_set->Connected());
  ASSERT_TRUE(mid_set->Send("set a 0 0 10\r\nabc"));
  const std::string mid_addr = LocalAddrOf(mid_set->fd());

  // Wait (bounded) until the server has read the partial set.
  ConnsMap conns;
  bool nread = PollUntil(
      [&] {
        conns = ParseConns(c_->Call("stats conns\r\n"));
        for (const auto& [fd, fields] : conns) {
          if (FieldOf(fields, "addr") == mid_addr) return FieldOf(fields, "state") == "conn_nread";
        }
        return false;
      },
      Duration(5000));
  EXPECT_TRUE(nread);

  const std::string listen = "tcp:127.0.0.1:" + std::to_string(server_.port());
  bool listener = false;
  int clients = 0;
  for (const auto& [fd, fields] : conns) {
    ASSERT_GE(fields.size(), 3u);
    EXPECT_EQ(fields.back().first, "secs_since_last_cmd");
    for (char ch : fields.back().second) EXPECT_TRUE(ch >= '0' && ch <= '9');
    const std::string state = FieldOf(fields, "state");
    if (state == "conn_listening") {
      // addr, state, secs_since_last_cmd: no listen_addr.
      ASSERT_EQ(fields.size(), 3u);
      EXPECT_EQ(fields[0], std::make_pair(std::string("addr"), listen));
      listener = true;
      continue;
    }
    ASSERT_EQ(fields.size(), 4u);
    EXPECT_EQ(fields[0].first, "addr");
    EXPECT_EQ(fields[1], std::make_pair(std::string("listen_addr"), listen));
    EXPECT_EQ(fields[2].first, "state");
    ++clients;
    const std::string addr = fields[0].second;
    if (addr == LocalAddrOf(c_->fd())) {
      EXPECT_EQ(state, "conn_parse_cmd");
    } else if (addr == LocalAddrOf(idle->fd())) {
      EXPECT_EQ(state, "conn_read");
    } else if (addr == mid_addr) {
      EXPECT_EQ(state, "conn_nread");
    }
  }
  EXPECT_TRUE(listener);
  EXPECT_EQ(clients, 3);
  // The reply ends like every stats reply.
  EXPECT_TRUE(mid_set->Expect("defghij\r\n", "STORED\r\n"));
}

TEST_F(StatsConnsTest, ClientsComingAndGoingWhileListing) {
  // Connections open and close on the workers while another client lists them (run under TSan
  // this checks the listing is race-free).
  std::atomic<bool> done{false};
  std::thread churn([&] {
    for (int i = 0; i < 200 && !done.load(); ++i) {
      Client c(server_.port());
      if (!c.Connected()) continue;
      c.Expect("version\r\n", "VERSION ");
    }
  });
  for (int i = 0; i < 100; ++i) {
    std::string reply = c_->Call("stats conns\r\n");
    ASSERT_EQ(reply.size() >= 5 ? reply.substr(reply.size() - 5) : reply, "END\r\n");
  }
  done.store(true);
  churn.join();
}

}  // namespace
}  // namespace mcd::testing
