#include "probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace mcd_bench {
namespace {

// Parses a whole decimal number; false for anything else (floats, text).
bool ParseNumber(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + static_cast<uint64_t>(ch - '0');
  }
  *out = v;
  return true;
}

// Calls fn(name, value) for every "STAT <name> <value>" line of a reply.
template <typename Fn>
void ForEachStat(std::string_view reply, Fn fn) {
  while (!reply.empty()) {
    size_t nl = reply.find('\n');
    std::string_view line = reply.substr(0, nl);
    reply = nl == std::string_view::npos ? std::string_view() : reply.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, 5) != "STAT ") continue;
    line.remove_prefix(5);
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    fn(line.substr(0, sp), line.substr(sp + 1));
  }
}

}  // namespace

uint64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

void SleepUntilNs(uint64_t deadline_ns) {
  for (;;) {
    uint64_t now = MonotonicNs();
    if (now >= deadline_ns) return;
    uint64_t d = deadline_ns - now;
    timespec ts{static_cast<time_t>(d / 1000000000ULL), static_cast<long>(d % 1000000000ULL)};
    nanosleep(&ts, nullptr);
  }
}

ControlConn::~ControlConn() {
  if (fd_ >= 0) close(fd_);
}

bool ControlConn::Connect(const std::string& host, int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return false;
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  if (connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::fprintf(stderr, "mcd_loadgen: control connection to %s:%d: ", host.c_str(), port);
    std::perror("connect");
    return false;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{10, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return true;
}

bool ControlConn::Command(std::string_view cmd, bool multi_line, std::string* reply) {
  if (fd_ < 0) return false;
  std::string req(cmd);
  req += "\r\n";
  size_t off = 0;
  while (off < req.size()) {
    ssize_t w = write(fd_, req.data() + off, req.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    off += static_cast<size_t>(w);
  }
  // Scan complete lines; a reply ends at its first line (single) or at a line "END".
  size_t scan = 0;
  char tmp[16384];
  for (;;) {
    for (;;) {
      size_t nl = buf_.find("\r\n", scan);
      if (nl == std::string::npos) break;
      std::string_view line(buf_.data() + scan, nl - scan);
      bool last = !multi_line || line == "END" || line == "ERROR" ||
                  line.substr(0, 13) == "CLIENT_ERROR " || line.substr(0, 13) == "SERVER_ERROR ";
      scan = nl + 2;
      if (last) {
        reply->assign(buf_, 0, scan - 2);
        buf_.erase(0, scan);
        return true;
      }
    }
    ssize_t n = read(fd_, tmp, sizeof tmp);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
  }
}

ServerSnapshot TakeSnapshot(ControlConn& conn, std::FILE* log, const std::string& label) {
  ServerSnapshot s;
  s.t_ns = MonotonicNs();
  std::string stats;
  std::string slabs;
  if (!conn.Command("stats", true, &stats) || !conn.Command("stats slabs", true, &slabs)) {
    return s;
  }
  ForEachStat(stats, [&](std::string_view name, std::string_view value) {
    uint64_t v = 0;
    if (ParseNumber(value, &v)) s.stats[std::string(name)] = v;
  });
  // "STAT <id>:chunk_size N" and "STAT <id>:total_pages N"; classes are listed in id order.
  std::map<uint64_t, uint64_t> chunk_of;
  std::map<uint64_t, uint64_t> pages_of;
  ForEachStat(slabs, [&](std::string_view name, std::string_view value) {
    size_t colon = name.find(':');
    uint64_t id = 0;
    uint64_t v = 0;
    if (colon == std::string_view::npos || !ParseNumber(name.substr(0, colon), &id) ||
        !ParseNumber(value, &v)) {
      return;
    }
    std::string_view field = name.substr(colon + 1);
    if (field == "chunk_size") chunk_of[id] = v;
    if (field == "total_pages") pages_of[id] = v;
  });
  for (const auto& [id, chunk] : chunk_of) s.pages[chunk] = pages_of[id];
  s.ok = true;
  if (log != nullptr) {
    std::string items;
    conn.Command("stats items", true, &items);
    std::fprintf(log, "=== %s\n%s\r\nEND\r\n%s\r\nEND\r\n%s\r\nEND\r\n", label.c_str(),
                 stats.c_str(), slabs.c_str(), items.c_str());
    std::fflush(log);
  }
  return s;
}

void ReassignLoop(ControlConn& conn, int src, int dst, double rate, uint64_t until_ns,
                  ReassignCounts* out) {
  const std::string cmd = "slabs reassign " + std::to_string(src) + " " + std::to_string(dst);
  const uint64_t period_ns = rate > 0 ? static_cast<uint64_t>(1e9 / rate) : 0;
  uint64_t due = MonotonicNs();
  std::string reply;
  while (due < until_ns) {
    SleepUntilNs(due);
    if (!conn.Command(cmd, false, &reply)) {
      ++out->other;
      out->last_other = "connection lost";
      return;
    }
    const uint64_t now = MonotonicNs();
    if (reply.substr(0, 4) == "BUSY") {
      ++out->busy;
      due = now + 1000000;
      continue;
    }
    if (reply == "OK") {
      ++out->ok;
    } else {
      ++out->other;
      out->last_other = reply;
    }
    due = period_ns == 0 ? now : std::max(due + period_ns, now > 1000000000 ? now - 1000000000 : 0);
  }
}

}  // namespace mcd_bench
