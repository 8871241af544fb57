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

}  // namespace
}  // namespace mcd::testing
