// The automove policy on made-up per-class figures, one Tick() per simulated second.
#include "automove.h"

#include <gtest/gtest.h>

#include <vector>

namespace mcd::storage {
namespace {

constexpr int kClasses = 8;
constexpr int kWindow = 30;

class AutomoveTest : public ::testing::Test {
 protected:
  AutomoveTest() : policy_(kClasses, kWindow, 0.8), s_(kClasses + 1) {
    for (auto& c : s_) c.chunks_per_page = 100;
  }
  // One second: each class in `evicting` evicts `per_tick` items.
  AutomoveDecision Tick(std::vector<int> evicting, uint64_t per_tick = 10) {
    for (int id : evicting) s_[id].evicted += per_tick;
    return policy_.Tick(s_);
  }

  AutomovePolicy policy_;
  std::vector<AutomoveSample> s_;
};

// Traffic moved to class 6: it evicts every second and its items are young, while class 2
// holds old items in many pages. Once the window has filled, pages go from 2 to 6.
TEST_F(AutomoveTest, YoungEvictingClassTakesPagesFromTheOldest) {
  s_[2] = {0, 0, 40, 0, 100, 3000};
  s_[6] = {0, 0, 10, 0, 100, 20};
  for (int t = 0; t < kWindow; ++t) EXPECT_FALSE(Tick({6}).move()) << t;
  AutomoveDecision d = Tick({6});
  ASSERT_TRUE(d.move());
  EXPECT_EQ(d.src, 2);
  EXPECT_EQ(d.dst, 6);
}

// Two classes under the same pressure (similar ages): no page moves either way.
TEST_F(AutomoveTest, TwoPressedClassesDoNotTrade) {
  s_[3] = {0, 0, 20, 0, 100, 100};
  s_[4] = {0, 0, 20, 0, 100, 110};
  for (int t = 0; t < 3 * kWindow; ++t) EXPECT_FALSE(Tick({3, 4}).move()) << t;
}

// The youngest must be evicting in this very second, and a source keeps at least three pages.
TEST_F(AutomoveTest, NeedsEvictionNowAndASpareSource) {
  s_[2] = {0, 0, 2, 0, 100, 3000};  // only two pages: never a source
  s_[6] = {0, 0, 10, 0, 100, 20};
  for (int t = 0; t < 2 * kWindow; ++t) EXPECT_FALSE(Tick({6}).move()) << t;
  s_[2].total_pages = 3;
  EXPECT_FALSE(Tick({}).move());  // not evicting in this second
  EXPECT_TRUE(Tick({6}).move());
}

// A quiet class with more than 2.5 pages of free chunks gives a page to the pool; any eviction,
// out-of-memory or new page in its window stops that.
TEST_F(AutomoveTest, QuietClassWithFreeChunksGivesAPageToThePool) {
  s_[5] = {0, 0, 10, 260, 100, 50};
  s_[5].outofmemory = 1;
  AutomoveDecision d = Tick({});
  EXPECT_FALSE(d.move());  // dirty (out of memory this tick)
  for (int t = 0; t < kWindow - 1; ++t) EXPECT_FALSE(Tick({}).move()) << t;
  d = Tick({});
  ASSERT_TRUE(d.move());
  EXPECT_EQ(d.src, 5);
  EXPECT_EQ(d.dst, 0);
  s_[5].free_chunks = 250;  // 2.5 pages exactly: keep
  for (int t = 0; t < kWindow; ++t) EXPECT_FALSE(Tick({}).move()) << t;
}

// No decision before the window has filled once, however clear the case.
TEST_F(AutomoveTest, WaitsForAFullWindow) {
  s_[2] = {0, 0, 40, 0, 100, 100000};
  s_[6] = {0, 0, 10, 0, 100, 1};
  for (int t = 0; t < kWindow; ++t) EXPECT_FALSE(Tick({6}, 1000).move()) << t;
  EXPECT_TRUE(Tick({6}, 1000).move());
}

// Sampled four times a second (four phases), the policy decides as soon as one of its
// second-aligned windows has seen evictions in eight one-second slots: 7 s after the first
// quarter-second tick that saw evictions, wherever in the second the traffic changed. With one
// sample a second the same shift can wait up to a second longer.
TEST(AutomovePhasesTest, DecidesSevenSecondsAfterTheFirstEvictingTick) {
  constexpr int kPhases = 4;
  AutomovePolicy policy(kClasses, kWindow, 0.8, kPhases);
  std::vector<AutomoveSample> s(kClasses + 1);
  for (auto& c : s) c.chunks_per_page = 100;
  s[2] = {0, 0, 40, 0, 100, 3000};
  s[6] = {0, 0, 1, 0, 100, 20};
  // A quiet minute fills every phase's window.
  for (int t = 0; t < 60 * kPhases; ++t) ASSERT_FALSE(policy.Tick(s).move()) << t;
  // Class 6 evicts from now on; the tick below is the first to see it.
  int ticks = 0;
  AutomoveDecision d;
  while (!d.move() && ticks < 60 * kPhases) {
    s[6].evicted += 5;
    d = policy.Tick(s);
    ++ticks;
  }
  ASSERT_TRUE(d.move());
  EXPECT_EQ(d.src, 2);
  EXPECT_EQ(d.dst, 6);
  EXPECT_EQ(ticks, 7 * kPhases + 1);
}

}  // namespace
}  // namespace mcd::storage
