// Drop-in process behaviour: -d and -P, -u, -r, -k, -c, -L, -o idle_timeout, graceful stop
// (SIGUSR1, `shutdown graceful`), `shutdown` with and without -A, SIGHUP.
//
// Cases that memcached 1.6.18 shares run against it too (MCD_TEST_BINARY=/usr/bin/memcached);
// the ones where mcd deliberately differs (docs/compatibility.md) skip there.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "server_process.h"

extern char** environ;

namespace mcd::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A port nobody listens on right now (the kernel's choice for port 0).
int PickPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

struct RunResult {
  bool exited = false;  // false: killed after the deadline
  int status = -1;      // raw waitpid status
  std::string output;   // stdout and stderr
  int code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

// Runs `argv` to completion (SIGKILL after `timeout`), stdout and stderr captured.
RunResult RunToExit(const std::vector<std::string>& argv, Duration timeout = Duration(10000)) {
  RunResult r;
  char tmpl[] = "/tmp/mcd_proc_out_XXXXXX";
  int out_fd = ::mkstemp(tmpl);
  if (out_fd < 0) return r;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_fd);
  if (rc == 0) {
    r.exited =
        PollUntil([&] { return ::waitpid(pid, &r.status, WNOHANG) == pid; }, timeout, Duration(10));
    if (!r.exited) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &r.status, 0);
    }
  }
  r.output = ReadAll(tmpl);
  ::unlink(tmpl);
  return r;
}

std::vector<std::string> BaseArgs(int port) {
  std::vector<std::string> argv = {ServerBinary(), "-p", std::to_string(port), "-l", "127.0.0.1",
                                   "-U",           "0"};
  if (::geteuid() == 0) {
    argv.push_back("-u");
    argv.push_back("nobody");
  }
  return argv;
}

// A /proc/PID/status field ("Uid:", "VmLck:", ...), without its name; empty if missing.
std::string ProcStatus(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return line.substr(field.size());
  }
  return "";
}

// Soft and hard values of a /proc/PID/limits row ("Max open files"); "unlimited" is ULLONG_MAX.
std::pair<uint64_t, uint64_t> ProcLimit(pid_t pid, const std::string& row) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(row, 0) != 0) continue;
    std::istringstream fields(line.substr(row.size()));
    std::string soft, hard;
    fields >> soft >> hard;
    auto value = [](const std::string& v) {
      return v == "unlimited" ? ULLONG_MAX : std::stoull(v);
    };
    return {value(soft), value(hard)};
  }
  ADD_FAILURE() << "no row " << row << " in /proc/" << pid << "/limits";
  return {0, 0};
}

// True once `pid` is gone (or a zombie nobody reaped yet).
bool ProcessGone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::string stat = ReadAll("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  return close == std::string::npos || (close + 2 < stat.size() && stat[close + 2] == 'Z');
}

