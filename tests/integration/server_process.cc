#include "server_process.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

extern char** environ;

namespace mcd::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr Duration kStartTimeout(5000);
constexpr int kStartAttempts = 3;

int MsLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Non-blocking connect to 127.0.0.1:port bounded by `timeout`; returns the fd or -1.
int ConnectWithTimeout(int port, Duration timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = Loopback(port);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    int err = 0;
    socklen_t len = sizeof(err);
    if (rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
      rc = 0;
    } else {
      rc = -1;
    }
  }
  if (rc != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// Connect to a unix socket (local, so it completes or fails at once); returns the fd or -1.
int ConnectUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return -1;
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

int FreePort(int type) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string ServerBinary() {
  const char* env = std::getenv("MCD_TEST_BINARY");
  if (env != nullptr && *env != '\0') return env;
  return MCD_DEFAULT_BINARY;
}

std::string Escape(std::string_view bytes) {
  std::string out;
  for (unsigned char ch : bytes) {
    if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\\') {
      out += "\\\\";
    } else if (ch < 0x20 || ch >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ServerProcess

ServerProcess::~ServerProcess() {
  Stop();
  if (!output_path_.empty()) ::unlink(output_path_.c_str());
}

::testing::AssertionResult ServerProcess::Start(const std::vector<std::string>& extra_args,
                                                const std::string& binary) {
  if (Running()) return ::testing::AssertionFailure() << "server already running";
  if (::access(binary.c_str(), X_OK) != 0) {
    return ::testing::AssertionFailure() << "server binary not executable: " << binary;
  }
  ::testing::AssertionResult last = ::testing::AssertionFailure() << "not started";
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    port_ = FreePort();
    if (port_ == 0) return ::testing::AssertionFailure() << "no free port";
    std::vector<std::string> argv = {binary, "-p", std::to_string(port_), "-l", "127.0.0.1"};
    if (add_udp_off_) {
      argv.push_back("-U");
      argv.push_back("0");
    }
    if (add_user_ && ::geteuid() == 0) {
      argv.push_back("-u");
      argv.push_back("nobody");
    }
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    bool port_in_use = false;
    last = StartOnce(argv, &port_in_use);
    if (last || !port_in_use) return last;
  }
  return last;
}

::testing::AssertionResult ServerProcess::StartOnce(const std::vector<std::string>& argv,
                                                    bool* port_in_use) {
  if (output_path_.empty()) {
    std::string tmpl = "/tmp/mcd_it_XXXXXX";
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) return ::testing::AssertionFailure() << "mkstemp: " << std::strerror(errno);
    ::close(fd);
    output_path_ = tmpl;
  }
  int out_fd = ::open(output_path_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (out_fd < 0) return ::testing::AssertionFailure() << "open: " << std::strerror(errno);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
  // The child starts with default signal dispositions and an empty mask.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out_fd);
  if (rc != 0) return ::testing::AssertionFailure() << "posix_spawn: " << std::strerror(rc);
  pid_ = pid;

  // Readiness: poll connect() until it succeeds, the child dies, or the deadline passes.
  const auto deadline = Clock::now() + kStartTimeout;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::string out = Output();
      *port_in_use = out.find("in use") != std::string::npos;
      return ::testing::AssertionFailure()
             << "server exited during start-up (status " << status << "): " << out;
    }
    int fd = ready_unix_path_.empty() ? ConnectWithTimeout(port_, Duration(200))
                                      : ConnectUnix(ready_unix_path_);
    if (fd >= 0) {
      ::close(fd);
      return ::testing::AssertionSuccess();
    }
    std::this_thread::sleep_for(Duration(10));
  }
  Stop(Duration(1000));
  return ::testing::AssertionFailure() << "server did not accept connections within "
                                       << kStartTimeout.count() << " ms: " << Output();
}

void ServerProcess::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

std::optional<int> ServerProcess::WaitExit(Duration timeout) {
  if (pid_ <= 0) return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      pid_ = -1;
      return status;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(Duration(5));
  }
}

std::optional<int> ServerProcess::Stop(Duration grace) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, SIGTERM);
  if (auto status = WaitExit(grace)) return status;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

std::string ServerProcess::Output() const {
  return output_path_.empty() ? std::string() : ReadFile(output_path_);
}

// ---------------------------------------------------------------------------------------------
// DescendantGuard

std::vector<pid_t> ChildPids() {
  std::vector<pid_t> out;
  const pid_t self = ::getpid();
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    // "PID (comm) STATE PPID ...": comm may hold spaces and parentheses; parse after the last ')'.
    std::string stat = ReadFile("/proc/" + std::string(e->d_name) + "/stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    if (rest >> state >> ppid && ppid == self) out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  std::sort(out.begin(), out.end());
  return out;
}

DescendantGuard::DescendantGuard() : before_(ChildPids()) {
  int flag = 0;
  if (::prctl(PR_GET_CHILD_SUBREAPER, &flag) == 0) was_subreaper_ = flag != 0;
  if (!was_subreaper_ && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    ADD_FAILURE() << "PR_SET_CHILD_SUBREAPER: " << std::strerror(errno);
  }
}

DescendantGuard::~DescendantGuard() {
  // Kill first, then reap: a killed starting process re-parents its own children here, so look
  // again until no new child is left.
  for (int round = 0; round < 10; ++round) {
    std::vector<pid_t> left = NewChildren();
    if (left.empty()) break;
    for (pid_t pid : left) ::kill(pid, SIGKILL);
    for (pid_t pid : left) ::waitpid(pid, nullptr, 0);
  }
  if (!was_subreaper_) ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

std::vector<pid_t> DescendantGuard::NewChildren() const {
  std::vector<pid_t> now = ChildPids();
  std::vector<pid_t> out;
  std::set_difference(now.begin(), now.end(), before_.begin(), before_.end(),
                      std::back_inserter(out));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Client

Client::Client(int port, Duration timeout) : timeout_(timeout) {
  fd_ = ConnectWithTimeout(port, timeout);
}

Client::Client(const std::string& unix_path, Duration timeout) : timeout_(timeout) {
  fd_ = ConnectUnix(unix_path);
}

Client::~Client() { Close(); }

void Client::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Client::Send(std::string_view bytes) {
  if (fd_ < 0) return false;
  const auto deadline = Clock::now() + timeout_;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      pollfd p{fd_, POLLOUT, 0};
      if (MsLeft(deadline) == 0) return false;
      ::poll(&p, 1, MsLeft(deadline));
      continue;
    }
    return false;
  }
  return true;
}

bool Client::Fill(Clock::time_point deadline) {
  if (fd_ < 0 || eof_) return false;
  while (true) {
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      buffer_.append(buf, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      eof_ = true;  // ECONNRESET and friends: the server is gone for this connection.
      return false;
    }
    int left = MsLeft(deadline);
    if (left == 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, left) == 0) return false;
  }
}

