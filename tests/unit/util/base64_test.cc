#include "mcd/util/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace mcd {
namespace {

std::string Enc(std::string_view in) {
  std::string out(Base64EncodedLength(in.size()), '\0');
  EXPECT_EQ(Base64Encode(in, out.data()), out.size());
  return out;
}

// Decodes into a buffer of in.size() bytes, as the meta parser does; "<error>" on failure.
std::string Dec(std::string_view in) {
  std::string out(in.size(), '\0');
  const size_t n = Base64Decode(in, out.data(), out.size());
  if (n == 0) return "<error>";
  out.resize(n);
  return out;
}

TEST(Base64Test, EncodeRfc4648Vectors) {
  EXPECT_EQ(Enc(""), "");
  EXPECT_EQ(Enc("f"), "Zg==");
  EXPECT_EQ(Enc("fo"), "Zm8=");
  EXPECT_EQ(Enc("foo"), "Zm9v");
  EXPECT_EQ(Enc("foob"), "Zm9vYg==");
  EXPECT_EQ(Enc("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Enc("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Enc(std::string("\0\xff\xfe", 3)), "AP/+");
}

TEST(Base64Test, DecodeRfc4648Vectors) {
  EXPECT_EQ(Dec("Zg=="), "f");
  EXPECT_EQ(Dec("Zm8="), "fo");
  EXPECT_EQ(Dec("Zm9v"), "foo");
  EXPECT_EQ(Dec("Zm9vYg=="), "foob");
  EXPECT_EQ(Dec("Zm9vYmE="), "fooba");
  EXPECT_EQ(Dec("Zm9vYmFy"), "foobar");
  EXPECT_EQ(Dec("AP/+"), std::string("\0\xff\xfe", 3));
}

// memcached 1.6.45's decoder, as observed through `mg <key> b k` (see meta_parser_test).
TEST(Base64Test, DecodeAsMemcached) {
  EXPECT_EQ(Dec(""), "<error>");
  EXPECT_EQ(Dec("Zm!9v"), "foo");  // bytes outside the alphabet are skipped
  EXPECT_EQ(Dec("Z m9v"), "foo");
  EXPECT_EQ(Dec("!!!!"), "<error>");  // nothing left
  EXPECT_EQ(Dec("Zm9"), "<error>");   // not a multiple of four
  EXPECT_EQ(Dec("Zm9v="), "<error>");
  EXPECT_EQ(Dec("Zm9="), "fo");
  EXPECT_EQ(Dec("Z=g="), "d");           // two '=' anywhere in the group drop two bytes
  EXPECT_EQ(Dec("Zg==Zm9v"), "f");       // decoding stops after the first padded group
  EXPECT_EQ(Dec("Zg==Zm9"), "<error>");  // ... but everything counts towards the length rule
  EXPECT_EQ(Dec("===="), "<error>");
  EXPECT_EQ(Dec("Z==="), "<error>");
  EXPECT_EQ(Dec("Zm9vZ==="), "<error>");
  EXPECT_EQ(Dec("Zh=="), "f");  // non-zero bits in the padding are ignored
}

TEST(Base64Test, DecodeRespectsCapacity) {
  char out[3];
  EXPECT_EQ(Base64Decode("Zm9v", out, 3), 3u);
  EXPECT_EQ(Base64Decode("Zm9v", out, 2), 0u);
  EXPECT_EQ(Base64Decode("Zg==", out, 2), 0u);  // the full group must fit, as memcached checks
}

TEST(Base64Test, RoundTripEveryLength) {
  std::string s;
  for (int n = 0; n < 300; ++n) {
    if (n > 0) {
      EXPECT_EQ(Dec(Enc(s)), s) << n;
    }
    s.push_back(static_cast<char>(n * 37 + 11));
  }
}

}  // namespace
}  // namespace mcd