// Sets the soft limit of `resource` for this process (and so for servers it starts from now
// on); restores the old one when destroyed.
class ScopedSoftLimit {
 public:
  ScopedSoftLimit(int resource, rlim_t soft) : resource_(resource) {
    ::getrlimit(resource_, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = std::min(soft, saved_.rlim_max);
    ok_ = ::setrlimit(resource_, &lowered) == 0;
  }
  ~ScopedSoftLimit() { ::setrlimit(resource_, &saved_); }
  bool ok() const { return ok_; }
  rlim_t hard() const { return saved_.rlim_max; }

 private:
  int resource_;
  rlimit saved_{};
  bool ok_ = false;
};

// A directory in /tmp anyone may create files in (the daemon may write as `nobody`).
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mcd_proc_XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) path_ = tmpl;
    ::chmod(path_.c_str(), 01777);
  }
  ~TempDir() {
    if (!path_.empty()) std::system(("rm -rf '" + path_ + "'").c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// -d and -P

TEST(DaemonTest, DetachesWritesPidFileAndRemovesItOnSigterm) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string pidfile = dir.path() + "/mcd.pid";
  DescendantGuard guard;  // kills the daemon if the test fails before it does
  RunResult run;
  int port = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {  // another process may take the port
    port = PickPort();
    std::vector<std::string> argv = BaseArgs(port);
    argv.insert(argv.end(), {"-d", "-P", pidfile});
    run = RunToExit(argv);
    if (run.output.find("in use") == std::string::npos) break;
  }
  ASSERT_TRUE(run.exited) << "the starting process did not exit: " << run.output;
  ASSERT_EQ(run.code(), 0) << run.output;

  // mcd's starting process exits only once the daemon listens; memcached's exits at once.
  std::unique_ptr<Client> c;
  ASSERT_TRUE(PollUntil(
      [&] {
        c = Client::Open(port);
        return c->Connected();
      },
      Duration(5000)))
      << "daemon not listening";
  ASSERT_TRUE(PollUntil([&] { return !ReadAll(pidfile).empty(); }, Duration(5000)));
  const pid_t pid = static_cast<pid_t>(std::stol(ReadAll(pidfile)));
  auto stats = c->Stats();
  EXPECT_EQ(stats["pid"], std::to_string(pid)) << "the pid file names another process";

  // Detached: another session, working directory /, stdio on /dev/null.
  EXPECT_NE(::getsid(pid), ::getsid(0));
  char buf[PATH_MAX];
  ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/cwd").c_str(), buf, sizeof(buf));
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "/");
  for (int fd = 0; fd <= 2; ++fd) {
    std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
    n = ::readlink(link.c_str(), buf, sizeof(buf));
    EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "/dev/null") << "fd " << fd;
  }

  c.reset();
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  EXPECT_TRUE(PollUntil([&] { return ::access(pidfile.c_str(), F_OK) != 0; }, Duration(5000)))
      << "pid file still there after SIGTERM";
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(pid); }, Duration(5000)))
      << "daemon still running after SIGTERM";
}

// Regression: the guard used to know the daemon only by the pid its pid file named, so a test
// that failed before the file appeared left the daemon running. Here no pid file is asked for;
// the guard must find and stop the daemon on its own.
TEST(DaemonTest, GuardStopsADaemonWhosePidFileNeverAppears) {
  pid_t daemon = -1;
  {
    DescendantGuard guard;
    RunResult run;
    int port = 0;
    for (int attempt = 0; attempt < 3; ++attempt) {  // another process may take the port
      port = PickPort();
      std::vector<std::string> argv = BaseArgs(port);
      argv.push_back("-d");
      run = RunToExit(argv);
      if (run.output.find("in use") == std::string::npos) break;
    }
    ASSERT_TRUE(run.exited) << "the starting process did not exit: " << run.output;
    ASSERT_EQ(run.code(), 0) << run.output;
    std::unique_ptr<Client> c;
    ASSERT_TRUE(PollUntil(
        [&] {
          c = Client::Open(port);
          return c->Connected();
        },
        Duration(5000)))
        << "daemon not listening";
    daemon = static_cast<pid_t>(std::atol(c->Stats()["pid"].c_str()));
    ASSERT_GT(daemon, 0) << "no pid in stats";
    ASSERT_FALSE(ProcessGone(daemon));
  }  // the guard ends here, as it does when a failed assertion leaves a test
  const bool gone = ProcessGone(daemon);
  if (!gone) ::kill(daemon, SIGKILL);  // do not leave it behind ourselves
  EXPECT_TRUE(gone) << "the daemon (pid " << daemon << ") outlived the test's guard";
}

