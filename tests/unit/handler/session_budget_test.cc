// -o read_buf_mem_limit: a Session answering within a budget (multiget out of reply memory,
// stacked replies closing the connection). Plain strings, no socket: the "connection" here sends
// everything after each Consume() and then calls RepliesSent(), as the server's Connection does.
// BufferBudget's own accounting is tested in tests/unit/server.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "handler_test_base.h"
#include "mcd/handler/session.h"
#include "mcd/handler/session_factory.h"
#include "mcd/server/buffer_budget.h"
#include "mcd/storage/cache.h"

namespace mcd::handler {
namespace {

using server::BufferBudget;
constexpr uint64_t kBuf = BufferBudget::kBufferSize;

class SessionBudgetTest : public HandlerTestBase {
 protected:
  stats::ThreadStats* ts() { return registry_.Thread(0); }
  // The worker's counters as the app wires them: budgets count into ts().
  const server::WorkerCounters* counters() { return &counters_; }
  void Reset() { NewCache(); }

  // Feeds `input` in pieces of `piece` bytes (0: all at once); after each piece everything
  // produced is "sent" and the session told so. Returns all bytes sent.
  std::string FeedAndSend(Session& s, std::string_view input, size_t piece = 0) {
    OutBuf out(&ReleaseItemRef, cache_.get());
    std::string pending, sent;
    if (piece == 0) piece = input.size();
    for (size_t off = 0; off < input.size() && !s.want_close(); off += piece) {
      pending.append(input.substr(off, piece));
      size_t used;
      do {
        used = s.Consume(pending, &out);
        pending.erase(0, used);
        sent += out.ToString();
        out.Consume(out.size());
        s.RepliesSent();
      } while (s.yielded() && !s.want_close());
    }
    return sent;
  }

  std::string Run(BufferBudget* budget, std::string_view input, size_t piece = 0) {
    Session s(&ctx_, ts(), 7, budget);
    return FeedAndSend(s, input, piece);
  }

  server::WorkerCounters counters_ = WorkerCountersOf(registry_.Thread(0));
};

// 20 keys, some stored (one value large enough to be sent by reference).
std::string SetUpKeys(std::string* get_line) {
  std::string set;
  *get_line = "get";
  for (int i = 0; i < 20; ++i) {
    std::string key = "k" + std::to_string(i);
    *get_line += " " + key;
    if (i % 3 != 0) continue;
    std::string value(i == 9 ? 5000 : 3, 'v');
    set += "set " + key + " 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n";
  }
  *get_line += "\r\n";
  return set;
}

TEST_F(SessionBudgetTest, MultigetOutOfReplyMemoryAnswersServerErrorThenGoesOn) {
  std::string get;
  std::string set = SetUpKeys(&get);
  ASSERT_NE(Run(nullptr, set).find("STORED"), std::string::npos);
  for (size_t piece : {0, 1, 5, 64}) {
    BufferBudget budget(kBuf, counters());  // 13 reply objects
    const uint64_t oom = ts()->response_obj_oom.Get();
    EXPECT_EQ(Run(&budget, get + "get k0\r\n", piece),
              "SERVER_ERROR out of memory writing get response\r\nVALUE k0 0 3\r\nvvv\r\nEND\r\n")
        << piece;
    EXPECT_EQ(ts()->response_obj_oom.Get(), oom + 1) << piece;
    EXPECT_EQ(budget.replies(), 0u) << piece;
  }
  // The dropped replies gave their item references back: the large value can be replaced and
  // read again in full.
  EXPECT_EQ(Run(nullptr, "get k9\r\n").size(), std::string("VALUE k9 0 5000\r\n").size() + 5007);
}

TEST_F(SessionBudgetTest, WithinTheBudgetNothingChanges) {
  std::string get;
  std::string set = SetUpKeys(&get);
  std::string expected = Run(nullptr, set + get);
  Reset();
  BufferBudget budget(3 * kBuf, counters());  // 39 reply objects: one per command and further key
  EXPECT_EQ(Run(&budget, set + get), expected);
  EXPECT_EQ(ts()->response_obj_oom.Get(), 0u);
}

TEST_F(SessionBudgetTest, StackedRepliesBeyondTheBudgetCloseWithoutReplying) {
  std::string input;
  for (int i = 0; i < 14; ++i) input += "mg foo v\r\n";
  BufferBudget budget(kBuf, counters());
  Session s(&ctx_, ts(), 7, &budget);
  EXPECT_EQ(FeedAndSend(s, input), "");
  EXPECT_TRUE(s.want_close());
  EXPECT_EQ(ts()->response_obj_oom.Get(), 1u);
  // Sent in smaller batches, each batch's replies are given back before the next.
  BufferBudget budget2(kBuf, counters());
  std::string misses;
  for (int i = 0; i < 14; ++i) misses += "EN\r\n";
  EXPECT_EQ(Run(&budget2, input, 50), misses);
}

TEST_F(SessionBudgetTest, StreamedMultigetOutOfReplyMemorySkipsTheRestOfItsLine) {
  std::string input = "get";
  for (int i = 0; i < 600; ++i) input += " miss" + std::to_string(i);
  input += "\r\nversion\r\n";
  ASSERT_GT(input.size(), 4000u);
  BufferBudget budget(kBuf, counters());
  EXPECT_EQ(Run(&budget, input),
            "SERVER_ERROR out of memory writing get response\r\nVERSION 1.6.18-mcd-test\r\n");
  // Cut so that part of the line was answered (and sent) before the budget ran out: that part
  // cannot be taken back, so the connection is closed instead.
  std::string long_keys = "get";
  for (int i = 0; i < 100; ++i) long_keys += " " + std::string(200, 'a' + i % 26);
  long_keys += "\r\nversion\r\n";
  Session s(&ctx_, ts(), 7, &budget);
  OutBuf out(&ReleaseItemRef, cache_.get());
  std::string pending = long_keys.substr(0, 2100);  // streamed: the first 10 keys
  pending.erase(0, s.Consume(pending, &out));
  EXPECT_FALSE(s.want_close());
  out.Consume(out.size());  // sent
  s.RepliesSent();
  pending += long_keys.substr(2100);  // the other 90 keys at once
  s.Consume(pending, &out);
  EXPECT_TRUE(s.want_close());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace mcd::handler
