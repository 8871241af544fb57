#include "mcd/util/base64.h"

#include <array>
#include <cstdint>

namespace mcd {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kSkip = 0xff;

// Sextet value of each byte; '=' counts as a zero sextet, kSkip marks bytes that are ignored.
constexpr std::array<uint8_t, 256> MakeDecodeTable() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kSkip;
  for (size_t i = 0; i < kAlphabet.size(); ++i) t[static_cast<uint8_t>(kAlphabet[i])] = i;
  t['='] = 0;
  return t;
}
constexpr std::array<uint8_t, 256> kDecode = MakeDecodeTable();

}  // namespace

size_t Base64Encode(std::string_view in, char* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  size_t n = in.size();
  char* o = out;
  for (; n >= 3; n -= 3, p += 3) {
    const uint32_t v = (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
    *o++ = kAlphabet[(v >> 18) & 63];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = kAlphabet[(v >> 6) & 63];
    *o++ = kAlphabet[v & 63];
  }
  if (n > 0) {
    const uint32_t v = (uint32_t{p[0]} << 16) | (n == 2 ? uint32_t{p[1]} << 8 : 0);
    *o++ = kAlphabet[(v >> 18) & 63];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = n == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  return static_cast<size_t>(o - out);
}

size_t Base64Decode(std::string_view in, char* out, size_t cap) {
  size_t count = 0;
  for (char c : in) {
    if (kDecode[static_cast<uint8_t>(c)] != kSkip) ++count;
  }
  if (count == 0 || count % 4 != 0 || count / 4 * 3 > cap) return 0;
  size_t len = 0;
  uint32_t group = 0;
  int filled = 0;
  int pads = 0;
  for (char c : in) {
    const uint8_t v = kDecode[static_cast<uint8_t>(c)];
    if (v == kSkip) continue;
    if (c == '=') ++pads;
    group = (group << 6) | v;
    if (++filled < 4) continue;
    out[len++] = static_cast<char>(group >> 16);
    out[len++] = static_cast<char>(group >> 8);
    out[len++] = static_cast<char>(group);
    if (pads > 2) return 0;
    if (pads > 0) return len - static_cast<size_t>(pads);
    group = 0;
    filled = 0;
  }
  return len;
}

}  // namespace mcd