TEST(DaemonTest, StartingProcessReportsTheDaemonsFailure) {
  if (ServerBinary() == "/usr/bin/memcached") {
    GTEST_SKIP() << "memcached's starting process exits 0 before the daemon binds (C13)";
  }
  // Hold the port so the daemon cannot bind it.
  int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  ASSERT_EQ(::getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::vector<std::string> argv = BaseArgs(ntohs(addr.sin_port));
  argv.push_back("-d");
  DescendantGuard guard;  // a daemon that should have failed must not outlive the test
  RunResult run = RunToExit(argv);
  ::close(holder);
  ASSERT_TRUE(run.exited);
  EXPECT_EQ(run.code(), 71) << run.output;  // EX_OSERR, as without -d
  EXPECT_NE(run.output.find("in use"), std::string::npos) << run.output;
}

TEST(DaemonTest, PidFileWithoutDaemonMode) {
  // memcached writes -P without -d too.
  TempDir dir;
  const std::string pidfile = dir.path() + "/mcd.pid";
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-P", pidfile}));
  ASSERT_TRUE(PollUntil([&] { return !ReadAll(pidfile).empty(); }, Duration(5000)));
  EXPECT_EQ(ReadAll(pidfile), std::to_string(server.pid()) + "\n");
  const bool mcd = ServerIsMcd(server.port());
  auto status = server.Stop();
  ASSERT_TRUE(status.has_value() && WIFEXITED(*status)) << "not a clean exit";
  // memcached leaves it behind without -d; mcd removes it on every clean exit (C13).
  if (mcd) {
    EXPECT_NE(::access(pidfile.c_str(), F_OK), 0) << "pid file left after exit";
  }
}

// ---------------------------------------------------------------------------------------------
// -u

TEST(UserTest, DropsToTheUserWhenStartedAsRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "only meaningful as root";
  const passwd* pw = ::getpwnam("nobody");
  ASSERT_NE(pw, nullptr);
  const std::string uid = std::to_string(pw->pw_uid), gid = std::to_string(pw->pw_gid);
  ServerProcess server;  // adds -u nobody as root
  ASSERT_TRUE(server.Start());
  // mcd binds before giving up root, so the port may accept before the switch; a served
  // command proves the start-up (and the switch) is over.
  Client c(server.port());
  ASSERT_TRUE(c.Expect("set a 0 0 1\r\nx\r\n", "STORED\r\n"));
  std::istringstream uids(ProcStatus(server.pid(), "Uid:"));
  std::istringstream gids(ProcStatus(server.pid(), "Gid:"));
  for (int i = 0; i < 4; ++i) {  // real, effective, saved, filesystem
    std::string u, g;
    uids >> u;
    gids >> g;
    EXPECT_EQ(u, uid) << "uid field " << i;
    EXPECT_EQ(g, gid) << "gid field " << i;
  }
  std::istringstream groups(ProcStatus(server.pid(), "Groups:"));
  std::string group;
  EXPECT_FALSE(groups >> group) << "supplementary groups kept: " << group;
}

TEST(UserTest, UnknownUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "-u is ignored unless started as root";
  std::vector<std::string> argv = {
      ServerBinary(),    "-p", std::to_string(PickPort()), "-l", "127.0.0.1", "-U", "0", "-u",
      "no_such_user_mcd"};
  RunResult run = RunToExit(argv);
  ASSERT_TRUE(run.exited);
  EXPECT_EQ(run.code(), 67) << run.output;  // EX_NOUSER
  EXPECT_EQ(run.output, "can't find the user no_such_user_mcd to switch to\n");
}

// ---------------------------------------------------------------------------------------------
// -r, -k, -c, -L

TEST(LimitsTest, CoreLimitRaisedToTheHardLimit) {
  ScopedSoftLimit low(RLIMIT_CORE, 0);
  if (!low.ok() || low.hard() == 0) GTEST_SKIP() << "hard core limit is 0";
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-r"}));
  auto [soft, hard] = ProcLimit(server.pid(), "Max core file size");
  EXPECT_EQ(soft, hard);
  EXPECT_EQ(hard, low.hard() == RLIM_INFINITY ? ULLONG_MAX : low.hard());
}

TEST(LimitsTest, LockedMemoryStartsAndServes) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-k"}));
  Client c(server.port());  // served: start-up, where -k is applied, is over
  ASSERT_TRUE(c.Expect("set a 0 0 1\r\nx\r\n", "STORED\r\n"));
  // Either memory is locked or stderr says why not (as `nobody`, under a small locked-memory
  // limit, neither memcached nor mcd can lock; both carry on).
  if (std::stoull(ProcStatus(server.pid(), "VmLck:")) == 0) {
    EXPECT_NE(server.Output().find("mlockall"), std::string::npos) << server.Output();
  }
}

