// The executor: the one place where a request meets the cache, for every protocol.
//
// Codecs (the classic text commands in session.cc, the meta commands in meta_commands.cc, the
// binary protocol later) turn their wire format into these protocol-neutral requests and turn
// the outcomes back into bytes. The executor converts client times (exptime semantics) to cache
// time, runs the cache operation, and counts it in `stats` (and `stats detail`) as memcached
// counts it. It writes no byte of any reply.
//
//   codec ---- GetRequest / StoreRequest / DeleteRequest / ArithmeticRequest ----> Executor
//   codec <--- item reference + storage::*Info / storage::*Result ---------------- Executor
//
// Thread-safety: one per session (it holds that session's thread-local counters).
#pragma once

#include <cstdint>
#include <string_view>

#include "mcd/handler/session.h"
#include "mcd/stats/stats.h"
#include "mcd/storage/cache.h"
#include "mcd/storage/item.h"

namespace mcd::handler {

// How a retrieval that changes the TTL is counted: memcached counts `gat` as a get and a touch,
// `mg ... T` on a hit as a touch only (on a miss as a get), and the binary protocol's touch and
// gat as a touch only, hit or miss.
enum class TouchCount : uint8_t { kGetAndTouch, kTouchOnHit, kTouchOnly };

struct GetRequest {
  std::string_view key;
  // The key's hash, computed ahead while its bucket was prefetched (storage::Cache::Prefetch;
  // multigets pipeline their keys this way, and pipelined mg lines theirs).
  const storage::Cache::KeyHint* hint = nullptr;
  bool touch = false;  // gat/gats, mg T: set a new exptime
  int64_t exptime = 0;
  TouchCount touch_count = TouchCount::kGetAndTouch;
  // Meta only (a request with none of these takes the plain lookup):
  bool meta = false;    // report the item's state in *info
  bool bump = true;     // !u
  bool vivify = false;  // N
  int64_t vivify_ttl = 0;
  uint64_t vivify_cas = 0;  // E
  bool key_binary = false;  // b (for a vivified item)
  bool recache = false;     // R
  int64_t recache_ttl = 0;
  bool touch_after_vivify = false;  // T comes after N in the request: T sets a new item's TTL
};

struct StoreRequest {
  storage::StoreMode mode = storage::StoreMode::kSet;
  uint64_t compare_cas = 0;  // cas / ms C (0: none)
  storage::MetaStoreArgs meta;
};

enum class AllocOutcome : uint8_t { kOk, kTooLarge, kNoMemory };

class Executor {
 public:
  Executor(SharedContext* ctx, stats::ThreadStats* ts)
      : ctx_(ctx), cache_(ctx->cache), ts_(ts), detail_(&ctx->stats->Prefixes()) {}

  storage::Cache* cache() const { return cache_; }
  RelTime Now() const { return ctx_->clock->Now(); }
  RelTime ToRel(int64_t exptime) const { return ctx_->clock->ExptimeToRel(exptime); }

  // A retrieval of one key: the item with a reference held (Release() it), or null on a miss.
  // With req.meta, *info reports the item's state before this request (storage::MetaGet).
  storage::Item* Get(const GetRequest& req, storage::MetaGetInfo* info);

  // The first half of a store: an item for the value to be read into. On failure the key's old
  // value is unlinked (no stale value may persist) unless `unlink_on_failure` is false (the
  // binary protocol unlinks only for a set, as memcached does).
  AllocOutcome Allocate(std::string_view key, uint32_t flags, int64_t exptime, uint32_t bytes,
                        storage::Item** out, bool unlink_on_failure = true);
  // `cmd_set` is counted when the value has arrived (classic) or at allocation (meta ms).
  void CountSet(const storage::Item* item);
  // The second half: stores the filled item (taking its reference).
  storage::StoreResult Store(storage::Item* item, const StoreRequest& req,
                             storage::MetaStoreInfo* info);

  // delete / md / binary delete. A cas mismatch counts as a delete miss (md), or with
  // mismatch_is_miss false as nothing (memcached's binary delete).
  storage::MetaDeleteResult Delete(std::string_view key, const storage::MetaDeleteArgs& args,
                                   bool mismatch_is_miss = true);
  // incr/decr / ma.
  storage::DeltaResult Arithmetic(std::string_view key, const storage::MetaDeltaArgs& args,
                                  storage::MetaDeltaInfo* info);
  // touch.
  bool Touch(std::string_view key, int64_t exptime);
  // me: the item without bumping it, and its state.
  storage::Item* Peek(std::string_view key, storage::MetaGetInfo* info);

  void Release(storage::Item* item) { cache_->Release(item); }

 private:
  static bool ClassOk(int cls) { return cls > 0 && cls < stats::kMaxClasses; }

  SharedContext* ctx_;
  storage::Cache* cache_;
  stats::ThreadStats* ts_;
  stats::PrefixStats* detail_;
};

}  // namespace mcd::handler
