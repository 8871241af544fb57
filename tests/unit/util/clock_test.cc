#include "mcd/util/clock.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace mcd {
namespace {

class ClockTest : public ::testing::Test {
 protected:
  static constexpr RelTime kNow = 1000;
  static constexpr int64_t kEpoch = 1700000000;
  FakeClock clock_{kNow, kEpoch};
};

TEST_F(ClockTest, ZeroNeverExpires) { EXPECT_EQ(clock_.ExptimeToRel(0), 0u); }

TEST_F(ClockTest, NegativeIsAlreadyExpired) {
  EXPECT_EQ(clock_.ExptimeToRel(-1), 1u);
  EXPECT_EQ(clock_.ExptimeToRel(INT32_MIN), 1u);
  EXPECT_LT(clock_.ExptimeToRel(-1), clock_.Now());
}

TEST_F(ClockTest, RelativeUpToThirtyDays) {
  EXPECT_EQ(clock_.ExptimeToRel(1), kNow + 1);
  EXPECT_EQ(clock_.ExptimeToRel(100), kNow + 100);
  EXPECT_EQ(clock_.ExptimeToRel(2592000), kNow + 2592000);  // exactly 30 days: still relative
  clock_.Advance(50);
  EXPECT_EQ(clock_.ExptimeToRel(100), kNow + 150);
}

TEST_F(ClockTest, AbsoluteAboveThirtyDays) {
  // 2592001 is an absolute unix time in 1970: long before the epoch, so already expired.
  EXPECT_EQ(clock_.ExptimeToRel(2592001), 1u);
  EXPECT_EQ(clock_.ExptimeToRel(kEpoch - 10), 1u);
  EXPECT_EQ(clock_.ExptimeToRel(kEpoch), 1u);
  EXPECT_EQ(clock_.ExptimeToRel(kEpoch + 1), 1u);
  EXPECT_EQ(clock_.ExptimeToRel(kEpoch + 5000), 5000u);
  EXPECT_EQ(clock_.RelToUnix(clock_.ExptimeToRel(kEpoch + 5000)), kEpoch + 5000);
  EXPECT_EQ(clock_.ExptimeToRel(INT64_MAX), UINT32_MAX);  // clamped, never wraps to the past
}

TEST_F(ClockTest, RelToUnix) {
  EXPECT_EQ(clock_.RelToUnix(0), 0);
  EXPECT_EQ(clock_.RelToUnix(kNow), kEpoch + kNow);
}

TEST(SystemClockTest, StartsAfterOneAndTicks) {
  SystemClock clock;
  EXPECT_GT(clock.Now(), 1u);
  clock.Tick();
  EXPECT_GE(clock.Now(), 2u);
  EXPECT_GT(clock.Epoch(), 1600000000);
}

}  // namespace
}  // namespace mcd
