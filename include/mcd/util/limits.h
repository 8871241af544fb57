// Limits every module shares, memcached's values, defined once so the parsers, the cache and the
// counters cannot disagree.
#pragma once

#include <cstddef>

namespace mcd {

// Longest key, in bytes, in every protocol and in the cache.
inline constexpr size_t kMaxKeyLength = 250;
// Slab class ids run 1..kMaxSlabClassId (memcached: MAX_NUMBER_OF_SLAB_CLASSES - 1).
inline constexpr int kMaxSlabClassId = 63;

}  // namespace mcd
