#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace mcd::app {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitNoUser = 67;  // EX_NOUSER
constexpr int kExitOsErr = 71;   // EX_OSERR

// Descriptors mcd needs besides client connections: stdio, listeners, one event loop and one
// eventfd per thread, the pid file, logs.
constexpr rlim_t kReservedFds = 32;

// Read by the signal handlers: a lock-free atomic, so async-signal-safe.
std::atomic<server::Server*> g_server{nullptr};

void OnStopSignal(int) {
  if (server::Server* s = g_server.load()) s->Stop();
}

void OnGracefulSignal(int) {
  if (server::Server* s = g_server.load()) s->StopGraceful();
}

void Warn(const std::string& text) { std::fprintf(stderr, "%s\n", text.c_str()); }

std::string ErrnoText() {
  char buf[256];
  return ::strerror_r(errno, buf, sizeof(buf));  // GNU strerror_r: returns the message
}

// Writes all of `data`: retries on EINTR and short writes.
bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// The daemon's start-up status as the original process receives it; -1 if the daemon died
// (or its pipe closed) before reporting.
int ReadStatus(int fd) {
  int status = 0;
  size_t got = 0;
  while (got < sizeof(status)) {
    ssize_t n = ::read(fd, reinterpret_cast<char*>(&status) + got, sizeof(status) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += static_cast<size_t>(n);
  }
  return status;
}

void RedirectStdio() {
  int fd = ::open("/dev/null", O_RDWR);
  if (fd < 0) return;
  for (int target = 0; target <= 2; ++target) ::dup2(fd, target);
  if (fd > 2) ::close(fd);
}

}  // namespace

Process::Process(const AppOptions& options) : options_(options) {}

Process::~Process() {
  if (parent_fd_ >= 0) ::close(parent_fd_);
}

std::optional<int> Process::Prepare() {
  if (auto status = CheckUser()) return status;
  if (auto status = CheckLargePages()) return status;
  RaiseOpenFilesLimit();
  RaiseCoreLimit();
  return Daemonize();
}

std::optional<int> Process::CheckUser() {
  // As memcached: -u matters only to a process started as root (others ignore it).
  if ((::getuid() != 0 && ::geteuid() != 0) || options_.user.empty()) return std::nullopt;
  passwd entry{};
  passwd* pw = nullptr;
  char buf[4096];
  ::getpwnam_r(options_.user.c_str(), &entry, buf, sizeof(buf), &pw);
  if (pw == nullptr) {
    std::fprintf(stderr, "can't find the user %s to switch to\n", options_.user.c_str());
    return kExitNoUser;
  }
  switch_user_ = true;
  uid_ = pw->pw_uid;
  gid_ = pw->pw_gid;
  return std::nullopt;
}

std::optional<int> Process::CheckLargePages() const {
  if (!options_.large_pages) return std::nullopt;
  // -L asks for transparent huge pages; like memcached, refuse to start where they are off.
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  std::getline(in, mode);
  if (!in || mode.find("[never]") != std::string::npos) {
    Warn("-L: large pages are not available here (transparent huge pages are " +
         std::string(!in ? "not supported" : "disabled") + ")");
    return kExitFailure;
  }
  return std::nullopt;
}

void Process::RaiseOpenFilesLimit() const {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    Warn("warning: cannot read the open-files limit: " + ErrnoText());
    return;
  }
  const rlim_t want = static_cast<rlim_t>(options_.server.max_connections) + kReservedFds +
                      3 * static_cast<rlim_t>(options_.server.threads);
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) return;
  // Only the soft limit moves, never past the hard one; the hard limit is never lowered.
  const bool capped = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want;
  const rlim_t target = capped ? rl.rlim_max : want;
  if (target > rl.rlim_cur) {
    rlimit raised = rl;
    raised.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      Warn("warning: cannot raise the open-files limit to " + std::to_string(target) + ": " +
           ErrnoText());
      return;
    }
  }
  if (capped) {
    Warn("warning: -c " + std::to_string(options_.server.max_connections) + " needs about " +
         std::to_string(want) + " open files but the hard limit is " + std::to_string(rl.rlim_max) +
         "; connections beyond that will fail");
  }
}

