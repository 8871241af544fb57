// -o read_buf_mem_limit over real sockets, as memcached's t/conn-limits.t uses it: 1 MB split
// over 32 workers leaves each two 16 KB buffers, shared by read buffers and replies (13 per
// buffer). A multiget beyond that is answered SERVER_ERROR, stacked replies beyond it close the
// connection, and connections in the middle of a command beyond it are refused a read buffer.
//
// Runs against memcached too (MCD_TEST_BINARY=/usr/bin/memcached).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server_process.h"

namespace mcd::testing {
namespace {

uint64_t Stat(Client& c, const std::string& name) {
  auto stats = c.Stats();
  auto it = stats.find(name);
  return it == stats.end() ? ~uint64_t{0} : std::stoull(it->second);
}

std::string MultiGet(int keys) {
  std::string line = "get";
  for (int i = 0; i < keys; ++i) line += " foo";
  return line + "\r\n";
}

class ReadBufLimitTest : public ServerTest {
 protected:
  std::vector<std::string> ServerArgs() const override {
    return {"-o", "read_buf_mem_limit=1", "-t", "32", "-R", "500"};
  }
};

TEST_F(ReadBufLimitTest, MultigetBeyondTheLimitAnswersServerErrorAndGoesOn) {
  ASSERT_TRUE(c_->Expect("set foo 0 0 3\r\nbar\r\n", "STORED\r\n"));
  EXPECT_TRUE(c_->Expect(MultiGet(500), "SERVER_ERROR out of memory writing get response\r\n"));
  EXPECT_EQ(Stat(*c_, "response_obj_oom"), 1u);
  // Within the limit the same connection is served as usual.
  std::string five;
  for (int i = 0; i < 5; ++i) five += "VALUE foo 0 3\r\nbar\r\n";
  EXPECT_TRUE(c_->Expect(MultiGet(5), five + "END\r\n"));
}

TEST_F(ReadBufLimitTest, StackedRepliesBeyondTheLimitCloseTheConnectionWithoutReplying) {
  auto c = NewClient();
  std::string pipelined;
  for (int i = 0; i < 500; ++i) pipelined += "mg foo v\r\n";
  ASSERT_TRUE(c->Send(pipelined));
  std::string trailing;
  EXPECT_TRUE(c->WaitForClose(Duration(3000), &trailing));
  EXPECT_EQ(trailing, "");
  EXPECT_GE(Stat(*c_, "response_obj_oom"), 1u);
}

TEST_F(ReadBufLimitTest, ConnectionsInTheMiddleOfACommandBeyondTheLimitAreRefused) {
  std::vector<std::unique_ptr<Client>> partial;
  for (int i = 0; i < 128; ++i) {
    partial.push_back(NewClient());
    ASSERT_TRUE(partial.back()->Connected());
    // A storage command still waiting for its data holds a read buffer.
    ASSERT_TRUE(partial.back()->Send("set foo 0 0 2\r\n"));
  }
  // The refused ones are closed.
  int closed = 0;
  for (auto& c : partial) closed += c->WaitForClose(Duration(20)) ? 1 : 0;
  EXPECT_GT(closed, 1);
  partial.clear();
  // Once the server has noticed the closed clients, a new one is given a read buffer again.
  uint64_t oom = 0;
  EXPECT_TRUE(PollUntil(
      [&] {
        auto fresh = NewClient();
        oom = Stat(*fresh, "read_buf_oom");
        return oom != ~uint64_t{0};
      },
      Duration(3000)));
  EXPECT_GT(oom, 1u);
}

TEST(ReadBufNoLimitTest, WithoutALimitNothingIsRefused) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-t", "32", "-R", "500"}));
  Client c(server.port());
  ASSERT_TRUE(c.Expect("set foo 0 0 3\r\nbar\r\n", "STORED\r\n"));
  std::string reply;
  for (int i = 0; i < 500; ++i) reply += "VALUE foo 0 3\r\nbar\r\n";
  EXPECT_TRUE(c.Expect(MultiGet(500), reply + "END\r\n"));
  std::string pipelined, errors;
  for (int i = 0; i < 500; ++i) {
    pipelined += "bogus foo v\r\n";
    errors += "ERROR\r\n";
  }
  EXPECT_TRUE(c.Expect(pipelined, errors));
  EXPECT_EQ(Stat(c, "response_obj_oom"), 0u);
  EXPECT_EQ(Stat(c, "read_buf_oom"), 0u);
  if (ServerIsMcd(server.port())) {
    // mcd accounts for connection memory only under a limit.
    EXPECT_EQ(Stat(c, "response_obj_count"), 0u);
    EXPECT_EQ(Stat(c, "read_buf_count"), 0u);
  }
}

}  // namespace
}  // namespace mcd::testing
