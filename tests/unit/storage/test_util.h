// Helpers shared by the storage tests.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "mcd/storage/cache.h"
#include "mcd/storage/item.h"

namespace mcd::storage::testing {

// "kNNNNN": six bytes, so that test items with equal values share one slab class.
inline std::string NumberedKey(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "k%05d", i);
  return buf;
}

// A small cache for eviction and mover tests: `pages` pages of 64 KB, no background threads.
inline CacheOptions SmallPageOptions(uint64_t pages) {
  CacheOptions o;
  o.page_size = 64 << 10;
  o.memory_limit = pages * (64 << 10);
  o.hashpower = 12;
  o.start_maintainer = false;
  return o;
}

// Reads the whole value region (value + "\r\n") of an item, across chunks.
inline std::string ReadRegion(const Item* it) {
  std::string out;
  uint32_t total = ItemValueSize(it) + 2;
  while (out.size() < total) {
    std::string_view piece = ItemDataAt(it, static_cast<uint32_t>(out.size()));
    out.append(piece);
  }
  return out;
}

inline void Fill(Item* it, std::string_view value) {
  std::string region(value);
  region += "\r\n";
  uint32_t off = 0;
  while (off < region.size()) {
    std::span<char> piece = ItemMutableDataAt(it, off);
    size_t n = std::min(piece.size(), region.size() - off);
    std::memcpy(piece.data(), region.data() + off, n);
    off += static_cast<uint32_t>(n);
  }
}

struct StoreOutcome {
  AllocResult alloc = AllocResult::kOk;
  StoreResult store = StoreResult::kNotStored;
  uint64_t cas = 0;
};

inline StoreOutcome Put(Cache& cache, std::string_view key, std::string_view value,
                        StoreMode mode = StoreMode::kSet, uint32_t flags = 0, RelTime exptime = 0,
                        uint64_t cas_unique = 0) {
  StoreOutcome out;
  Item* it = nullptr;
  out.alloc = cache.Allocate(key, flags, exptime, static_cast<uint32_t>(value.size()), &it);
  if (out.alloc != AllocResult::kOk) return out;
  Fill(it, value);
  out.store = cache.Store(it, mode, cas_unique, &out.cas);
  return out;
}

inline bool Stored(Cache& cache, std::string_view key, std::string_view value,
                   StoreMode mode = StoreMode::kSet, uint32_t flags = 0, RelTime exptime = 0) {
  StoreOutcome o = Put(cache, key, value, mode, flags, exptime);
  return o.alloc == AllocResult::kOk && o.store == StoreResult::kStored;
}

// Value without the trailing "\r\n", or nullopt on a miss.
inline std::optional<std::string> GetValue(Cache& cache, std::string_view key,
                                           LookupResult* why = nullptr) {
  LookupResult r;
  Item* it = cache.Get(key, &r);
  if (why != nullptr) *why = r;
  if (it == nullptr) return std::nullopt;
  std::string region = ReadRegion(it);
  cache.Release(it);
  return region.substr(0, region.size() - 2);
}

inline uint64_t GetCas(Cache& cache, std::string_view key) {
  LookupResult r;
  Item* it = cache.Get(key, &r);
  if (it == nullptr) return 0;
  uint64_t cas = ItemCas(it);
  cache.Release(it);
  return cas;
}

}  // namespace mcd::storage::testing