TEST(LimitsTest, OpenFilesSoftLimitRaisedAsFarAsAllowed) {
  if (ServerBinary() == "/usr/bin/memcached") {
    GTEST_SKIP() << "memcached sets soft and hard to -c, or refuses to start (C12)";
  }
  ScopedSoftLimit low(RLIMIT_NOFILE, 256);
  if (!low.ok() || low.hard() <= 256) GTEST_SKIP() << "hard open-files limit too low";
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-c", "100000"}));
  auto [soft, hard] = ProcLimit(server.pid(), "Max open files");
  EXPECT_EQ(hard, low.hard()) << "the hard limit must never change";
  if (hard < 100000) {
    EXPECT_EQ(soft, hard) << "soft limit not raised to the hard limit";
    EXPECT_NE(server.Output().find("hard limit"), std::string::npos) << server.Output();
  } else {
    EXPECT_GE(soft, 100000u);
  }
}

TEST(LimitsTest, LargePagesHintOnItemMemory) {
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  if (!std::getline(thp, mode) || mode.find("[never]") != std::string::npos) {
    GTEST_SKIP() << "no transparent huge pages here";
  }
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-L", "-m", "64"}));
  // MADV_HUGEPAGE shows as "hg" in the VmFlags of a mapping.
  std::ifstream smaps("/proc/" + std::to_string(server.pid()) + "/smaps");
  std::string line;
  bool hinted = false;
  while (std::getline(smaps, line)) {
    if (line.rfind("VmFlags:", 0) == 0 && line.find(" hg") != std::string::npos) hinted = true;
  }
  EXPECT_TRUE(hinted) << "no mapping with MADV_HUGEPAGE";
  Client c(server.port());
  EXPECT_TRUE(c.Expect("set a 0 0 1\r\nx\r\n", "STORED\r\n"));
}

// ---------------------------------------------------------------------------------------------
// -o idle_timeout

class IdleTimeoutTest : public ServerTest {
 protected:
  std::vector<std::string> ServerArgs() const override { return {"-o", "idle_timeout=2"}; }
};

TEST_F(IdleTimeoutTest, IdleClientIsClosedActiveOneIsNotAndKicksAreCounted) {
  auto idle = NewClient();
  ASSERT_TRUE(idle->Connected());
  const auto start = SteadyClock::now();
  bool closed = false;
  // c_ stays active (a command every ~250 ms) while `idle` says nothing.
  while (!closed && SteadyClock::now() - start < std::chrono::seconds(9)) {
    ASSERT_FALSE(c_->Version().empty()) << "the active client was closed";
    closed = idle->WaitForClose(Duration(250));
  }
  const auto waited = SteadyClock::now() - start;
  ASSERT_TRUE(closed) << "idle client still open after 9 s";
  EXPECT_GE(waited, std::chrono::milliseconds(1900)) << "closed before the timeout";
  // mcd: more than 2 s on a clock ticking each second, found by a sweep each second: 2 to 4 s,
  // plus scheduling delays on a loaded machine. memcached's sweep is coarser (up to ~6 s seen).
  if (ServerIsMcd(server_.port())) {
    EXPECT_LE(waited, std::chrono::milliseconds(5500));
  }
  ASSERT_FALSE(c_->Version().empty()) << "the active client was closed";
  std::string stats = c_->Call("stats\r\n");
  EXPECT_NE(stats.find("STAT auth_errors 0\r\nSTAT idle_kicks 1\r\nSTAT bytes_read "),
            std::string::npos)
      << stats;
}

