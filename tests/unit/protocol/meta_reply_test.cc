// Tests of the meta reply encoder. Expected lines are replies observed from memcached 1.6.45 for
// the request shown, with the values that server had (cas numbers, sizes, TTLs).
#include "mcd/protocol/meta_reply.h"

#include <gtest/gtest.h>

#include <string>

#include "mcd/protocol/meta.h"
#include "mcd/protocol/wire.h"
#include "mcd/util/out_buf.h"

namespace mcd::protocol {
namespace {

using C = MetaCode;

MetaCommand Parse(std::string_view line) {
  MetaCommand cmd;
  size_t used = 0;
  const MetaParseResult r = ParseMetaCommand(line, &used, &cmd);
  EXPECT_EQ(r.status, ParseStatus::kOk) << line;
  return cmd;
}

std::string Encode(std::string_view line, const MetaReplyValues& v) {
  const MetaCommand cmd = Parse(line);
  std::string buf(kMetaReplyMax, '\0');
  buf.resize(EncodeMetaReply(cmd, v, buf.data()));
  return buf;
}

TEST(MetaReplyTest, GetHitFlagsInRequestOrder) {
  // memcached 1.6.45: "mg hl h l f s t c k O9 v q u" on a 3-byte item with flags 7, no TTL.
  EXPECT_EQ(Encode("mg hl h l f s t c k O9 v q u\r\n",
                   {.code = C::kVa, .value_length = 3, .client_flags = 7, .cas = 381, .size = 3}),
            "VA 3 h0 l0 f7 s3 t-1 c381 khl O9\r\n");
  EXPECT_EQ(Encode("mg hl s v k h\r\n",
                   {.code = C::kVa, .value_length = 3, .size = 3, .hit_before = true}),
            "VA 3 s3 khl h1\r\n");
  EXPECT_EQ(Encode("mg hl h l\r\n", {.code = C::kHd, .last_access = 12}), "HD h0 l12\r\n");
  EXPECT_EQ(
      Encode("mg foo f v\r\n", {.code = C::kVa, .value_length = 2, .client_flags = 4294967295}),
      "VA 2 f4294967295\r\n");
  // Flags with nothing to return are not echoed.
  EXPECT_EQ(Encode("mg foo q u T30 N30 R30 E5 x I\r\n", {.code = C::kHd}), "HD\r\n");
}

TEST(MetaReplyTest, GetWinStaleAndTokenSentComeLast) {
  // memcached 1.6.45: "mg cnt v c t" after "md cnt q I T30", then again.
  EXPECT_EQ(
      Encode("mg cnt v c t\r\n",
             {.code = C::kVa, .value_length = 1, .cas = 23, .ttl = 30, .stale = true, .won = true}),
      "VA 1 c23 t30 X W\r\n");
  EXPECT_EQ(Encode("mg cnt v c t\r\n", {.code = C::kVa,
                                        .value_length = 1,
                                        .cas = 23,
                                        .ttl = 30,
                                        .win_sent = true,
                                        .stale = true}),
            "VA 1 c23 t30 Z X\r\n");
  // "mg nv t N30 s" on a miss: the vivified item; t before N sees no TTL yet.
  EXPECT_EQ(Encode("mg nv t N30 s\r\n", {.code = C::kHd, .size = 0, .won = true}),
            "HD t-1 s0 W\r\n");
}

TEST(MetaReplyTest, TtlIsWrittenModulo32Bits) {
  // memcached 1.6.45: "mg tt T-1 t" writes the already-passed expiry as an unsigned number.
  EXPECT_EQ(Encode("mg tt T-1 t\r\n", {.code = C::kHd, .ttl = -313}), "HD t4294966983\r\n");
  EXPECT_EQ(Encode("mg tt t\r\n", {.code = C::kHd, .ttl = -1}), "HD t4294967295\r\n");
  EXPECT_EQ(Encode("mg tt t\r\n", {.code = C::kHd}), "HD t-1\r\n");
  EXPECT_EQ(Encode("mg tt t\r\n", {.code = C::kHd, .ttl = 200}), "HD t200\r\n");
}

TEST(MetaReplyTest, GetMissWritesOnlyOpaqueAndKey) {
  // memcached 1.6.45: "mg miss2 k O1 v s t c f".
  EXPECT_EQ(Encode("mg miss2 k O1 v s t c f\r\n", {.code = C::kEn, .cas = 5, .won = true}),
            "EN kmiss2 O1\r\n");
  EXPECT_EQ(Encode("mg miss\r\n", {.code = C::kEn}), "EN\r\n");
}

TEST(MetaReplyTest, BinaryKeys) {
  // memcached 1.6.45: a miss answers with the request's decoded key, re-encoded.
  EXPECT_EQ(Encode("mg Zm9vZm9v b k O1\r\n", {.code = C::kEn}), "EN kZm9vZm9v b O1\r\n");
  EXPECT_EQ(Encode("mg Zm!9v b k\r\n", {.code = C::kEn}), "EN kZm9v b\r\n");
  EXPECT_EQ(Encode("mg Zm9= b k\r\n", {.code = C::kEn}), "EN kZm8= b\r\n");
  // A hit answers from the item: "mg foo k v" on an item stored with "ms Zm9v 2 b".
  EXPECT_EQ(Encode("mg foo k v\r\n", {.code = C::kVa, .value_length = 2, .item_key_binary = true}),
            "VA 2 kZm9v b\r\n");
  EXPECT_EQ(Encode("mg Zm9v b k O1 q\r\n", {.code = C::kHd, .item_key_binary = true}),
            "HD kZm9v b O1\r\n");
  // ... and an item stored without b comes back raw even when fetched with b.
  EXPECT_EQ(Encode("mg Zm9v b k\r\n", {.code = C::kHd, .item_key_binary = false}), "HD kfoo\r\n");
  EXPECT_EQ(Encode("md Zm9vZm9v b k O1\r\n", {.code = C::kNf}), "NF kZm9vZm9v b O1\r\n");
  EXPECT_EQ(Encode("ma Zm9vZm9v b k O1\r\n", {.code = C::kNf}), "NF kZm9vZm9v b O1\r\n");
}

TEST(MetaReplyTest, Set) {
  // memcached 1.6.45: "ms Zm9v 2 c s k O123 b".
  EXPECT_EQ(Encode("ms Zm9v 2 c s k O123 b\r\n", {.code = C::kHd, .cas = 2, .size = 2}),
            "HD c2 s2 kZm9v b O123\r\n");
  // "ms hl 3 MA c s" (append to 3 bytes), then NS and EX: cas 0, size of the new data.
  EXPECT_EQ(Encode("ms hl 3 MA c s\r\n", {.code = C::kHd, .cas = 382, .size = 6}),
            "HD c382 s6\r\n");
  EXPECT_EQ(Encode("ms hlnone 3 MA c s k\r\n", {.code = C::kNs, .size = 3}),
            "NS c0 s3 khlnone\r\n");
  EXPECT_EQ(Encode("ms hl 3 C1 c s\r\n", {.code = C::kEx, .size = 3}), "EX c0 s3\r\n");
  EXPECT_EQ(Encode("ms hl 3 C1 f t h l v\r\n", {.code = C::kNf, .client_flags = 3, .ttl = 5}),
            "NF\r\n");
  EXPECT_EQ(
      Encode("ms foo 2 " + std::string("O") + std::string(31, '1') + "\r\n", {.code = C::kHd}),
      "HD O" + std::string(31, '1') + "\r\n");
}

TEST(MetaReplyTest, Delete) {
  EXPECT_EQ(Encode("md foo\r\n", {.code = C::kHd}), "HD\r\n");
  EXPECT_EQ(Encode("md foo k O5 c t s q I\r\n", {.code = C::kEx, .cas = 9, .size = 3}),
            "EX kfoo O5\r\n");
  EXPECT_EQ(Encode("md foo O5 k\r\n", {.code = C::kNs}), "NS O5 kfoo\r\n");
}

TEST(MetaReplyTest, Arithmetic) {
  // memcached 1.6.45: "ma foo N0 J5 v t c k O9 M+" on a miss, then M- on the result.
  EXPECT_EQ(Encode("ma foo N0 J5 v t c k O9 M+\r\n", {.code = C::kVa, .number = "5", .cas = 9}),
            "VA 1 t-1 c9 kfoo O9\r\n5\r\n");
  EXPECT_EQ(Encode("ma foo N0 J5 v t c k O9 M-\r\n", {.code = C::kVa, .number = "4", .cas = 10}),
            "VA 1 t-1 c10 kfoo O9\r\n4\r\n");
  EXPECT_EQ(Encode("ma nv3 N30 t T40 v\r\n", {.code = C::kVa, .number = "0", .ttl = 30}),
            "VA 1 t30\r\n0\r\n");
  EXPECT_EQ(Encode("ma cnt c s f\r\n", {.code = C::kHd, .cas = 3, .size = 1}), "HD c3\r\n");
  EXPECT_EQ(Encode("ma cnt c t k\r\n", {.code = C::kNf, .cas = 3}), "NF kcnt\r\n");
  EXPECT_EQ(Encode("ma cnt C1 q\r\n", {.code = C::kEx}), "EX\r\n");
  EXPECT_EQ(Encode("ma cnt v\r\n", {.code = C::kVa, .number = "18446744073709551615"}),
            "VA 20\r\n18446744073709551615\r\n");
}

TEST(MetaReplyTest, QuietSuppresses) {
  struct Q {
    const char* line;
    MetaCode code;
    bool suppressed;
  };
  const Q cases[] = {
      {"mg k q\r\n", C::kEn, true},    {"mg k q\r\n", C::kHd, false},
      {"mg k q v\r\n", C::kVa, false}, {"mg k\r\n", C::kEn, false},
      {"ms k 1 q\r\n", C::kHd, true},  {"ms k 1 q\r\n", C::kNs, false},
      {"ms k 1 q\r\n", C::kEx, false}, {"ms k 1 q\r\n", C::kNf, false},
      {"ms k 1\r\n", C::kHd, false},   {"md k q\r\n", C::kHd, true},
      {"md k q\r\n", C::kNf, false},   {"md k q\r\n", C::kEx, false},
      {"md k q\r\n", C::kNs, false},   {"ma k q\r\n", C::kHd, true},
      {"ma k q v\r\n", C::kVa, true},  {"ma k q\r\n", C::kNf, false},
      {"ma k q\r\n", C::kEx, false},   {"ma k q\r\n", C::kNs, false},
      {"me k q x\r\n", C::kEn, false}, {"mn q\r\n", C::kHd, false},
  };
  for (const Q& q : cases) {
    EXPECT_EQ(MetaReplySuppressed(Parse(q.line), q.code), q.suppressed)
        << q.line << " code " << static_cast<int>(q.code);
  }
}

TEST(MetaReplyTest, Debug) {
  // memcached 1.6.45: "me foo" on an item stored with "ms Zm9v 2 b T0".
  char buf[kMetaReplyMax];
  MetaDebugValues v{
      .key = "foo", .key_binary = true, .exp = -1, .cas = 14, .class_id = 1, .total_size = 64};
  EXPECT_EQ(std::string(buf, EncodeMetaDebug(v, buf)),
            "ME Zm9v exp=-1 la=0 cas=14 fetch=no cls=1 size=64\r\n");
  v = {.key = "foo",
       .exp = 90,
       .last_access = 3,
       .cas = 7,
       .fetched = true,
       .class_id = 12,
       .total_size = 1000};
  EXPECT_EQ(std::string(buf, EncodeMetaDebug(v, buf)),
            "ME foo exp=90 la=3 cas=7 fetch=yes cls=12 size=1000\r\n");
}

TEST(MetaReplyTest, AppendToOutBuf) {
  OutBuf out;
  AppendMetaReply(Parse("mg foo s v\r\n"), {.code = C::kVa, .value_length = 2, .size = 2}, &out);
  out.Append("hi\r\n");
  AppendMetaDebug({.key = "foo", .class_id = 1, .total_size = 60}, &out);
  out.Append(wire::kMetaMn);
  EXPECT_EQ(out.ToString(),
            "VA 2 s2\r\nhi\r\nME foo exp=-1 la=0 cas=0 fetch=no cls=1 size=60\r\nMN\r\n");
}

// The longest line: 18 flags with values, a 250-byte key returned in base64, a 32-byte opaque.
TEST(MetaReplyTest, LongestLineFits) {
  const std::string key(250, '\xff');
  const std::string line =
      "mg " + key + " s t c f l h k O" + std::string(31, 'o') + " v q u x I P L E1 N1 R1\r\n";
  const MetaCommand cmd = Parse(line);
  ASSERT_EQ(cmd.num_flags, 18);
  MetaReplyValues v{.code = C::kVa,
                    .value_length = UINT32_MAX,
                    .item_key_binary = true,
                    .client_flags = UINT64_MAX,
                    .cas = UINT64_MAX,
                    .ttl = -1,
                    .size = UINT32_MAX,
                    .last_access = UINT32_MAX,
                    .hit_before = true,
                    .win_sent = true,
                    .stale = true,
                    .won = true};
  std::string buf(kMetaReplyMax, '\0');
  const size_t n = EncodeMetaReply(cmd, v, buf.data());
  EXPECT_LT(n, kMetaReplyMax);
  EXPECT_EQ(buf.substr(0, 14), "VA 4294967295 ");
  EXPECT_EQ(buf.substr(n - 8, 8), " Z X W\r\n");
}

}  // namespace
}  // namespace mcd::protocol
