// Helpers shared by the fuzz targets: an invariant check that aborts with a message (so libFuzzer
// and the corpus replay runner both report it as a crash), and a reader that turns the fuzzer's
// bytes into bounded choices.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace mcd::fuzz {

[[noreturn]] inline void CheckFailed(const char* file, int line, const char* cond,
                                     const std::string& msg) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s\n%s\n", file, line, cond, msg.c_str());
  std::fflush(stderr);
  std::abort();
}

// Printable form of arbitrary bytes for failure messages.
inline std::string Escape(std::string_view s, size_t max = 400) {
  std::string r;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      r += "\\\\";
    } else if (c == '\r') {
      r += "\\r";
    } else if (c == '\n') {
      r += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      r += buf;
    } else {
      r.push_back(static_cast<char>(c));
    }
  }
  if (s.size() > max) r += "...(" + std::to_string(s.size()) + " bytes)";
  return r;
}

// Consumes the fuzz input from the front; past the end every read returns zeros, so a decoder
// never needs to check for the end except to stop its loop.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  size_t remaining() const { return empty() ? 0 : size_ - pos_; }
  uint8_t Byte() { return empty() ? 0 : data_[pos_++]; }
  bool Bool() { return (Byte() & 1) != 0; }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | Byte();
    return v;
  }
  uint64_t U64() { return (uint64_t{U32()} << 32) | U32(); }
  // A value in [0, n) (n > 0).
  size_t Below(size_t n) { return n <= 256 ? Byte() % n : U32() % n; }
  // Up to n raw bytes (fewer at the end of the input).
  std::string Bytes(size_t n) {
    n = n < remaining() ? n : remaining();
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  std::string_view Rest() {
    std::string_view s(reinterpret_cast<const char*>(data_ + pos_), remaining());
    pos_ = size_;
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace mcd::fuzz

#define FUZZ_CHECK(cond, msg)                                                \
  do {                                                                       \
    if (!(cond)) ::mcd::fuzz::CheckFailed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)
