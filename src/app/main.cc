// memcached (mcd): command line -> options -> cache, stats, handler context -> server.
#include <event2/event.h>
#include <glog/logging.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "mcd/app/options.h"
#include "mcd/handler/session.h"
#include "mcd/server/server.h"
#include "mcd/stats/stats.h"
#include "mcd/storage/cache.h"
#include "mcd/util/clock.h"

namespace {

mcd::server::Server* g_server = nullptr;

void OnStopSignal(int) {
  if (g_server != nullptr) g_server->Stop();
}

void InstallSignals() {
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {};
  sa.sa_handler = &OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  mcd::app::AppOptions opts;
  std::string message;
  int exit_code = 1;
  switch (mcd::app::ParseCommandLine(argc, argv, &opts, &message, &exit_code)) {
    case mcd::app::ParseOutcome::kExitSuccess:
      std::fputs(message.c_str(), stdout);
      return 0;
    case mcd::app::ParseOutcome::kError:
      std::fputs(message.c_str(), stderr);
      return exit_code;
    case mcd::app::ParseOutcome::kRun:
      if (!message.empty()) std::fputs(message.c_str(), stderr);
      break;
  }
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);

  mcd::SystemClock clock;
  mcd::storage::Cache cache(opts.cache, &clock);
  if (opts.verbosity > 1) std::fputs(cache.ClassTable().c_str(), stderr);
  mcd::stats::Registry registry(opts.server.threads);
  mcd::handler::SharedContext ctx;
  ctx.cache = &cache;
  ctx.stats = &registry;
  ctx.clock = &clock;
  ctx.started = clock.Now();
  ctx.options = opts.handler;
  ctx.options.libevent_version = event_get_version();
  ctx.verbosity.store(opts.verbosity);

  mcd::server::Server server(opts.server, &ctx);
  if (!server.Listen()) return 71;  // EX_OSERR, as memcached when it cannot bind
  g_server = &server;
  InstallSignals();
  ctx.shutdown = [&server](bool) { server.Stop(); };
  server.OnEverySecond([&clock] { clock.Tick(); });
  server.Run();
  g_server = nullptr;
  return 0;
}
