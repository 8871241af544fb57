// Registry: per-thread counters summed on demand; `stats reset` as a baseline.
#include <gtest/gtest.h>

#include "mcd/stats/stats.h"

namespace mcd::stats {
namespace {

TEST(RegistryTest, TotalsSumThreadsAndResetSubtractsABaseline) {
  Registry r(2);
  r.Thread(0)->cmd_get.Add(3);
  r.Thread(1)->cmd_get.Add(4);
  r.Thread(1)->per_class[5].get_hits.Add();
  EXPECT_EQ(r.Totals().cmd_get, 7u);
  EXPECT_EQ(r.ClassTotal(5).get_hits, 1u);
  r.Reset();
  EXPECT_EQ(r.Totals().cmd_get, 0u);
  EXPECT_EQ(r.ClassTotal(5).get_hits, 0u);
  r.Thread(0)->cmd_get.Add();
  EXPECT_EQ(r.Totals().cmd_get, 1u);
}

TEST(RegistryTest, DetailFollowsTheConstructorAndResetClearsIt) {
  Registry off(1);
  EXPECT_FALSE(off.Prefixes().enabled());
  EXPECT_EQ(off.Prefixes().delimiter(), ':');

  Registry on(1, '#', true);
  EXPECT_TRUE(on.Prefixes().enabled());
  EXPECT_EQ(on.Prefixes().delimiter(), '#');
  on.Prefixes().RecordSet("a#b");
  EXPECT_EQ(on.Prefixes().size(), 1u);
  on.Reset();
  EXPECT_EQ(on.Prefixes().size(), 0u);
  EXPECT_TRUE(on.Prefixes().enabled());
}

}  // namespace
}  // namespace mcd::stats
