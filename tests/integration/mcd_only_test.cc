// Behaviour where mcd deliberately differs from memcached 1.6.18. Each test is skipped when the
// server under test is memcached (its version reply does not name mcd).
#include <string>

#include "gtest/gtest.h"
#include "server_process.h"

namespace mcd::testing {
namespace {

class McdOnlyTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    if (HasFatalFailure()) return;
    if (!ServerIsMcd(server_.port())) GTEST_SKIP() << "mcd-only behaviour; server is memcached";
  }
};

// MCD-ONLY: memcached stores keys containing control characters; mcd refuses them.
TEST_F(McdOnlyTest, KeyWithControlCharacterIsRejected) {
  const std::string bad_format = "CLIENT_ERROR bad command line format\r\n";
  EXPECT_TRUE(c_->Expect(std::string("set a\x01z 0 0 1\r\nx\r\n"), bad_format + "ERROR\r\n"));
  EXPECT_TRUE(c_->Expect(std::string("get a\x7fz\r\n"), bad_format));
  EXPECT_TRUE(c_->Expect("version\r\n", "VERSION "));
}

// MCD-ONLY: the version names mcd after memcached's version ("1.6.18-mcd-<version>").
TEST_F(McdOnlyTest, VersionHasMcdSuffix) {
  std::string v = c_->Version();
  EXPECT_EQ(v.rfind("VERSION 1.6.18-mcd-", 0), 0u) << v;
  auto stats = c_->Stats();
  EXPECT_EQ(stats["version"], v.substr(8));
}

// MCD-ONLY: `stats mcd` holds mcd's own figures (memcached answers ERROR): its version, the
// connections turned away over -c (counted even when no_maxconns_fast hides the line from
// `stats`), and how many prefixes `stats detail` holds.
TEST_F(McdOnlyTest, StatsMcdSubcommand) {
  std::string reply = c_->Call("stats mcd\r\n");
  std::string v = c_->Version();
  EXPECT_EQ(reply, "STAT version " + v.substr(v.find("-mcd-") + 5) +
                       "\r\nSTAT rejected_connections 0\r\nSTAT detail_prefixes 0\r\nEND\r\n");
  EXPECT_TRUE(c_->Expect("stats detail on\r\n", "OK\r\n"));
  EXPECT_TRUE(c_->Expect("set a:1 0 0 1\r\nx\r\nget b:1 c\r\n", "STORED\r\nEND\r\n"));
  EXPECT_EQ(c_->Stats("mcd")["detail_prefixes"], "2");
  EXPECT_TRUE(c_->Expect("stats reset\r\n", "RESET\r\n"));
  EXPECT_EQ(c_->Stats("mcd")["detail_prefixes"], "0");
}

// MCD-ONLY: with no_maxconns_fast memcached makes a client over -c wait and hides
// rejected_connections; mcd still turns it away at once (docs/compatibility.md C10) and hides the
// line from `stats` as memcached does, so the count is in `stats mcd`.
TEST_F(McdOnlyTest, RejectedConnectionsInStatsMcdWithoutMaxconnsFast) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-c", "2", "-o", "no_maxconns_fast"}));
  Client a(server.port());
  // Wait until the harness's readiness probe and ServerIsMcd's client are gone.
  ASSERT_TRUE(PollUntil([&] { return a.Stats()["curr_connections"] == "1"; }, Duration(3000)));
  Client b(server.port());
  ASSERT_TRUE(b.Expect("version\r\n", "VERSION "));
  Client over(server.port());
  EXPECT_TRUE(over.Expect("", "ERROR Too many open connections\r\n"));
  EXPECT_EQ(a.Stats().count("rejected_connections"), 0u);
  EXPECT_EQ(a.Stats("mcd")["rejected_connections"], "1");
}

}  // namespace
}  // namespace mcd::testing
