#include "mcd/util/numbers.h"

#include <limits>

namespace mcd {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Parses a token as strtoull/strtoll and memcached's safe_strto* checks see it: leading
// whitespace skipped, an optional sign, at least one digit, then the end of the token or a
// whitespace byte (whatever follows that is ignored). Sets *neg for a leading '-'. Overflow of
// the magnitude fails (ERANGE).
bool ParseMagnitude(std::string_view s, uint64_t* mag, bool* neg) {
  size_t i = 0;
  while (i < s.size() && IsSpace(s[i])) ++i;
  *neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    *neg = s[i] == '-';
    ++i;
  }
  const size_t digits = i;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    unsigned d = static_cast<unsigned char>(s[i]) - '0';
    if (d > 9) break;
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  if (i == digits) return false;
  if (i < s.size() && !IsSpace(s[i])) return false;
  *mag = v;
  return true;
}

}  // namespace

bool ParseUint64(std::string_view s, uint64_t* out) {
  uint64_t mag;
  bool neg;
  if (!ParseMagnitude(s, &mag, &neg)) return false;
  uint64_t v = neg ? (~mag + 1) : mag;  // strtoull negates in unsigned arithmetic
  if (neg && static_cast<int64_t>(v) < 0) return false;
  *out = v;
  return true;
}

bool ParseFlags32(std::string_view s, uint32_t* out) {
  uint64_t v;
  if (!ParseUint64(s, &v)) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

bool ParseInt64(std::string_view s, int64_t* out) {
  uint64_t mag;
  bool neg;
  if (!ParseMagnitude(s, &mag, &neg)) return false;
  if (neg) {
    if (mag > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1) return false;
    *out = static_cast<int64_t>(~mag + 1);
  } else {
    if (mag > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(mag);
  }
  return true;
}

bool ParseInt32(std::string_view s, int32_t* out) {
  int64_t v;
  if (!ParseInt64(s, &v)) return false;
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    return false;
  }
  *out = static_cast<int32_t>(v);
  return true;
}

bool ParseStoredCounter(std::string_view data, uint64_t* out) {
  size_t i = 0;
  while (i < data.size() && IsSpace(data[i])) ++i;
  size_t start = i;
  if (i < data.size() && (data[i] == '+' || data[i] == '-')) ++i;
  while (i < data.size() && data[i] >= '0' && data[i] <= '9') ++i;
  if (i < data.size() && !IsSpace(data[i])) return false;
  return ParseUint64(data.substr(start, i - start), out);
}

size_t FormatUint64(uint64_t v, char* buf) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
  return n;
}

}  // namespace mcd
