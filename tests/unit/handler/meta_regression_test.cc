// Regression tests for meta-command bugs found by fuzz_session_model (tests/fuzz), each checked
// against memcached 1.6.45.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "handler_test_base.h"
#include "mcd/handler/session.h"
#include "mcd/storage/cache.h"

namespace mcd::handler {
namespace {

class MetaRegression : public HandlerTestBase {
 protected:
  // Runs `input` on one session, all at once; returns everything replied.
  std::string Run(std::string_view input) {
    Session s(&ctx_, registry_.Thread(0), 7);
    return Feed(s, input);
  }
};

// `me` only looks: it must not take a stale item's win token (mcd answered `Z X` to the next mg).
TEST_F(MetaRegression, MeDoesNotTakeTheWinToken) {
  EXPECT_EQ(Run("ms s 1\r\nx\r\nmd s I\r\n"), "HD\r\nHD\r\n");
  EXPECT_EQ(Run("me s\r\n").substr(0, 14), "ME s exp=-1 la");
  EXPECT_EQ(Run("mg s v\r\n"), "VA 1 X W\r\nx\r\n");
}

// incr and ma refresh the access time but do not mark the item fetched (mcd said fetch=yes, h1).
TEST_F(MetaRegression, DeltaDoesNotMarkFetched) {
  EXPECT_EQ(Run("set a 0 0 1\r\n5\r\nincr a 1\r\nma a\r\nmg a h\r\n"),
            "STORED\r\n6\r\nHD\r\nHD h0\r\n");
}

// A failed add (classic or ms ME) does not mark the existing item fetched.
TEST_F(MetaRegression, FailedAddDoesNotMarkFetched) {
  EXPECT_EQ(Run("set d 0 0 1\r\n5\r\nadd d 0 0 1\r\n6\r\nms d 1 ME\r\n7\r\nmg d h\r\n"),
            "STORED\r\nNOT_STORED\r\nNS\r\nHD h0\r\n");
}

// mg with T and N on a miss: memcached applies them in request order, so the later one sets the
// TTL (`mg k N30 T100 t` -> t100, and the item keeps 100). mcd always applies N last.
TEST_F(MetaRegression, MgTAfterNWins) {
  EXPECT_EQ(Run("mg z N30 T100 t\r\nmg z t\r\nmg y T100 N30 t\r\nmg y t\r\n"),
            "HD t100 W\r\nHD t100 Z\r\nHD t30 W\r\nHD t30 Z\r\n");
}

// The same for ma creating a counter: the later of T and N sets its TTL.
TEST_F(MetaRegression, MaTAfterNWins) {
  EXPECT_EQ(Run("ma z N30 T100 t v\r\nmg z t\r\nma y T100 N30 t v\r\nmg y t\r\n"),
            "VA 1 t100\r\n0\r\nHD t100\r\nVA 1 t30\r\n0\r\nHD t30\r\n");
}

// mgdump writes a binary key in base64 followed by " b" (memcached 1.6.45 crawler.c); mcd writes
// the raw key bytes.
TEST_F(MetaRegression, MgdumpWritesBinaryKeysInBase64) {
  EXPECT_EQ(Run("ms Zm9v 2 b\r\nhi\r\n"), "HD\r\n");
  EXPECT_EQ(Run("lru_crawler mgdump hash\r\n"), "OK\r\nmg Zm9v b\r\nEN\r\n");
}

// A chunked item (value above half a page) stored with a client cas (E) in the same second as
// an immediate flush_all must live: the flush came first. mcd flushed such items by access time
// (Cache::Impl::IsDead), so it was gone at once; it now keeps the flush epoch in its first data
// chunk's header.
TEST_F(MetaRegression, ChunkedClientCasItemStoredAfterFlushInSameSecondLives) {
  const std::string big(600 * 1024, 'v');  // chunked with the default 1 MB pages
  EXPECT_EQ(Run("flush_all\r\nms k " + std::to_string(big.size()) + " E77\r\n" + big +
                "\r\nmg k c s\r\n"),
            "OK\r\nHD\r\nHD c77 s614400\r\n");
}

// The other side of the same rule: stored before the flush in the same second, it is dead; and a
// second client-cas chunked item stored after the flush lives beside it.
TEST_F(MetaRegression, ChunkedClientCasItemStoredBeforeFlushInSameSecondDies) {
  const std::string big(600 * 1024, 'v');
  const std::string len = std::to_string(big.size());
  EXPECT_EQ(Run("ms k " + len + " E77\r\n" + big + "\r\nflush_all\r\nmg k c\r\nms j " + len +
                " E78\r\n" + big + "\r\nmg j c\r\n"),
            "HD\r\nOK\r\nEN\r\nHD\r\nHD c78\r\n");
}

}  // namespace
}  // namespace mcd::handler
