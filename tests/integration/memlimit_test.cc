// `cache_memlimit` over real sockets: the limit grows (more items without an eviction, the stats
// follow) and shrinks (memory is given back as items are deleted and automove sends the emptied
// pages to the pool), as in memcached 1.6's t/dyn-maxbytes.t but with the figures checked.
// Runs against memcached too (MCD_TEST_BINARY=/usr/bin/memcached).
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server_process.h"

namespace mcd::testing {
namespace {

constexpr uint64_t kMB = 1 << 20;
constexpr size_t kValueSize = 60000;  // a class of its own, 15 chunks per 1 MB page

class MemlimitTest : public ServerTest {
 protected:
  // The shortest automove window (3 ticks, as t/dyn-maxbytes.t), so emptied pages go to the pool
  // within seconds.
  std::vector<std::string> ServerArgs() const override {
    return {"-m", "8", "-v", "-o", "slab_automove_window=3"};
  }
  static std::string Key(int i) { return "ml" + std::to_string(i); }
  static std::string Value(int i) {
    std::string v = Key(i) + ":";
    while (v.size() < kValueSize) v += static_cast<char>('a' + (v.size() * 7 + i) % 26);
    return v;
  }
  ::testing::AssertionResult Set(int i) {
    const std::string v = Value(i);
    return c_->Expect("set " + Key(i) + " 0 0 " + std::to_string(v.size()) + "\r\n" + v + "\r\n",
                      "STORED\r\n");
  }
  uint64_t Stat(const std::string& name, std::string_view group = "") {
    std::map<std::string, std::string> s = c_->Stats(group);
    auto it = s.find(name);
    return it == s.end() ? UINT64_MAX : std::stoull(it->second);
  }
  uint64_t Malloced() { return Stat("total_malloced", "slabs"); }
};

TEST_F(MemlimitTest, GrowThenShrinkThenGrowAgain) {
  EXPECT_TRUE(c_->Expect("cache_memlimit 7\r\n",
                         "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n"));
  // Grow: 24 MB hold 300 items (about 20 pages) without evicting one.
  ASSERT_TRUE(c_->Expect("cache_memlimit 24\r\n", "OK\r\n"));
  EXPECT_EQ(Stat("limit_maxbytes"), 24 * kMB);
  EXPECT_EQ(Stat("maxbytes", "settings"), 24 * kMB);
  int n = 0;
  for (; n < 300; ++n) ASSERT_TRUE(Set(n)) << n;
  EXPECT_EQ(Stat("evictions"), 0u);
  const uint64_t grown = Malloced();
  EXPECT_GT(grown, 16 * kMB);
  EXPECT_LE(grown, 24 * kMB);

  // Shrink: nothing is evicted for it and memory stays while the items live...
  ASSERT_TRUE(c_->Expect("cache_memlimit 8\r\n", "OK\r\n"));
  EXPECT_EQ(Stat("limit_maxbytes"), 8 * kMB);
  EXPECT_EQ(Stat("maxbytes", "settings"), 8 * kMB);
  EXPECT_EQ(Stat("curr_items"), 300u);
  EXPECT_EQ(Malloced(), grown);
  // ...and goes back to the OS once they are deleted.
  for (int i = 0; i < n; ++i) ASSERT_TRUE(c_->Expect("delete " + Key(i) + "\r\n", "DELETED\r\n"));
  uint64_t last = Malloced();
  ASSERT_TRUE(PollUntil(
      [&] {
        const uint64_t now = Malloced();
        EXPECT_LE(now, last) << "memory grew while over the limit";
        last = now;
        return now <= 8 * kMB;
      },
      Duration(20000), Duration(200)))
      << "total_malloced still " << last;

  // Grow again: the freed pages and new ones hold 150 items, still without an eviction.
  ASSERT_TRUE(c_->Expect("cache_memlimit 16\r\n", "OK\r\n"));
  for (int i = 1000; i < 1150; ++i) ASSERT_TRUE(Set(i)) << i;
  EXPECT_EQ(Stat("evictions"), 0u);
  EXPECT_GT(Malloced(), 8 * kMB);
  EXPECT_LE(Malloced(), 16 * kMB);
  for (int i = 1000; i < 1150; ++i) {
    const std::string v = Value(i);
    ASSERT_TRUE(c_->Expect(
        "get " + Key(i) + "\r\n",
        "VALUE " + Key(i) + " 0 " + std::to_string(v.size()) + "\r\n" + v + "\r\nEND\r\n"))
        << i;
  }
  // -v logs every accepted change, as memcached does.
  for (const char* line :
       {"maxbytes adjusted to 24m", "maxbytes adjusted to 8m", "maxbytes adjusted to 16m"}) {
    EXPECT_NE(server_.Output().find(line), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace mcd::testing
