// Helpers shared by the fault suite (tests/integration/fault_*_test.cc): stats and memory probes,
// raw non-blocking sends for clients that misbehave, latency percentiles, and the figures the
// suite reports (docs/testing.md, "Fault suite").
//
// Everything is bounded in time: no helper waits without a deadline.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "server_process.h"

namespace mcd::testing::fault {

using SteadyClock = std::chrono::steady_clock;

// Under ThreadSanitizer the daemon's RSS includes TSan's shadow memory (several times the
// application's) and everything runs about ten times slower, so memory and latency bounds say
// nothing there. The scenarios still run under TSan, for the races they exercise; only the
// numeric bounds are skipped.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kBoundsMeaningful = false;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kBoundsMeaningful = false;
#else
inline constexpr bool kBoundsMeaningful = true;
#endif
#else
inline constexpr bool kBoundsMeaningful = true;
#endif

// Under AddressSanitizer every heap block carries redzones and freed blocks sit in a quarantine
// (up to 256 MB) before reuse, so the transient buffers of the hostile-client cases show up in RSS
// well after they are freed. The RSS-growth bounds are doubled there: still far below the
// unbounded growth they exist to catch (hundreds of MB), without failing on ASan's own overhead.
// Plain builds are held to the bounds as written.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr uint64_t kRssScale = 2;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr uint64_t kRssScale = 2;
#else
inline constexpr uint64_t kRssScale = 1;
#endif
#else
inline constexpr uint64_t kRssScale = 1;
#endif

// A numeric stat, or 0 with a test failure when it is missing.
inline uint64_t StatNum(Client& c, const std::string& name, const std::string& args = "") {
  auto s = c.Stats(args);
  auto it = s.find(name);
  if (it == s.end()) {
    ADD_FAILURE() << "missing stat " << name;
    return 0;
  }
  return std::stoull(it->second);
}

// A field of /proc/PID/status in KiB ("VmRSS", "VmHWM"); 0 if unreadable.
inline uint64_t ProcStatusKiB(pid_t pid, std::string_view field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(f, line)) {
    if (line.rfind(prefix, 0) == 0) return std::stoull(line.substr(prefix.size()));
  }
  return 0;
}
inline uint64_t RssKiB(pid_t pid) { return ProcStatusKiB(pid, "VmRSS"); }
inline uint64_t PeakRssKiB(pid_t pid) { return ProcStatusKiB(pid, "VmHWM"); }

// Prints one measured figure in a greppable form ("[ FIGURE   ] case name=value") and records it
// in the gtest XML output.
inline void Figure(const std::string& name, uint64_t value) {
  std::cout << "[ FIGURE   ] " << name << "=" << value << std::endl;
  ::testing::Test::RecordProperty(name, std::to_string(value));
}

// Sends as much of `bytes` as the socket takes right now (the fd is non-blocking); returns the
// count, or -1 on a hard error (peer gone).
inline ssize_t SendSome(int fd, std::string_view bytes) {
  ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n >= 0) return n;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
  return -1;
}

// Sends `bytes` until the peer stops taking them for `stall` (or everything is sent, or
// `deadline` passes). Returns the bytes sent.
inline size_t SendUntilStalled(int fd, std::string_view bytes, std::chrono::milliseconds stall,
                               SteadyClock::time_point deadline) {
  size_t sent = 0;
  while (sent < bytes.size() && SteadyClock::now() < deadline) {
    ssize_t n = SendSome(fd, bytes.substr(sent));
    if (n < 0) break;
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(stall.count())) == 0) break;
  }
  return sent;
}

// The q-quantile (0..1) of `v` (sorted in place), in microseconds.
inline int64_t QuantileUs(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// The server still answers `version` on a fresh connection.
inline ::testing::AssertionResult ServerAnswers(int port) {
  Client c(port);
  if (!c.Connected()) return ::testing::AssertionFailure() << "cannot connect";
  std::string v = c.Version();
  if (v.rfind("VERSION ", 0) != 0) {
    return ::testing::AssertionFailure() << "version reply \"" << Escape(v) << "\"";
  }
  return ::testing::AssertionSuccess();
}

// Polls until `stat` grows by at most `slack` between two reads `step` apart (the server has
// stopped moving bytes for the other clients), within `timeout`. The slack covers the probe's
// own traffic: "stats\r\n" is 7 bytes read. The first comparison is a full step after the first
// read, so a server that has not started on the work yet is not taken for one that finished.
inline bool PollUntilStatSettles(Client& c, const std::string& stat, Duration timeout,
                                 uint64_t slack = 0, Duration step = Duration(150)) {
  const auto deadline = SteadyClock::now() + timeout;
  uint64_t last = StatNum(c, stat);
  while (SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(step);
    const uint64_t now = StatNum(c, stat);
    if (now <= last + slack) return true;
    last = now;
  }
  return false;
}

}  // namespace mcd::testing::fault