TEST(IdleKicksStatTest, AbsentWithoutIdleTimeout) {
  ServerProcess server;
  ASSERT_TRUE(server.Start());
  Client c(server.port());
  std::string stats = c.Call("stats\r\n");
  EXPECT_EQ(stats.find("idle_kicks"), std::string::npos);
  EXPECT_NE(stats.find("STAT auth_errors 0\r\nSTAT bytes_read "), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Graceful stop, `shutdown`, SIGHUP

bool ExitedWith(const std::optional<int>& status, int code) {
  return status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == code;
}

TEST(GracefulStopTest, SigusrFinishesTheCommandInFlightRefusesNewClientsThenExits) {
  ServerProcess server;
  ASSERT_TRUE(server.Start());
  if (!ServerIsMcd(server.port())) {
    GTEST_SKIP() << "memcached closes connections mid-command on a graceful stop (C14)";
  }
  Client busy(server.port());
  Client idle(server.port());
  ASSERT_TRUE(idle.Expect("version\r\n", "VERSION "));
  idle.ReadLine();
  ASSERT_TRUE(busy.Send("set k 0 0 10\r\n12345"));  // half the value

  server.Signal(SIGUSR1);
  EXPECT_TRUE(idle.WaitForClose(Duration(3000))) << "idle connection not closed";
  EXPECT_TRUE(
      PollUntil([&] { return !Client(server.port(), Duration(200)).Connected(); }, Duration(3000)))
      << "still accepting connections";
  EXPECT_FALSE(server.WaitExit(Duration(0)).has_value()) << "exited with a command in flight";

  EXPECT_TRUE(busy.Expect("67890\r\n", "STORED\r\n"));
  EXPECT_TRUE(busy.WaitForClose(Duration(3000)));
  auto status = server.WaitExit(Duration(3000));
  EXPECT_TRUE(ExitedWith(status, 0)) << "status " << status.value_or(-1);
  EXPECT_NE(server.Output().find("Gracefully stopping\n"), std::string::npos) << server.Output();
}

TEST(GracefulStopTest, SigusrOnAnIdleServerExitsZero) {
  ServerProcess server;
  ASSERT_TRUE(server.Start());
  server.Signal(SIGUSR1);
  auto status = server.WaitExit(Duration(3000));
  EXPECT_TRUE(ExitedWith(status, 0)) << "status " << status.value_or(-1);
  EXPECT_NE(server.Output().find("Gracefully stopping\n"), std::string::npos) << server.Output();
}

// Idle connections must not hold the exit up: never used, between commands, or with half a
// command line typed (no command has started). memcached closes them all at its next clock
// tick; mcd at once.
TEST(GracefulStopTest, SigusrWithIdleClientsExitsWithinASecond) {
  ServerProcess server;
  ASSERT_TRUE(server.Start());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 9; ++i) {
    clients.push_back(Client::Open(server.port()));
    ASSERT_TRUE(clients.back()->Connected());
    if (i % 3 == 1) {
      ASSERT_TRUE(clients.back()->Expect("set k 0 0 1\r\nx\r\n", "STORED\r\n"));
    } else if (i % 3 == 2) {
      ASSERT_TRUE(clients.back()->Send("get k"));  // no end of line yet
    }
  }
  ASSERT_TRUE(clients[1]->Expect("get k\r\n", "VALUE k 0 1\r\nx\r\nEND\r\n"));  // all read
  const bool mcd = ServerIsMcd(server.port());
  const auto start = SteadyClock::now();
  server.Signal(SIGUSR1);
  auto status = server.WaitExit(Duration(6000));
  const auto took = std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
  EXPECT_TRUE(ExitedWith(status, 0)) << "status " << status.value_or(-1);
  // memcached closes them at its next clock tick, up to a second later.
  const int64_t limit_ms = mcd ? 1000 : 2000;
  EXPECT_LT(took.count(), limit_ms)
      << "graceful stop with idle clients took " << took.count() << " ms";
  for (auto& c : clients) EXPECT_TRUE(c->WaitForClose(Duration(1000)));
}

// A client that does not read its replies holds the exit up for a second at most (memcached's
// clock tick), not for the whole drain timeout.
TEST(GracefulStopTest, SigusrWithAClientNotReadingItsRepliesExitsWithinTwoSeconds) {
  ServerProcess server;
  ASSERT_TRUE(server.Start());
  Client c(server.port());
  const std::string value(512 * 1024, 'v');
  ASSERT_TRUE(c.Expect("set big 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n",
                       "STORED\r\n"));
  std::string gets;
  for (int i = 0; i < 32; ++i) gets += "get big\r\n";  // 16 MB of replies, never read
  ASSERT_TRUE(c.Send(gets));
  std::this_thread::sleep_for(Duration(200));
  const auto start = SteadyClock::now();
  server.Signal(SIGUSR1);
  auto status = server.WaitExit(Duration(6000));
  const auto took = std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
  EXPECT_TRUE(ExitedWith(status, 0)) << "status " << status.value_or(-1);
  EXPECT_LT(took.count(), 2000) << "graceful stop took " << took.count() << " ms";
}

TEST(ShutdownCommandTest, RefusedWithoutDashA) {
  ServerProcess server;
  ASSERT_TRUE(server.Start());
  Client c(server.port());
  EXPECT_TRUE(c.Expect("shutdown\r\n", "ERROR: shutdown not enabled\r\n"));
  EXPECT_TRUE(c.Expect("shutdown graceful\r\n", "ERROR: shutdown not enabled\r\n"));
  EXPECT_TRUE(c.Expect("shutdown foo\r\n", "ERROR: shutdown not enabled\r\n"));
  EXPECT_TRUE(c.Expect("set a 0 0 1\r\nx\r\n", "STORED\r\n"));
  EXPECT_FALSE(server.WaitExit(Duration(0)).has_value());
}

TEST(ShutdownCommandTest, ImmediateWithDashA) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-A"}));
  Client c(server.port());
  EXPECT_TRUE(c.Expect("shutdown foo\r\n", "CLIENT_ERROR invalid shutdown mode\r\n"));
  EXPECT_TRUE(c.Expect("shutdown graceful now\r\n", "CLIENT_ERROR invalid shutdown mode\r\n"));
  EXPECT_TRUE(c.Expect("shutdown noreply\r\n", "CLIENT_ERROR invalid shutdown mode\r\n"));
  ASSERT_TRUE(c.Send("shutdown\r\n"));
  std::string trailing;
  EXPECT_TRUE(c.WaitForClose(Duration(3000), &trailing));
  EXPECT_EQ(trailing, "");
  auto status = server.WaitExit(Duration(3000));
  EXPECT_TRUE(ExitedWith(status, 0)) << "status " << status.value_or(-1);
  EXPECT_EQ(server.Output().find("Gracefully"), std::string::npos) << server.Output();
}

