// Per-prefix counters for `stats detail` (memcached's -D): for every key prefix seen, how many
// keys were fetched, how many of those were hits, how many were stored and how many deleted.
//
// The prefix of a key is everything before the first delimiter (-D, default ':'): "user:17" and
// "user:18" both count under "user", "a::b" under "a", ":x" under the empty prefix. A key without
// the delimiter is not counted at all (memcached's stats_prefix.c rules).
//
// Cost. Recording is off by default (-D or `stats detail on` turns it on). While off, a Record*
// call is one relaxed load of a flag that only `stats detail on|off` writes (kept on a cache line
// of its own): no lock, no allocation, no shared write. While on, a record locks one of kShards
// mutexes (chosen by the prefix's hash) and looks the prefix up in that shard's table; the first
// record of a new prefix allocates its entry. As in memcached the number of prefixes is not
// bounded: every distinct prefix seen while on is kept until `stats reset` (Clear()).
//
// Thread-safety: every member is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mcd::stats {

struct PrefixCounts {
  uint64_t gets = 0;     // keys looked up by get/gets/gat/gats
  uint64_t hits = 0;     // of those, found
  uint64_t sets = 0;     // set/add/replace/append/prepend/cas command lines, stored or not
  uint64_t deletes = 0;  // delete commands, hit or miss

  bool operator==(const PrefixCounts&) const = default;
};

class PrefixStats {
 public:
  static constexpr int kShards = 16;

  explicit PrefixStats(char delimiter = ':', bool enabled = false)
      : enabled_(enabled), delimiter_(delimiter) {}
  PrefixStats(const PrefixStats&) = delete;
  PrefixStats& operator=(const PrefixStats&) = delete;

  // `stats detail on|off`. Counters already recorded are kept either way.
  void SetEnabled(bool on) { enabled_.store(on, std::memory_order_relaxed); }
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  char delimiter() const { return delimiter_; }

  // Record one event for key's prefix; nothing when off or when key has no delimiter.
  void RecordGet(std::string_view key, bool hit) {
    if (enabled()) Record(key, hit ? kHit : kGet);
  }
  void RecordSet(std::string_view key) {
    if (enabled()) Record(key, kSet);
  }
  void RecordDelete(std::string_view key) {
    if (enabled()) Record(key, kDelete);
  }

  // Every prefix with its counts, sorted by prefix (a consistent view of each shard, not of
  // all shards at one instant).
  std::vector<std::pair<std::string, PrefixCounts>> Snapshot() const;
  // Number of prefixes held.
  size_t size() const;
  // Forgets every prefix (`stats reset`). Does not change enabled().
  void Clear();

  // Sets *prefix to key's prefix; false (and no prefix) when key has no delimiter.
  bool PrefixOf(std::string_view key, std::string_view* prefix) const;

 private:
  enum Event { kGet, kHit, kSet, kDelete };

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, PrefixCounts, Hash, std::equal_to<>> map;
  };

  void Record(std::string_view key, Event e);

  alignas(64) std::atomic<bool> enabled_;
  const char delimiter_;
  Shard shards_[kShards];
};

}  // namespace mcd::stats
