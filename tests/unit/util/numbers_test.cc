#include "mcd/util/numbers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace mcd {
namespace {

TEST(NumbersTest, Uint64Edges) {
  uint64_t v = 7;
  EXPECT_FALSE(ParseUint64("", &v));
  EXPECT_FALSE(ParseUint64("+", &v));
  EXPECT_FALSE(ParseUint64("-", &v));
  EXPECT_FALSE(ParseUint64(" ", &v));
  EXPECT_FALSE(ParseUint64("abc", &v));
  EXPECT_FALSE(ParseUint64("1a", &v));
  EXPECT_FALSE(ParseUint64("0x10", &v));
  ASSERT_TRUE(ParseUint64("0", &v));
  EXPECT_EQ(v, 0u);
  ASSERT_TRUE(ParseUint64("+42", &v));
  EXPECT_EQ(v, 42u);
  ASSERT_TRUE(ParseUint64("007", &v));
  EXPECT_EQ(v, 7u);
  ASSERT_TRUE(ParseUint64("18446744073709551615", &v));  // 2^64 - 1
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_FALSE(ParseUint64("18446744073709551616", &v));  // 2^64
  EXPECT_FALSE(ParseUint64("99999999999999999999999", &v));
}

TEST(NumbersTest, Uint64NegativeAsStrtoullWithMemcachedCheck) {
  uint64_t v;
  ASSERT_TRUE(ParseUint64("-0", &v));
  EXPECT_EQ(v, 0u);
  EXPECT_FALSE(ParseUint64("-1", &v));
  EXPECT_FALSE(ParseUint64("-9223372036854775808", &v));  // wraps to 2^63: negative as int64
  // strtoull negates in unsigned arithmetic; memcached rejects only results >= 2^63.
  ASSERT_TRUE(ParseUint64("-9223372036854775809", &v));
  EXPECT_EQ(v, 9223372036854775807u);
  ASSERT_TRUE(ParseUint64("-18446744073709551615", &v));
  EXPECT_EQ(v, 1u);
  EXPECT_FALSE(ParseUint64("-18446744073709551616", &v));
}

TEST(NumbersTest, WhitespaceAsStrtoul) {
  // memcached 1.6.18 accepts "set a \t5 0 1" (flags 5) and "set a 5\tz 0 1" (flags 5).
  uint64_t v;
  ASSERT_TRUE(ParseUint64("\t5", &v));
  EXPECT_EQ(v, 5u);
  ASSERT_TRUE(ParseUint64("5\tz", &v));
  EXPECT_EQ(v, 5u);
  ASSERT_TRUE(ParseUint64("1 2", &v));  // as strtoul (protocol tokens never hold a ' ')
  EXPECT_EQ(v, 1u);
  ASSERT_TRUE(ParseUint64("1\r", &v));
  EXPECT_EQ(v, 1u);
  ASSERT_TRUE(ParseUint64("\v\f\n -3\t", &v) == false);  // negative
  EXPECT_FALSE(ParseUint64("\t", &v));
  EXPECT_FALSE(ParseUint64("\t+", &v));
  EXPECT_FALSE(ParseUint64("+\t5", &v));
  EXPECT_FALSE(ParseUint64("5z\t", &v));
  EXPECT_FALSE(ParseUint64(std::string("5\0", 2), &v));  // NUL is not whitespace
  int64_t s;
  ASSERT_TRUE(ParseInt64(" -12\r", &s));
  EXPECT_EQ(s, -12);
}

TEST(NumbersTest, Flags32Truncates) {
  uint32_t f = 9;
  ASSERT_TRUE(ParseFlags32("4294967295", &f));
  EXPECT_EQ(f, 4294967295u);
  ASSERT_TRUE(ParseFlags32("4294967296", &f));  // 2^32: memcached 1.6.18 stores 0
  EXPECT_EQ(f, 0u);
  ASSERT_TRUE(ParseFlags32("4294967301", &f));
  EXPECT_EQ(f, 5u);
  EXPECT_FALSE(ParseFlags32("-1", &f));
  EXPECT_FALSE(ParseFlags32("", &f));
  EXPECT_FALSE(ParseFlags32("18446744073709551616", &f));
}

TEST(NumbersTest, Int64Edges) {
  int64_t v;
  EXPECT_FALSE(ParseInt64("", &v));
  EXPECT_FALSE(ParseInt64("-", &v));
  EXPECT_FALSE(ParseInt64("--1", &v));
  EXPECT_FALSE(ParseInt64("+-1", &v));
  EXPECT_FALSE(ParseInt64("1.5", &v));
  ASSERT_TRUE(ParseInt64("-0", &v));
  EXPECT_EQ(v, 0);
  ASSERT_TRUE(ParseInt64("+17", &v));
  EXPECT_EQ(v, 17);
  ASSERT_TRUE(ParseInt64("9223372036854775807", &v));  // 2^63 - 1
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_FALSE(ParseInt64("9223372036854775808", &v));  // 2^63
  ASSERT_TRUE(ParseInt64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_FALSE(ParseInt64("-9223372036854775809", &v));
  EXPECT_FALSE(ParseInt64("18446744073709551616", &v));
}

TEST(NumbersTest, Int32Edges) {
  int32_t v;
  ASSERT_TRUE(ParseInt32("2147483647", &v));  // 2^31 - 1
  EXPECT_EQ(v, INT32_MAX);
  EXPECT_FALSE(ParseInt32("2147483648", &v));  // 2^31
  ASSERT_TRUE(ParseInt32("-2147483648", &v));
  EXPECT_EQ(v, INT32_MIN);
  EXPECT_FALSE(ParseInt32("-2147483649", &v));
  EXPECT_FALSE(ParseInt32("", &v));
  EXPECT_FALSE(ParseInt32("x", &v));
}

TEST(NumbersTest, StoredCounter) {
  uint64_t v = 0;
  ASSERT_TRUE(ParseStoredCounter("12", &v));
  EXPECT_EQ(v, 12u);
  ASSERT_TRUE(ParseStoredCounter(" 12", &v));
  EXPECT_EQ(v, 12u);
  ASSERT_TRUE(ParseStoredCounter("99 ", &v));
  EXPECT_EQ(v, 99u);
  ASSERT_TRUE(ParseStoredCounter("99\r\n", &v));
  EXPECT_EQ(v, 99u);
  ASSERT_TRUE(ParseStoredCounter("7    \r\n", &v));  // padded by an in-place decrement
  EXPECT_EQ(v, 7u);
  EXPECT_FALSE(ParseStoredCounter("12a", &v));
  EXPECT_FALSE(ParseStoredCounter("-5", &v));
  EXPECT_FALSE(ParseStoredCounter("", &v));
  EXPECT_FALSE(ParseStoredCounter("\r\n", &v));
  EXPECT_FALSE(ParseStoredCounter("abc", &v));
  ASSERT_TRUE(ParseStoredCounter("18446744073709551615", &v));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_FALSE(ParseStoredCounter("18446744073709551616", &v));
}

TEST(NumbersTest, FormatUint64) {
  char buf[20];
  EXPECT_EQ(std::string(buf, FormatUint64(0, buf)), "0");
  EXPECT_EQ(std::string(buf, FormatUint64(10, buf)), "10");
  EXPECT_EQ(std::string(buf, FormatUint64(UINT64_MAX, buf)), "18446744073709551615");
  for (uint64_t x : {1ull, 9ull, 99ull, 100ull, 4294967296ull, 1234567890123ull}) {
    uint64_t back;
    ASSERT_TRUE(ParseUint64(std::string_view(buf, FormatUint64(x, buf)), &back));
    EXPECT_EQ(back, x);
  }
}

}  // namespace
}  // namespace mcd
