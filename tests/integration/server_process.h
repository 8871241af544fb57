// Test harness for the integration suite: start a server binary on a free 127.0.0.1 port, talk
// to it over real TCP with bounded waits, and stop it again.
//
// ServerProcess owns one child process (RAII: the destructor stops it, SIGTERM then SIGKILL).
// Client is a blocking-style TCP client whose every read has a deadline, so a server that
// replies wrongly or not at all fails the test instead of hanging it.
//
// Thread-safety: neither class is thread-safe; use one instance per thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace mcd::testing {

using Duration = std::chrono::milliseconds;

// Path of the server under test: $MCD_TEST_BINARY if set, else the CMake-built binary.
std::string ServerBinary();

// Escapes bytes for readable failure messages ("\r\n" -> "\\r\\n", NUL -> "\\x00").
std::string Escape(std::string_view bytes);

class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts `binary` with `-p PORT -l 127.0.0.1 -U 0` (plus `-u nobody` when root) followed by
  // `extra_args`, on a free port, and waits until it accepts connections. Retries with another
  // port if the chosen one was taken in between. stdout and stderr go to a temporary file.
  ::testing::AssertionResult Start(const std::vector<std::string>& extra_args = {},
                                   const std::string& binary = ServerBinary());

  // Sends SIGTERM, waits up to `grace`, then SIGKILLs. Returns the raw waitpid status, or
  // nullopt if nothing was running.
  std::optional<int> Stop(Duration grace = Duration(5000));

  // Sends `sig` without waiting.
  void Signal(int sig);
  // Waits up to `timeout` for the child to exit; returns the raw waitpid status if it did.
  std::optional<int> WaitExit(Duration timeout);
  bool Running() const { return pid_ > 0; }
  // Whether Start() adds `-u nobody` when running as root (default true).
  void set_add_user(bool add) { add_user_ = add; }
  // Whether Start() adds `-U 0` (default true); false starts the server with its UDP default.
  void set_add_udp_off(bool add) { add_udp_off_ = add; }
  // When set, Start() waits until this unix socket accepts connections instead of the TCP port
  // (for servers started with `-s path`, which do not listen on TCP).
  void set_ready_unix_path(std::string path) { ready_unix_path_ = std::move(path); }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Everything the server wrote to stdout/stderr so far.
  std::string Output() const;

 private:
  ::testing::AssertionResult StartOnce(const std::vector<std::string>& argv, bool* port_in_use);

  pid_t pid_ = -1;
  int port_ = 0;
  std::string output_path_;
  bool add_user_ = true;
  bool add_udp_off_ = true;
  std::string ready_unix_path_;
};

// Stops whatever a test starts, in every exit path, even processes it never learned the pid of
// (a daemon that detached before writing its pid file, or that never answered). While a guard
// lives, this process is a child subreaper (PR_SET_CHILD_SUBREAPER), so a daemon whose starting
// process exits is re-parented here instead of to init. The destructor SIGKILLs and reaps every
// child of this process that was not a child when the guard was made: what the test spawned and
// what those left running. Linux only (reads /proc). Not thread-safe; one guard at a time.
class DescendantGuard {
 public:
  DescendantGuard();
  ~DescendantGuard();
  DescendantGuard(const DescendantGuard&) = delete;
  DescendantGuard& operator=(const DescendantGuard&) = delete;

  // Children of this process that were not children when the guard was made (zombies included).
  std::vector<pid_t> NewChildren() const;

 private:
  std::vector<pid_t> before_;
  bool was_subreaper_ = false;
};

// The pids of this process's children, zombies included, from /proc/PID/stat.
std::vector<pid_t> ChildPids();

class Client {
 public:
  // Connects to 127.0.0.1:port; check Connected() (or use Open()).
  explicit Client(int port, Duration timeout = Duration(5000));
  // Connects to the unix socket at `path`.
  explicit Client(const std::string& unix_path, Duration timeout = Duration(5000));
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  static std::unique_ptr<Client> Open(int port) { return std::make_unique<Client>(port); }

  bool Connected() const { return fd_ >= 0; }
  void Close();
  int fd() const { return fd_; }
  void set_timeout(Duration t) { timeout_ = t; }

  // Sends all bytes (bounded by the timeout). False on error or timeout.
  bool Send(std::string_view bytes);
  // Reads exactly n bytes; on EOF or timeout returns the shorter string it got.
  std::string ReadExactly(size_t n);
  // Reads up to and including `delim`; on EOF or timeout returns what it got.
  std::string ReadUntil(std::string_view delim);
  std::string ReadLine() { return ReadUntil("\r\n"); }
  // Reads whatever arrives within `wait` (returns early on EOF).
  std::string ReadFor(Duration wait);
  // True if the server closes the connection within `timeout` (bytes received before the close
  // are discarded and returned through `trailing` if given).
  bool WaitForClose(Duration timeout, std::string* trailing = nullptr);

  // Sends `request`, reads exactly expected.size() bytes and compares.
  ::testing::AssertionResult Expect(std::string_view request, std::string_view expected);
  // Sends `request` and reads until "END\r\n" (or times out).
  std::string Call(std::string_view request, std::string_view until = "END\r\n");

  // `stats [args]` as name -> value; empty on error.
  std::map<std::string, std::string> Stats(std::string_view args = "");
  // The `version` reply line without "\r\n".
  std::string Version();

 private:
  // Appends received bytes to buffer_; returns false on EOF, error or deadline.
  bool Fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  Duration timeout_;
  std::string buffer_;
  bool eof_ = false;
};

// True if the server under test is mcd (its version reply names mcd), false for memcached.
// 127.0.0.1:port.
sockaddr_in Loopback(int port);
// Asks the kernel for a free port (of a SOCK_STREAM or SOCK_DGRAM socket) by binding port 0. The
// port is released before the server binds it, so Start() retries if somebody grabs it first.
int FreePort(int type = SOCK_STREAM);

bool ServerIsMcd(int port);

// The reply to a blank line ("\n", "\r\n", " \n", " \r\n"): "ERROR\r\n" from memcached 1.6.18,
// "CLIENT_ERROR bad command line format\r\n" from mcd, as memcached 1.6.45 answers it
// (docs/compatibility.md C28).
std::string BlankLineReply(int port);

// Polls `cond` every `step` until it is true or `timeout` has passed. Returns its last value.
template <typename Cond>
bool PollUntil(Cond cond, Duration timeout, Duration step = Duration(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

// Fixture that starts one server with default options per test and opens a client to it.
class ServerTest : public ::testing::Test {
 protected:
  // Extra command-line arguments for the server; override to change them.
  virtual std::vector<std::string> ServerArgs() const { return {}; }
  void SetUp() override;
  void TearDown() override;
  std::unique_ptr<Client> NewClient();

  ServerProcess server_;
  std::unique_ptr<Client> c_;
};

// Fixture sharing one server across a test suite, for command tests that need neither fresh
// counters nor special options (saves a start and a ~1 s SIGTERM stop per test). Each test gets
// a new client and an empty cache (flush_all). If a test killed the server, the next test
// starts a new one, so one crash does not hide the rest.
class SharedServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;
  std::unique_ptr<Client> NewClient();
  static ServerProcess& server() { return *server_; }

  std::unique_ptr<Client> c_;

 private:
  static ServerProcess* server_;
};

}  // namespace mcd::testing
