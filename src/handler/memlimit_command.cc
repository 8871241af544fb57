#include "memlimit_command.h"

#include <glog/logging.h>

#include "mcd/protocol/wire.h"
#include "mcd/storage/cache.h"

namespace mcd::handler {

std::string_view CacheMemlimitCommand(uint64_t megabytes, const SharedContext& ctx) {
  namespace wire = protocol::wire;
  if (megabytes < kMinMemlimitMegabytes) return wire::kMemlimitTooSmall;
  if (megabytes > kMaxMemlimitMegabytes) return wire::kMemlimitNotMegabytes;
  if (!ctx.cache->SetMemoryLimit(megabytes << 20)) return wire::kMemlimitFailed;
  if (ctx.verbosity.load(std::memory_order_relaxed) > 0) {
    LOG(INFO) << "maxbytes adjusted to " << megabytes << "m";
  }
  return wire::kOk;
}

}  // namespace mcd::handler
