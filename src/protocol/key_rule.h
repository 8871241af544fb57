// mcd's key rule, shared by every text codec (private to src/protocol): at most kMaxKeyLength
// bytes and no control bytes (memcached checks only the length; compatibility.md C1).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "mcd/util/limits.h"

namespace mcd::protocol {

inline bool IsControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// Eight bytes at a time: a byte below 0x20 or equal to 0x7f sets its high bit in the result
// (bytes of 0x80 and above never do; a borrow can only flag a byte above a flagged one).
inline uint64_t ControlBytes(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  const uint64_t below_space = (w - 0x20 * kOnes) & ~w & kHigh;
  const uint64_t x = w ^ (0x7f * kOnes);
  const uint64_t del = (x - kOnes) & ~x & kHigh;
  return below_space | del;
}

inline bool ValidKey(std::string_view k) {
  if (k.size() > kMaxKeyLength) return false;
  const char* p = k.data();
  size_t n = k.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (ControlBytes(w) != 0) return false;
  }
  for (; n > 0; ++p, --n) {
    if (IsControl(*p)) return false;
  }
  return true;
}

}  // namespace mcd::protocol
