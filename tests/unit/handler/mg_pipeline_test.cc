// Pipelined mg lines: Consume() hashes and prefetches the keys of the mg lines ahead of the one
// it serves (session.cc, MgLookahead), and MetaGet uses a hash only for the very key token it was
// computed from. These tests feed batches where a looked-ahead token is not the key that gets
// looked up (base64 keys, data blocks that read like mg lines, near-identical keys), whole and
// cut at every byte, and check the replies are those of the lines served one at a time.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "handler_test_base.h"
#include "mcd/handler/session.h"
#include "mcd/storage/cache.h"

namespace mcd::handler {
namespace {

class MgPipelineTest : public HandlerTestBase {
 protected:
  // Feeds `input` to one session in two pieces cut at `cut` (the second piece appended to what
  // the first left unconsumed); returns everything replied.
  // max_commands: Consume()'s turn limit (a yield restarts the lookahead).
  std::string RunCut(std::string_view input, size_t cut, int max_commands = 1 << 30) {
    Session s(&ctx_, registry_.Thread(0), 7);
    OutBuf out(&ReleaseItemRef, cache_.get());
    std::string pending(input.substr(0, cut));
    for (int piece = 0; piece < 2; ++piece) {
      if (piece == 1) pending.append(input.substr(cut));
      for (int i = 0; i < 1000 && !pending.empty(); ++i) {
        pending.erase(0, s.Consume(pending, &out, max_commands));
        if (!s.yielded()) break;
      }
    }
    return out.ToString();
  }
};

TEST_F(MgPipelineTest, BatchesGetTheRepliesOfSingleLines) {
  // "a" and "aa" hold different values; the binary key "a\x01" (base64 YQE=) a third, and the
  // text key "YQE=" a fourth.
  ASSERT_EQ(RunCut("ms a 1\r\n1\r\nms aa 1\r\n2\r\nms YQE= 1 b\r\n3\r\nms YQE= 1\r\n4\r\n", 0),
            "HD\r\nHD\r\nHD\r\nHD\r\n");
  const std::string block1 = "mg a v\r\nmg aa\r\n";  // data blocks that read like mg lines
  const std::string block2 = "mg a v\r\n";
  const std::string batch =
      "mg a v q O1\r\n"
      "mg aa v q O2\r\n"
      "mg YQE= b v q O3\r\n"   // the binary key: its token's hash is not its key's
      "mg YQE= v q O4\r\n"     // the text key "YQE="
      "mg  a v\r\n"            // two spaces before the key
      "mg missing v q O5\r\n"  // a miss, quiet
      "ms c " +
      std::to_string(block1.size()) + "\r\n" + block1 + "\r\n" +
      "mg c v q O6\r\n"
      "set d 0 0 " +
      std::to_string(block2.size()) + "\r\n" + block2 + "\r\n" +
      "mg d v q O7\r\n"
      "mg aa k v\r\n"
      "mn\r\n";
  const std::string expected =
      "VA 1 O1\r\n1\r\n"
      "VA 1 O2\r\n2\r\n"
      "VA 1 O3\r\n3\r\n"
      "VA 1 O4\r\n4\r\n"
      "VA 1\r\n1\r\n"
      "HD\r\n"
      "VA " +
      std::to_string(block1.size()) + " O6\r\n" + block1 + "\r\n" +
      "STORED\r\n"
      "VA " +
      std::to_string(block2.size()) + " O7\r\n" + block2 + "\r\n" +
      "VA 1 kaa\r\n2\r\n"
      "MN\r\n";
  for (size_t cut = 0; cut <= batch.size(); ++cut) {
    ASSERT_EQ(RunCut(batch, cut), expected) << "cut at " << cut;
  }
}

// A batch longer than the lookahead ring (8 lines) and than one Consume() turn's command limit,
// so the ring wraps and restarts at a yield.
TEST_F(MgPipelineTest, LongBatchWrapsTheRing) {
  std::string fill;
  std::string batch;
  std::string expected;
  for (int i = 0; i < 300; ++i) {
    const std::string k = "key" + std::to_string(i);
    const std::string v = std::to_string(i * 7);
    if (i % 3 != 0) fill += "ms " + k + " " + std::to_string(v.size()) + " q\r\n" + v + "\r\n";
    batch += "mg " + k + " v q O" + std::to_string(i) + "\r\n";
    if (i % 3 != 0) {
      expected += "VA " + std::to_string(v.size()) + " O" + std::to_string(i) + "\r\n" + v + "\r\n";
    }
  }
  batch += "mn\r\n";
  expected += "MN\r\n";
  ASSERT_EQ(RunCut(fill + "mn\r\n", 0), "MN\r\n");
  for (size_t cut : {size_t{0}, size_t{1}, batch.size() / 3, batch.size() - 3}) {
    ASSERT_EQ(RunCut(batch, cut), expected) << "cut at " << cut;
    ASSERT_EQ(RunCut(batch, cut, 20), expected) << "cut at " << cut << ", 20 commands a turn";
  }
}

}  // namespace
}  // namespace mcd::handler
