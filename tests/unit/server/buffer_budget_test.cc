// -o read_buf_mem_limit: BufferBudget's accounting, counted into plain util counters (no stats
// module: the server's counters are whatever the app points them at).
#include "mcd/server/buffer_budget.h"

#include <gtest/gtest.h>

#include "mcd/server/counters.h"

namespace mcd::server {
namespace {

// A worker's counters, owned by the test.
struct TestCounters {
  Counter bytes_read, bytes_written, conn_yields, idle_kicks, response_obj_oom, read_buf_oom;
  Gauge response_obj_count, response_obj_bytes, read_buf_count, read_buf_bytes, read_buf_bytes_free;
  WorkerCounters wc{&bytes_read,       &bytes_written,  &conn_yields,        &idle_kicks,
                    &response_obj_oom, &read_buf_oom,   &response_obj_count, &response_obj_bytes,
                    &read_buf_count,   &read_buf_bytes, &read_buf_bytes_free};
  const WorkerCounters* counters() const { return &wc; }
};

constexpr uint64_t kBuf = BufferBudget::kBufferSize;

TEST(BufferBudgetTest, ShareIsWholeBuffersAndAtLeastOne) {
  TestCounters ts;
  EXPECT_EQ(BufferBudget(0, ts.counters()).limit_buffers(), 1u);
  EXPECT_EQ(BufferBudget(kBuf - 1, ts.counters()).limit_buffers(), 1u);
  EXPECT_EQ(BufferBudget(2 * kBuf + 100, ts.counters()).limit_buffers(), 2u);
  // memcached's conn-limits.t: 1 MB over 32 workers is two buffers each.
  EXPECT_EQ(BufferBudget((1u << 20) / 32, ts.counters()).limit_buffers(), 2u);
}

TEST(BufferBudgetTest, RepliesComeIn13PerBufferAndShareWithReadBuffers) {
  TestCounters ts;
  BufferBudget b(2 * kBuf, ts.counters());
  for (int i = 0; i < 26; ++i) ASSERT_TRUE(b.TakeReply()) << i;
  EXPECT_FALSE(b.TakeReply());
  EXPECT_FALSE(b.TakeReadBuffer());
  EXPECT_EQ(ts.response_obj_oom.Get(), 1u);
  EXPECT_EQ(ts.read_buf_oom.Get(), 1u);
  EXPECT_EQ(ts.response_obj_count.Get(), 26u);
  EXPECT_EQ(ts.response_obj_bytes.Get(), 2 * kBuf);

  b.ReleaseReplies(14);  // 12 left: one bundle
  EXPECT_TRUE(b.TakeReadBuffer());
  EXPECT_TRUE(b.TakeReply());   // the 13th fits the bundle
  EXPECT_FALSE(b.TakeReply());  // a 14th needs a buffer the read buffer holds
  b.ReleaseReadBuffer();
  EXPECT_TRUE(b.TakeReply());
  EXPECT_EQ(ts.response_obj_oom.Get(), 2u);
  EXPECT_EQ(ts.read_buf_oom.Get(), 1u);
}

TEST(BufferBudgetTest, OneReplyBundleStaysAndGivenBackBuffersStayCached) {
  TestCounters ts;
  BufferBudget b(2 * kBuf, ts.counters());
  ASSERT_TRUE(b.TakeReadBuffer());
  ASSERT_TRUE(b.TakeReadBuffer());
  b.ReleaseReadBuffer();
  b.ReleaseReadBuffer();
  EXPECT_EQ(ts.read_buf_count.Get(), 2u);  // the most ever in use
  EXPECT_EQ(ts.read_buf_bytes.Get(), 2 * kBuf);
  EXPECT_EQ(ts.read_buf_bytes_free.Get(), 2 * kBuf);

  ASSERT_TRUE(b.TakeReply());
  b.ReleaseReplies(1);
  // As memcached, the worker keeps its reply bundle: one read buffer is left, not two.
  EXPECT_EQ(ts.response_obj_count.Get(), 0u);
  EXPECT_EQ(ts.response_obj_bytes.Get(), kBuf);
  EXPECT_EQ(ts.read_buf_bytes_free.Get(), kBuf);
  EXPECT_TRUE(b.TakeReadBuffer());
  EXPECT_FALSE(b.TakeReadBuffer());
  EXPECT_EQ(ts.read_buf_oom.Get(), 1u);
}

}  // namespace
}  // namespace mcd::server
