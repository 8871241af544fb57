#include "mcd/stats/prefix_stats.h"

#include <algorithm>

namespace mcd::stats {

bool PrefixStats::PrefixOf(std::string_view key, std::string_view* prefix) const {
  const size_t at = key.find(delimiter_);
  if (at == std::string_view::npos) return false;
  *prefix = key.substr(0, at);
  return true;
}

void PrefixStats::Record(std::string_view key, Event e) {
  std::string_view prefix;
  if (!PrefixOf(key, &prefix)) return;
  const size_t h = Hash{}(prefix);
  Shard& shard = shards_[h % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.map.find(prefix);
  if (it == shard.map.end()) it = shard.map.emplace(std::string(prefix), PrefixCounts{}).first;
  PrefixCounts& c = it->second;
  switch (e) {
    case kGet:
      ++c.gets;
      break;
    case kHit:
      ++c.gets;
      ++c.hits;
      break;
    case kSet:
      ++c.sets;
      break;
    case kDelete:
      ++c.deletes;
      break;
  }
}

std::vector<std::pair<std::string, PrefixCounts>> PrefixStats::Snapshot() const {
  std::vector<std::pair<std::string, PrefixCounts>> all;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    all.insert(all.end(), shard.map.begin(), shard.map.end());
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return all;
}

size_t PrefixStats::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.map.size();
  }
  return n;
}

void PrefixStats::Clear() {
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    shard.map.clear();
  }
}

}  // namespace mcd::stats
