// memcached (mcd): command line -> options -> process set-up -> cache, stats, handler context
// -> server. The order of the process steps is explained in process.h. The server knows no
// protocol: it gets the handler's sessions through a factory and counts into the registry
// through plain pointers, all wired here.
#include <glog/logging.h>

#include <cstdio>
#include <string>

#include "mcd/app/options.h"
#include "mcd/handler/session.h"
#include "mcd/handler/session_factory.h"
#include "mcd/server/server.h"
#include "mcd/stats/stats.h"
#include "mcd/storage/cache.h"
#include "mcd/util/clock.h"
#include "process.h"

namespace {

mcd::server::ServerEnv ServerEnvOf(mcd::handler::SharedContext& ctx, int threads) {
  mcd::server::ServerEnv env;
  env.clock = ctx.clock;
  env.started = ctx.started;
  env.verbosity = &ctx.verbosity;
  env.conns = mcd::handler::ConnCountersOf(&ctx.stats->Server());
  for (int i = 0; i < threads; ++i) {
    env.workers.push_back(mcd::handler::WorkerCountersOf(ctx.stats->Thread(i)));
  }
  return env;
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
  mcd::app::Process process(opts);
  if (auto status = process.Prepare()) return *status;

  mcd::SystemClock clock;
  mcd::storage::Cache cache(opts.cache, &clock);
  if (opts.verbosity > 1) std::fputs(cache.ClassTable().c_str(), stderr);
  mcd::stats::Registry registry(opts.server.threads, opts.prefix_delimiter, opts.detail_enabled);
  mcd::handler::SharedContext ctx;
  ctx.cache = &cache;
  ctx.stats = &registry;
  ctx.clock = &clock;
  ctx.started = clock.Now();
  ctx.options = opts.handler;
  ctx.options.libevent_version = mcd::server::LibeventVersion();
  ctx.verbosity.store(opts.verbosity);

  mcd::handler::SessionFactory sessions(&ctx);
  mcd::server::Server server(opts.server, &sessions, ServerEnvOf(ctx, opts.server.threads));
  if (!server.Listen()) return process.Fail(71);  // EX_OSERR, as memcached when it cannot bind
  process.HandleSignals(&server);
  if (auto status = process.FinishStartUp(server.ListenPorts())) return *status;
  ctx.list_conns = [&server](int caller) { return server.ListConns(caller); };
  ctx.shutdown = [&server](bool graceful) {
    if (graceful) {
      server.StopGraceful();
    } else {
      server.Stop();
    }
  };
  server.OnEverySecond([&clock] { clock.Tick(); });
  server.Run();
  process.Finish();
  return 0;
}