void Process::RaiseCoreLimit() const {
  if (!options_.enable_coredumps) return;
  rlimit rl{};
  if (::getrlimit(RLIMIT_CORE, &rl) != 0) {
    Warn("warning: -r: cannot read the core file limit: " + ErrnoText());
    return;
  }
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_CORE, &rl) != 0) {
    Warn("warning: -r: cannot raise the core file limit: " + ErrnoText());
  }
}

std::optional<int> Process::Daemonize() {
  if (!options_.daemonize) return std::nullopt;
  std::fflush(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    Warn("cannot run as a daemon: pipe: " + ErrnoText());
    return kExitFailure;
  }
  pid_t child = ::fork();
  if (child < 0) {
    Warn("cannot run as a daemon: fork: " + ErrnoText());
    return kExitFailure;
  }
  if (child > 0) {
    // The original process: exit with the daemon's start-up status.
    ::close(fds[1]);
    int ignored = 0;
    while (::waitpid(child, &ignored, 0) < 0 && errno == EINTR) {
    }
    int status = ReadStatus(fds[0]);
    ::close(fds[0]);
    return status < 0 ? kExitFailure : status;
  }
  ::close(fds[0]);
  parent_fd_ = fds[1];
  // First child: a new session without a controlling terminal, then a second fork so the
  // daemon is not a session leader and can never acquire one.
  if (::setsid() < 0) {
    Warn("cannot run as a daemon: setsid: " + ErrnoText());
    ReportToParent(kExitFailure);
    std::_Exit(kExitFailure);
  }
  pid_t daemon = ::fork();
  if (daemon < 0) {
    Warn("cannot run as a daemon: fork: " + ErrnoText());
    ReportToParent(kExitFailure);
    std::_Exit(kExitFailure);
  }
  if (daemon > 0) std::_Exit(0);
  // With -r memcached stays in its directory so a core file lands there; so does mcd.
  if (!options_.enable_coredumps && ::chdir("/") != 0) {
    Warn("warning: cannot change directory to /: " + ErrnoText());
  }
  return std::nullopt;
}

void Process::LockMemory() {
  if (!options_.lock_memory) return;
  const std::string not_locked = "; running with memory that may be paged out";
  // Under a finite limit, locking all memory now would make later allocations (thread stacks,
  // buffers) fail; lock only when the limit leaves room for them.
  rlimit rl{};
  if (::geteuid() != 0 && ::getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    unsigned long long vm_pages = 0;
    std::ifstream statm("/proc/self/statm");
    statm >> vm_pages;
    const unsigned long long room =
        static_cast<unsigned long long>(options_.server.threads + 4) * (16ull << 20);
    const unsigned long long need = vm_pages * static_cast<unsigned long long>(::getpagesize());
    if (need + room > rl.rlim_cur) {
      Warn("warning: -k: cannot lock memory (mlockall needs more than the locked-memory limit of " +
           std::to_string(rl.rlim_cur) + " bytes)" + not_locked);
      return;
    }
  }
  // MCL_ONFAULT locks pages as they are first touched, so the item memory is not all faulted
  // in at start-up (memcached's memory is locked as it grows, too). Older kernels lack it.
  int rc = -1;
#ifdef MCL_ONFAULT
  rc = ::mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
  if (rc != 0 && errno != EINVAL) {
    Warn("warning: -k: cannot lock memory (mlockall: " + ErrnoText() + ")" + not_locked);
    return;
  }
#endif
  if (rc != 0 && ::mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    Warn("warning: -k: cannot lock memory (mlockall: " + ErrnoText() + ")" + not_locked);
  }
}

void Process::HandleSignals(server::Server* server) {
  g_server.store(server);
  struct sigaction sa = {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);  // memcached 1.6.18 keeps running on SIGHUP too
  sa.sa_handler = &OnStopSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = &OnGracefulSignal;
  sigaction(SIGUSR1, &sa, nullptr);
}

