// The key rule (src/protocol/key_rule.h): its eight-bytes-at-a-time check against the byte rule,
// for every byte value at every position of keys of every length up to 24.
#include "key_rule.h"

#include <gtest/gtest.h>

#include <string>

namespace mcd::protocol {
namespace {

bool ByteRule(const std::string& k) {
  if (k.size() > kMaxKeyLength) return false;
  for (char c : k) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

TEST(KeyRuleTest, EveryByteAtEveryPosition) {
  for (size_t len = 1; len <= 24; ++len) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (int b = 0; b < 256; ++b) {
        // Neighbours that sit next to the rule's edges (0x20, 0x7e, 0x80, 0xff) around the byte.
        for (char fill : {'a', ' ', '\x7e', '\x80', '\xff'}) {
          std::string k(len, fill);
          k[pos] = static_cast<char>(b);
          ASSERT_EQ(ValidKey(k), ByteRule(k)) << "len " << len << " pos " << pos << " byte " << b;
        }
      }
    }
  }
}

TEST(KeyRuleTest, Length) {
  EXPECT_TRUE(ValidKey(std::string(kMaxKeyLength, 'k')));
  EXPECT_FALSE(ValidKey(std::string(kMaxKeyLength + 1, 'k')));
  EXPECT_TRUE(ValidKey(""));
}

}  // namespace
}  // namespace mcd::protocol
