// mcd's key rule, shared by every text codec (private to src/protocol): at most kMaxKeyLength
// bytes and no control bytes (memcached checks only the length; compatibility.md C1).
#pragma once

#include <string_view>

#include "mcd/util/limits.h"

namespace mcd::protocol {

inline bool IsControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

inline bool ValidKey(std::string_view k) {
  if (k.size() > kMaxKeyLength) return false;
  for (char c : k) {
    if (IsControl(c)) return false;
  }
  return true;
}

}  // namespace mcd::protocol
