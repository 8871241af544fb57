// The base of the handler test fixtures: a fake clock, one thread's stats, a small cache without
// background threads (8 MB, no maintainer) and the SharedContext that joins them, as the app
// wires them; and a feeder that hands a session its input the way the server does.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "mcd/handler/session.h"
#include "mcd/server/session.h"
#include "mcd/stats/stats.h"
#include "mcd/storage/cache.h"
#include "mcd/util/clock.h"
#include "mcd/util/out_buf.h"

namespace mcd::handler {

class HandlerTestBase : public ::testing::Test {
 protected:
  HandlerTestBase() : registry_(1) {
    ctx_.stats = &registry_;
    ctx_.clock = &clock_;
    ctx_.options.version = "1.6.18-mcd-test";
    NewCache();
  }

  static storage::CacheOptions SmallCache() {
    storage::CacheOptions o;
    o.memory_limit = 8 << 20;
    o.start_maintainer = false;
    return o;
  }
  // Replaces the cache by a fresh one (with other options if given).
  void NewCache(const storage::CacheOptions& o = SmallCache()) {
    ctx_.cache = nullptr;
    cache_ = std::make_unique<storage::Cache>(o, &clock_);
    ctx_.cache = cache_.get();
  }

  // Feeds `input` to `s` in pieces of `piece` bytes (0: all at once), as reads deliver it: the
  // bytes a Consume() call leaves are passed again with the next piece, and Consume() is called
  // again while the session yields (max_commands: its turn limit). Returns everything replied.
  std::string Feed(server::Session& s, std::string_view input, size_t piece = 0,
                   int max_commands = 1 << 30) {
    OutBuf out(&ReleaseItemRef, cache_.get());
    std::string pending;
    if (piece == 0) piece = input.size();
    for (size_t off = 0; off < input.size() && !s.want_close(); off += piece) {
      pending.append(input.substr(off, piece));
      for (int turn = 0; turn < 100000; ++turn) {
        pending.erase(0, s.Consume(pending, &out, max_commands, SIZE_MAX));
        if (!s.yielded()) break;
      }
    }
    return out.ToString();
  }

  FakeClock clock_;
  stats::Registry registry_;
  std::unique_ptr<storage::Cache> cache_;
  SharedContext ctx_;
};

}  // namespace mcd::handler
