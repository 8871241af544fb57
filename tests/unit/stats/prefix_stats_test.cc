// PrefixStats: the counters behind `stats detail` (memcached's -D).
#include "mcd/stats/prefix_stats.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mcd::stats {
namespace {

using Snapshot = std::vector<std::pair<std::string, PrefixCounts>>;

PrefixCounts Counts(uint64_t gets, uint64_t hits, uint64_t sets, uint64_t deletes) {
  PrefixCounts c;
  c.gets = gets;
  c.hits = hits;
  c.sets = sets;
  c.deletes = deletes;
  return c;
}

TEST(PrefixStatsTest, OffByDefaultRecordsNothing) {
  PrefixStats p;
  EXPECT_FALSE(p.enabled());
  p.RecordGet("a:1", true);
  p.RecordSet("a:1");
  p.RecordDelete("a:1");
  EXPECT_EQ(p.size(), 0u);
  EXPECT_TRUE(p.Snapshot().empty());
}

TEST(PrefixStatsTest, PrefixIsEverythingBeforeTheFirstDelimiter) {
  PrefixStats p;
  std::string_view prefix;
  ASSERT_TRUE(p.PrefixOf("user:17", &prefix));
  EXPECT_EQ(prefix, "user");
  ASSERT_TRUE(p.PrefixOf("a::b", &prefix));
  EXPECT_EQ(prefix, "a");
  ASSERT_TRUE(p.PrefixOf(":x", &prefix));
  EXPECT_EQ(prefix, "");
  ASSERT_TRUE(p.PrefixOf("x:", &prefix));
  EXPECT_EQ(prefix, "x");
  EXPECT_FALSE(p.PrefixOf("plain", &prefix));
  EXPECT_FALSE(p.PrefixOf("", &prefix));
}

TEST(PrefixStatsTest, CountsPerPrefixSortedByPrefix) {
  PrefixStats p(':', true);
  p.RecordSet("foo:123");
  p.RecordGet("foo:123", true);
  p.RecordGet("foo:124", false);
  p.RecordDelete("foo:125");
  p.RecordGet("bar:1", false);
  p.RecordGet(":empty", true);
  p.RecordGet("nodelimiter", true);
  p.RecordSet("nodelimiter");
  EXPECT_EQ(p.size(), 3u);
  EXPECT_EQ(p.Snapshot(), (Snapshot{{"", Counts(1, 1, 0, 0)},
                                    {"bar", Counts(1, 0, 0, 0)},
                                    {"foo", Counts(2, 1, 1, 1)}}));
}

TEST(PrefixStatsTest, OtherDelimiter) {
  PrefixStats p('/', true);
  EXPECT_EQ(p.delimiter(), '/');
  p.RecordSet("a/b:c");
  p.RecordSet("a:b");
  EXPECT_EQ(p.Snapshot(), (Snapshot{{"a", Counts(0, 0, 1, 0)}}));
}

TEST(PrefixStatsTest, TurningOffKeepsCountsAndStopsRecording) {
  PrefixStats p;
  p.SetEnabled(true);
  p.RecordGet("foo:1", true);
  p.SetEnabled(false);
  p.RecordGet("foo:1", true);
  p.RecordGet("bar:1", true);
  EXPECT_EQ(p.Snapshot(), (Snapshot{{"foo", Counts(1, 1, 0, 0)}}));
}

TEST(PrefixStatsTest, ClearForgetsPrefixesAndKeepsTheSwitch) {
  PrefixStats p(':', true);
  p.RecordSet("foo:1");
  p.Clear();
  EXPECT_EQ(p.size(), 0u);
  EXPECT_TRUE(p.enabled());
  p.RecordGet("foo:1", true);
  EXPECT_EQ(p.Snapshot(), (Snapshot{{"foo", Counts(1, 1, 0, 0)}}));
}

TEST(PrefixStatsTest, ConcurrentRecordsAllCount) {
  PrefixStats p(':', true);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&p, t] {
      for (int i = 0; i < kPerThread; ++i) {
        p.RecordGet("p" + std::to_string(i % 50) + ":k", (i + t) % 2 == 0);
        p.RecordSet("shared:k");
      }
    });
  }
  for (auto& th : threads) th.join();
  uint64_t gets = 0;
  uint64_t hits = 0;
  uint64_t shared_sets = 0;
  for (const auto& [prefix, c] : p.Snapshot()) {
    gets += c.gets;
    hits += c.hits;
    if (prefix == "shared") shared_sets = c.sets;
  }
  EXPECT_EQ(p.size(), 51u);
  EXPECT_EQ(gets, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(hits, uint64_t{kThreads} * kPerThread / 2);
  EXPECT_EQ(shared_sets, uint64_t{kThreads} * kPerThread);
}

}  // namespace
}  // namespace mcd::stats