TEST(ShutdownCommandTest, GracefulWithDashA) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-A"}));
  Client c(server.port());
  ASSERT_TRUE(c.Send("shutdown  graceful\r\n"));
  std::string trailing;
  EXPECT_TRUE(c.WaitForClose(Duration(3000), &trailing));
  EXPECT_EQ(trailing, "");
  auto status = server.WaitExit(Duration(3000));
  EXPECT_TRUE(ExitedWith(status, 0)) << "status " << status.value_or(-1);
  EXPECT_NE(server.Output().find("Gracefully stopping\n"), std::string::npos) << server.Output();
}

TEST(SignalTest, SighupLeavesTheServerRunning) {
  ServerProcess server;
  ASSERT_TRUE(server.Start());
  Client c(server.port());
  ASSERT_TRUE(c.Expect("set a 0 0 1\r\nx\r\n", "STORED\r\n"));
  server.Signal(SIGHUP);
  // Nothing to wait for if it survives: give a wrongly dying server a bounded chance to die.
  EXPECT_FALSE(server.WaitExit(Duration(500)).has_value()) << "SIGHUP stopped the server";
  EXPECT_TRUE(c.Expect("get a\r\n", "VALUE a 0 1\r\nx\r\nEND\r\n"));
  Client fresh(server.port());
  EXPECT_TRUE(fresh.Expect("get a\r\n", "VALUE a 0 1\r\nx\r\nEND\r\n"));
}

}  // namespace
}  // namespace mcd::testing
