// Process set-up of the memcached binary: what changes the process itself rather than the
// cache or the server. main() calls the steps in this order (memcached's, except that mcd binds
// its listeners before giving up root, so it can use ports below 1024):
//
//   Prepare()          -u names a user (as root), -L is possible, -c and -r limits, -d
//   [cache]            -L: the item memory gets the huge-page hint (storage::CacheOptions)
//   [listeners bound]  failure: Fail(status)
//   HandleSignals()    SIGTERM/SIGINT stop, SIGUSR1 stops gracefully, SIGHUP and SIGPIPE ignored
//   FinishStartUp()    drop to -u, lock memory (-k), write -P and $MEMCACHED_PORT_FILENAME,
//                      stdio to /dev/null (-d), tell the waiting parent
//   [run]
//   Finish()           remove the pid file, forget the server
//
// Messages go to stderr; a step that ends the process returns the exit status to return from
// main() (memcached's: 67 unknown user, 71 operating-system failure, 1 otherwise).
//
// Thread-safety: call from the main thread only; the signal handlers are async-signal-safe.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "mcd/app/options.h"
#include "mcd/server/server.h"

namespace mcd::app {

class Process {
 public:
  explicit Process(const AppOptions& options);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Checks, limits and daemonizing. A value means "return it from main() now": a failed check,
  // or, in the original process of -d, the daemon's start-up status (0 once it is listening).
  std::optional<int> Prepare();
  // Installs the signal handlers for `server` (which must outlive Finish()).
  void HandleSignals(server::Server* server);
  // After the listeners are bound; `ports` are the server's (Server::ListenPorts()). A value
  // means "return it from main() now".
  std::optional<int> FinishStartUp(const std::vector<server::ListenPort>& ports);
  // A start-up failure after Prepare(): tells the waiting parent (-d) and returns `status`.
  int Fail(int status);
  // Clean exit: removes the pid file this process wrote and uninstalls the signal handlers.
  void Finish();

 private:
  std::optional<int> CheckUser();
  std::optional<int> CheckLargePages() const;
  void RaiseOpenFilesLimit() const;
  void RaiseCoreLimit() const;
  std::optional<int> Daemonize();
  std::optional<int> DropPrivileges();
  // -k, after giving up root as memcached (root's exemption from the locked-memory limit would
  // be lost by then anyway): locks current and future memory, or warns and carries on.
  void LockMemory();
  void WritePidFile();
  // When MEMCACHED_PORT_FILENAME is set (and no -s), writes memcached's port file there.
  void WritePortFile(const std::vector<server::ListenPort>& ports) const;
  void ReportToParent(int status);

  const AppOptions& options_;
  bool switch_user_ = false;  // running as root with -u
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  int parent_fd_ = -1;  // -d: write end of the pipe the original process waits on
  bool pid_written_ = false;
};

}  // namespace mcd::app
