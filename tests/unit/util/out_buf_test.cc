#include "mcd/util/out_buf.h"

#include <gtest/gtest.h>
#include <sys/uio.h>

#include <cstring>
#include <map>
#include <string>

namespace mcd {
namespace {

// Counts releases per object.
class OutBufTest : public ::testing::Test {
 protected:
  static void Release(void* ctx, void* obj) { (*static_cast<std::map<void*, int>*>(ctx))[obj]++; }
  std::string Iov(int max = 64) {
    iovec iov[64];
    int n = buf_.FillIov(iov, max);
    std::string s;
    for (int i = 0; i < n; ++i) s.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
    return s;
  }

  std::map<void*, int> released_;
  OutBuf buf_{&OutBufTest::Release, &released_};
  int obj1_ = 0, obj2_ = 0, obj3_ = 0;
};

TEST_F(OutBufTest, AppendCoalesces) {
  EXPECT_TRUE(buf_.empty());
  buf_.Append("VALUE a 0 1\r\n");
  buf_.Append("x\r\n");
  buf_.Append("");
  EXPECT_EQ(buf_.size(), 16u);
  iovec iov[4];
  EXPECT_EQ(buf_.FillIov(iov, 4), 1);  // adjacent arena bytes share one segment
  EXPECT_EQ(buf_.ToString(), "VALUE a 0 1\r\nx\r\n");
}

TEST_F(OutBufTest, ReserveCommit) {
  buf_.Append("A");
  char* p = buf_.Reserve(10);
  std::memcpy(p, "0123456789", 10);
  buf_.Commit(4);
  EXPECT_EQ(buf_.ToString(), "A0123");
  buf_.Commit(0);
  EXPECT_EQ(buf_.size(), 5u);
  p = buf_.Reserve(3);
  std::memcpy(p, "xyz", 3);
  buf_.Commit(3);
  EXPECT_EQ(buf_.ToString(), "A0123xyz");
}

TEST_F(OutBufTest, LongAppendSpansBlocks) {
  std::string big(OutBuf::kBlockSize * 2 + 100, 'q');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  buf_.Append("head");
  buf_.Append(big);
  EXPECT_EQ(buf_.size(), big.size() + 4);
  EXPECT_EQ(buf_.ToString(), "head" + big);
  EXPECT_EQ(Iov(), "head" + big);
}

TEST_F(OutBufTest, FillIovOrderAndLimit) {
  const char value1[] = "v1\r\n";
  const char value2[] = "value2\r\n";
  buf_.Append("VALUE a 0 2\r\n");
  buf_.AppendRef(value1, 4, &obj1_);
  buf_.Append("VALUE b 0 6\r\n");
  buf_.AppendRef(value2, 8, &obj2_);
  buf_.Append("END\r\n");
  EXPECT_EQ(Iov(), "VALUE a 0 2\r\nv1\r\nVALUE b 0 6\r\nvalue2\r\nEND\r\n");
  iovec iov[2];
  ASSERT_EQ(buf_.FillIov(iov, 2), 2);
  EXPECT_EQ(iov[1].iov_base, static_cast<const void*>(value1));  // referenced, not copied
  EXPECT_EQ(Iov(3), "VALUE a 0 2\r\nv1\r\nVALUE b 0 6\r\n");
}

TEST_F(OutBufTest, RefsReleasedExactlyOnceAcrossPartialWrites) {
  const char value1[] = "0123456789";
  const char value2[] = "abcdef";
  buf_.Append("H1");
  buf_.AppendRef(value1, 10, &obj1_);
  buf_.AppendRef(value2, 6, &obj2_);
  buf_.AppendRef(value2, 0, &obj3_);  // empty but referenced: still released once
  buf_.Append("END");
  const std::string all = "H10123456789abcdefEND";
  ASSERT_EQ(buf_.ToString(), all);
  size_t sent = 0;
  for (size_t step : {1, 3, 5, 4, 2}) {  // 1: into H1, 3: into value1, ...
    buf_.Consume(step);
    sent += step;
    EXPECT_EQ(buf_.ToString(), all.substr(sent));
    EXPECT_EQ(Iov(), all.substr(sent));
  }
  // 15 bytes sent: "H1" + 10 + 3 of value2.
  EXPECT_EQ(released_[&obj1_], 1);
  EXPECT_EQ(released_[&obj2_], 0);
  buf_.Consume(3);  // exactly the end of value2: it and the empty segment after it are done
  EXPECT_EQ(released_[&obj2_], 1);
  EXPECT_EQ(released_[&obj3_], 1);
  buf_.Consume(3);
  EXPECT_TRUE(buf_.empty());
  buf_.Clear();
  EXPECT_EQ(released_[&obj1_], 1);
  EXPECT_EQ(released_[&obj2_], 1);
  EXPECT_EQ(released_[&obj3_], 1);
}

TEST_F(OutBufTest, ClearReleasesPendingRefsOnce) {
  const char v[] = "abcdef";
  buf_.AppendRef(v, 6, &obj1_);
  buf_.AppendRef(v, 6, &obj2_);
  buf_.Consume(8);  // obj1 done, obj2 half sent
  EXPECT_EQ(released_[&obj1_], 1);
  EXPECT_EQ(released_[&obj2_], 0);
  buf_.Clear();
  EXPECT_EQ(released_[&obj1_], 1);
  EXPECT_EQ(released_[&obj2_], 1);
  EXPECT_TRUE(buf_.empty());
  buf_.Clear();
  EXPECT_EQ(released_[&obj2_], 1);
}

TEST_F(OutBufTest, DestructorReleases) {
  std::map<void*, int> released;
  {
    OutBuf b(&OutBufTest::Release, &released);
    b.AppendRef("x", 1, &obj1_);
  }
  EXPECT_EQ(released[&obj1_], 1);
}

TEST_F(OutBufTest, NullObjectAndNoCallback) {
  OutBuf plain;
  plain.AppendRef("abc", 3, nullptr);
  plain.AppendRef("def", 3, &obj1_);  // no callback: nothing to call
  plain.Consume(4);
  EXPECT_EQ(plain.ToString(), "ef");
  plain.Clear();
  EXPECT_TRUE(plain.empty());
}

TEST_F(OutBufTest, ArenaReusedAfterFullConsume) {
  buf_.Append("first");
  iovec iov[1];
  ASSERT_EQ(buf_.FillIov(iov, 1), 1);
  const void* start = iov[0].iov_base;
  buf_.Consume(5);
  EXPECT_TRUE(buf_.empty());
  EXPECT_EQ(buf_.FillIov(iov, 1), 0);
  buf_.Append("second");
  ASSERT_EQ(buf_.FillIov(iov, 1), 1);
  EXPECT_EQ(iov[0].iov_base, start);  // the arena was rewound, not grown
  EXPECT_EQ(buf_.ToString(), "second");
  // Also after using several blocks.
  buf_.Append(std::string(OutBuf::kBlockSize * 3, 'z'));
  buf_.Consume(buf_.size());
  buf_.Append("third");
  ASSERT_EQ(buf_.FillIov(iov, 1), 1);
  EXPECT_EQ(iov[0].iov_base, start);
}

TEST_F(OutBufTest, PartialConsumeThenAppendKeepsOrder) {
  buf_.Append("abc");
  buf_.Consume(1);
  buf_.Append("def");  // coalesces with the partly sent arena segment
  EXPECT_EQ(buf_.ToString(), "bcdef");
  EXPECT_EQ(Iov(), "bcdef");
  buf_.Consume(4);
  EXPECT_EQ(buf_.ToString(), "f");
}

TEST_F(OutBufTest, TruncateDropsWhatFollowsTheMarkAndReleasesItsRefsOnce) {
  buf_.Append("STORED\r\n");
  buf_.AppendRef("kept", 4, &obj1_);
  buf_.Append("VALUE");
  const OutBuf::Mark mark = buf_.GetMark();
  buf_.Append(" a 0 1\r\n");  // coalesces into the segment the mark ends in
  buf_.AppendRef("x\r\n", 3, &obj2_);
  buf_.Append(std::string(2 * OutBuf::kBlockSize, 'y'));  // spills into new blocks
  buf_.AppendRef("z", 1, &obj3_);
  buf_.Truncate(mark);
  EXPECT_EQ(released_[&obj2_], 1);
  EXPECT_EQ(released_[&obj3_], 1);
  EXPECT_EQ(released_.count(&obj1_), 0u);
  EXPECT_EQ(buf_.size(), 17u);
  EXPECT_EQ(buf_.ToString(), "STORED\r\nkeptVALUE");
  EXPECT_EQ(Iov(), "STORED\r\nkeptVALUE");
  buf_.Append(" then\r\n");  // appends go on right after the mark
  EXPECT_EQ(buf_.ToString(), "STORED\r\nkeptVALUE then\r\n");
  buf_.Consume(buf_.size());
  EXPECT_EQ(released_[&obj1_], 1);
  EXPECT_EQ(released_[&obj2_], 1);
}

TEST_F(OutBufTest, TruncateToAnEmptyMarkEmptiesTheBuffer) {
  const OutBuf::Mark mark = buf_.GetMark();
  buf_.Append("VALUE a 0 1\r\n");
  buf_.AppendRef("x\r\n", 3, &obj1_);
  buf_.Truncate(mark);
  EXPECT_TRUE(buf_.empty());
  EXPECT_EQ(released_[&obj1_], 1);
  buf_.Append("SERVER_ERROR\r\n");
  EXPECT_EQ(Iov(), "SERVER_ERROR\r\n");
}

}  // namespace
}  // namespace mcd

