// `cache_memlimit <megabytes> [noreply]`: -m at run time, with memcached's replies. Private to
// src/handler.
#pragma once

#include <cstdint>
#include <string_view>

#include "mcd/handler/session.h"

namespace mcd::handler {

// Smallest and largest accepted limits, in megabytes (memcached's checks, in this order).
inline constexpr uint64_t kMinMemlimitMegabytes = 8;
inline constexpr uint64_t kMaxMemlimitMegabytes = 1000000000;

// Changes the cache's memory limit to `megabytes` if accepted, and returns the reply (OK, or why
// not). At verbosity 1 and above an accepted change is logged, as memcached does.
std::string_view CacheMemlimitCommand(uint64_t megabytes, const SharedContext& ctx);

}  // namespace mcd::handler