std::string Client::ReadExactly(size_t n) {
  const auto deadline = Clock::now() + timeout_;
  while (buffer_.size() < n && Fill(deadline)) {
  }
  size_t take = std::min(n, buffer_.size());
  std::string out = buffer_.substr(0, take);
  buffer_.erase(0, take);
  return out;
}

std::string Client::ReadUntil(std::string_view delim) {
  const auto deadline = Clock::now() + timeout_;
  size_t pos;
  while ((pos = buffer_.find(delim)) == std::string::npos && Fill(deadline)) {
  }
  size_t take = pos == std::string::npos ? buffer_.size() : pos + delim.size();
  std::string out = buffer_.substr(0, take);
  buffer_.erase(0, take);
  return out;
}

std::string Client::ReadFor(Duration wait) {
  const auto deadline = Clock::now() + wait;
  while (Fill(deadline)) {
  }
  std::string out;
  out.swap(buffer_);
  return out;
}

bool Client::WaitForClose(Duration timeout, std::string* trailing) {
  const auto deadline = Clock::now() + timeout;
  while (Fill(deadline)) {
  }
  if (trailing != nullptr) *trailing = buffer_;
  buffer_.clear();
  return eof_;
}

::testing::AssertionResult Client::Expect(std::string_view request, std::string_view expected) {
  if (!Send(request)) {
    return ::testing::AssertionFailure() << "send failed for request \"" << Escape(request) << "\"";
  }
  std::string got = ReadExactly(expected.size());
  if (got == expected) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "request  \"" << Escape(request).substr(0, 400) << "\"\n expected \""
         << Escape(expected).substr(0, 400) << "\"\n got      \"" << Escape(got).substr(0, 400)
         << "\"" << (eof_ ? " (connection closed)" : "");
}

std::string Client::Call(std::string_view request, std::string_view until) {
  if (!Send(request)) return {};
  return ReadUntil(until);
}

std::map<std::string, std::string> Client::Stats(std::string_view args) {
  std::string req = "stats";
  if (!args.empty()) {
    req += ' ';
    req += args;
  }
  req += "\r\n";
  std::string reply = Call(req);
  std::map<std::string, std::string> out;
  std::istringstream in(reply);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("STAT ", 0) != 0) continue;
    size_t sp = line.find(' ', 5);
    if (sp == std::string::npos) {
      out[line.substr(5)] = "";
    } else {
      out[line.substr(5, sp - 5)] = line.substr(sp + 1);
    }
  }
  return out;
}

std::string Client::Version() {
  std::string line = Call("version\r\n", "\r\n");
  if (line.size() >= 2) line.resize(line.size() - 2);
  return line;
}

bool ServerIsMcd(int port) {
  Client c(port);
  return c.Version().find("mcd") != std::string::npos;
}

std::string BlankLineReply(int port) {
  return ServerIsMcd(port) ? "CLIENT_ERROR bad command line format\r\n" : "ERROR\r\n";
}

// ---------------------------------------------------------------------------------------------
// ServerTest

void ServerTest::SetUp() {
  ASSERT_TRUE(server_.Start(ServerArgs()));
  c_ = NewClient();
  ASSERT_TRUE(c_->Connected());
}

void ServerTest::TearDown() {
  c_.reset();
  server_.Stop();
}

std::unique_ptr<Client> ServerTest::NewClient() { return Client::Open(server_.port()); }

// ---------------------------------------------------------------------------------------------
// SharedServerTest

ServerProcess* SharedServerTest::server_ = nullptr;

void SharedServerTest::SetUpTestSuite() { server_ = new ServerProcess; }

void SharedServerTest::TearDownTestSuite() {
  delete server_;  // stops the server
  server_ = nullptr;
}

void SharedServerTest::SetUp() {
  ASSERT_NE(server_, nullptr);
  if (server_->Running() && server_->WaitExit(Duration(0)).has_value()) {
    ADD_FAILURE() << "server died during the previous test; restarting it: " << server_->Output();
  }
  if (!server_->Running()) {
    ASSERT_TRUE(server_->Start());
  }
  c_ = NewClient();
  ASSERT_TRUE(c_->Connected());
  ASSERT_TRUE(c_->Expect("flush_all\r\n", "OK\r\n"));
}

void SharedServerTest::TearDown() { c_.reset(); }

std::unique_ptr<Client> SharedServerTest::NewClient() { return Client::Open(server_->port()); }

}  // namespace mcd::testing