namespace mcd {
namespace {

TEST(OutBufPoolTest, DrainedBufferReturnsItsBlocksAndReusesThem) {
  OutBlockPool pool;
  {
    OutBuf out(nullptr, nullptr, &pool);
    out.Append(std::string(3 * OutBuf::kBlockSize, 'x'));  // needs 3 blocks
    EXPECT_EQ(pool.free_blocks(), 0u);
    out.Consume(OutBuf::kBlockSize);
    EXPECT_EQ(pool.free_blocks(), 0u);  // nothing returned while bytes are pending
    out.Consume(out.size());
    EXPECT_EQ(pool.free_blocks(), 3u);  // a drained buffer holds no block
    out.Append("hello");
    EXPECT_EQ(pool.free_blocks(), 2u);  // taken from the pool, not allocated
    EXPECT_EQ(out.ToString(), "hello");
  }
  EXPECT_EQ(pool.free_blocks(), 3u);  // destruction gives the block back
}

TEST(OutBufPoolTest, PoolKeepsAtMostItsLimit) {
  OutBlockPool pool(2);
  OutBuf out(nullptr, nullptr, &pool);
  out.Append(std::string(4 * OutBuf::kBlockSize, 'x'));
  out.Consume(out.size());
  EXPECT_EQ(pool.free_blocks(), 2u);
}

}  // namespace
}  // namespace mcd