std::optional<int> Process::FinishStartUp(const std::vector<server::ListenPort>& ports) {
  if (auto status = DropPrivileges()) return Fail(*status);
  LockMemory();
  WritePidFile();
  WritePortFile(ports);
  // With -v a daemon keeps its stdio, as memcached's does.
  if (options_.daemonize && options_.verbosity == 0) RedirectStdio();
  ReportToParent(0);
  return std::nullopt;
}

std::optional<int> Process::DropPrivileges() {
  if (!switch_user_) return std::nullopt;
  // mcd binds before switching user (so ports below 1024 work); the unix socket file must still
  // belong to the user, as memcached's does, so that user can be reached by its group and can
  // remove the file at exit.
  if (!options_.unix_socket.empty() && ::lchown(options_.unix_socket.c_str(), uid_, gid_) != 0) {
    Warn("failed to give " + options_.unix_socket + " to user " + options_.user + ": " +
         ErrnoText());
  }
  if (::setgroups(0, nullptr) != 0) {
    Warn("failed to drop the supplementary groups: " + ErrnoText());
    return kExitOsErr;
  }
  if (::setgid(gid_) != 0 || ::setuid(uid_) != 0) {
    std::fprintf(stderr, "failed to assume identity of user %s\n", options_.user.c_str());
    return kExitOsErr;
  }
  return std::nullopt;
}

void Process::WritePidFile() {
  const std::string& path = options_.pidfile;
  if (path.empty()) return;
  {
    // A pid file naming a live process is probably another server's: say so, then replace it.
    std::ifstream old(path);
    long pid = 0;
    if (old >> pid && pid > 0 && pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) == 0) {
      Warn("warning: pid file " + path + " names process " + std::to_string(pid) +
           ", which is running; replacing it");
    }
  }
  // Written next to its final name and renamed, so a reader never sees a partial file.
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    Warn("warning: cannot write the pid file " + tmp + ": " + ErrnoText());
    return;
  }
  const std::string text = std::to_string(::getpid()) + "\n";
  bool ok = WriteAll(fd, text.data(), text.size());
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    Warn("warning: cannot write the pid file " + path + ": " + ErrnoText());
    ::unlink(tmp.c_str());
    return;
  }
  pid_written_ = true;
}

// memcached's format, one line per bound address: TCP listeners first, then UDP addresses:
//   TCP INET: 11211
//   TCP INET6: 11211
//   UDP INET: 11211
// Written as <path>.lck, then renamed, so whoever waits for the file sees it whole. As
// memcached: written after switching to the -u user, with no file for -s, and a file that
// cannot be opened is a message, not a failure. (memcached appends to a stale .lck; mcd
// truncates it.)
void Process::WritePortFile(const std::vector<server::ListenPort>& ports) const {
  // Read on the main thread before any other reads or changes the environment.
  const char* path = std::getenv("MEMCACHED_PORT_FILENAME");  // NOLINT(concurrency-mt-unsafe)
  if (path == nullptr || !options_.unix_socket.empty()) return;
  const std::string tmp = std::string(path) + ".lck";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    Warn("Failed to open \"" + tmp + "\": " + ErrnoText());
    return;
  }
  for (const server::ListenPort& p : ports) {
    std::fprintf(f, "%s %s: %d\n", p.udp ? "UDP" : "TCP", p.inet6 ? "INET6" : "INET", p.port);
  }
  std::fclose(f);
  ::rename(tmp.c_str(), path);
}

int Process::Fail(int status) {
  ReportToParent(status);
  return status;
}

void Process::ReportToParent(int status) {
  if (parent_fd_ < 0) return;
  WriteAll(parent_fd_, &status, sizeof(status));
  ::close(parent_fd_);
  parent_fd_ = -1;
}

void Process::Finish() {
  // The server is about to go: further stop signals are ignored, the exit stays clean.
  struct sigaction sa = {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = SIG_IGN;
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
  g_server.store(nullptr);
  if (pid_written_ && ::unlink(options_.pidfile.c_str()) != 0 && errno != ENOENT) {
    Warn("warning: cannot remove the pid file " + options_.pidfile + ": " + ErrnoText());
  }
  pid_written_ = false;
}

}  // namespace mcd::app
