// Binary codec tests: framing at every split point, the lengths memcached refuses, header round
// trips and the response encoders, byte for byte.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mcd/protocol/binary.h"

namespace mcd::protocol::binary {
namespace {

uint8_t Op(Opcode o) { return static_cast<uint8_t>(o); }

std::string Extras(std::initializer_list<uint32_t> words) {
  std::string s;
  for (uint32_t w : words) {
    char b[4];
    StoreBe32(w, b);
    s.append(b, 4);
  }
  return s;
}

struct Case {
  std::string name;
  std::string wire;
  size_t frame;  // header + extras + key
  uint32_t value_length;
};

std::vector<Case> Requests() {
  return {
      {"get", EncodeRequest(Op(Opcode::kGet), {}, "foo", {}), 27, 0},
      {"set", EncodeRequest(Op(Opcode::kSet), Extras({5, 0}), "k", "hello", 9, 77), 33, 5},
      {"incr", EncodeRequest(Op(Opcode::kIncrement), std::string(20, '\0'), "n", {}), 45, 0},
      {"noop", EncodeRequest(Op(Opcode::kNoop), {}, {}, {}), 24, 0},
      {"append", EncodeRequest(Op(Opcode::kAppend), {}, "key", std::string(70000, 'v')), 27, 70000},
      {"stat", EncodeRequest(Op(Opcode::kStat), {}, "settings", {}), 32, 0},
      {"long key", EncodeRequest(Op(Opcode::kGet), {}, std::string(1000, 'k'), {}), 1024, 0},
  };
}

TEST(BinaryCodecTest, FramesEveryRequestAtEverySplitPoint) {
  for (const Case& c : Requests()) {
    for (size_t n = 0; n <= c.wire.size(); ++n) {
      Request r;
      size_t used = 99;
      const DecodeStatus st = DecodeRequest(std::string_view(c.wire).substr(0, n), &used, &r);
      if (n < c.frame) {
        EXPECT_EQ(st, DecodeStatus::kNeedMore) << c.name << " at " << n;
        EXPECT_EQ(used, 0u) << c.name << " at " << n;
        continue;
      }
      ASSERT_EQ(st, DecodeStatus::kOk) << c.name << " at " << n;
      EXPECT_EQ(used, c.frame) << c.name;
      EXPECT_EQ(r.value_length, c.value_length) << c.name;
      EXPECT_EQ(r.key.size(), r.header.key_length) << c.name;
      EXPECT_EQ(r.extras.size(), r.header.extras_length) << c.name;
      EXPECT_EQ(r.key.data(), c.wire.data() + kHeaderSize + r.header.extras_length) << c.name;
    }
  }
}

TEST(BinaryCodecTest, DecodesHeaderFields) {
  const std::string w = EncodeRequest(Op(Opcode::kSetQ), Extras({0xdeadbeef, 300}), "key", "value",
                                      0x01020304, 0x1122334455667788ULL);
  Request r;
  size_t used = 0;
  ASSERT_EQ(DecodeRequest(w, &used, &r), DecodeStatus::kOk);
  EXPECT_EQ(r.header.magic, kRequestMagic);
  EXPECT_EQ(r.header.opcode, Op(Opcode::kSetQ));
  EXPECT_EQ(r.header.key_length, 3);
  EXPECT_EQ(r.header.extras_length, 8);
  EXPECT_EQ(r.header.body_length, 16u);
  EXPECT_EQ(r.header.opaque, 0x01020304u);
  EXPECT_EQ(r.header.cas, 0x1122334455667788ULL);
  EXPECT_EQ(r.key, "key");
  EXPECT_EQ(LoadBe32(r.extras.data()), 0xdeadbeefu);
  EXPECT_EQ(LoadBe32(r.extras.data() + 4), 300u);
  EXPECT_EQ(used, 35u);
  EXPECT_EQ(r.value_length, 5u);
}

TEST(BinaryCodecTest, BadMagicOnceTheHeaderIsIn) {
  std::string w = EncodeRequest(Op(Opcode::kGet), {}, "k", {});
  w[0] = 'g';
  Request r;
  size_t used = 0;
  EXPECT_EQ(DecodeRequest(std::string_view(w).substr(0, 23), &used, &r), DecodeStatus::kNeedMore);
  EXPECT_EQ(DecodeRequest(w, &used, &r), DecodeStatus::kBadMagic);
  EXPECT_EQ(used, 0u);
  w[0] = static_cast<char>(kResponseMagic);
  EXPECT_EQ(DecodeRequest(w, &used, &r), DecodeStatus::kBadMagic);
}

TEST(BinaryCodecTest, KeyAndExtrasLongerThanTheBody) {
  std::string w = EncodeRequest(Op(Opcode::kGet), "ex", "key", {});
  StoreBe32(4, w.data() + 8);  // body 4 < extras 2 + key 3
  Request r;
  size_t used = 0;
  EXPECT_EQ(DecodeRequest(std::string_view(w).substr(0, 28), &used, &r), DecodeStatus::kNeedMore);
  EXPECT_EQ(DecodeRequest(w, &used, &r), DecodeStatus::kBadLengths);
  EXPECT_EQ(used, 29u);
  EXPECT_EQ(r.header.opcode, Op(Opcode::kGet));
}

TEST(BinaryCodecTest, BodyOverTheLimit) {
  std::string w = EncodeRequest(Op(Opcode::kSet), Extras({0, 0}), "k", {});
  StoreBe32(kMaxBodyLength + 1, w.data() + 8);
  Request r;
  size_t used = 0;
  EXPECT_EQ(DecodeRequest(w, &used, &r), DecodeStatus::kBodyTooLong);
  StoreBe32(kMaxBodyLength, w.data() + 8);
  EXPECT_EQ(DecodeRequest(w, &used, &r), DecodeStatus::kOk);
  EXPECT_EQ(r.value_length, kMaxBodyLength - 9);
}

TEST(BinaryCodecTest, ResponseHeaderRoundTrip) {
  ResponseHeader h;
  h.opcode = Op(Opcode::kGetK);
  h.status = Status::kKeyNotFound;
  h.key_length = 3;
  h.extras_length = 4;
  h.body_length = 12;
  h.opaque = 0xfeedface;
  h.cas = 42;
  char b[kHeaderSize];
  EncodeResponseHeader(h, b);
  EXPECT_EQ(static_cast<uint8_t>(b[0]), kResponseMagic);
  EXPECT_EQ(b[5], 0);  // raw bytes
  ResponseHeader back;
  ASSERT_TRUE(DecodeResponseHeader(std::string_view(b, kHeaderSize), &back));
  EXPECT_EQ(back.opcode, h.opcode);
  EXPECT_EQ(back.status, h.status);
  EXPECT_EQ(back.key_length, h.key_length);
  EXPECT_EQ(back.extras_length, h.extras_length);
  EXPECT_EQ(back.body_length, h.body_length);
  EXPECT_EQ(back.opaque, h.opaque);
  EXPECT_EQ(back.cas, h.cas);
  EXPECT_FALSE(DecodeResponseHeader(std::string_view(b, kHeaderSize - 1), &back));
}

TEST(BinaryCodecTest, ErrorResponsesCarryMemcachedsText) {
  OutBuf out;
  AppendError(&out, Op(Opcode::kIncrement), Status::kDeltaBadValue, 9);
  const std::string s = out.ToString();
  const std::string text = "Non-numeric server-side value for incr or decr";
  ASSERT_EQ(s.size(), kHeaderSize + text.size());
  const std::string expected_head(
      "\x81\x05\x00\x00\x00\x00\x00\x06\x00\x00\x00\x2e\x00\x00\x00\x09"
      "\x00\x00\x00\x00\x00\x00\x00\x00",
      24);
  EXPECT_EQ(s.substr(0, 24), expected_head);
  EXPECT_EQ(s.substr(24), text);
  EXPECT_EQ(StatusText(Status::kKeyNotFound), "Not found");
  EXPECT_EQ(StatusText(Status::kKeyExists), "Data exists for key.");
  EXPECT_EQ(StatusText(Status::kTooLarge), "Too large.");
  EXPECT_EQ(StatusText(Status::kInvalidArguments), "Invalid arguments");
  EXPECT_EQ(StatusText(Status::kNotStored), "Not stored.");
  EXPECT_EQ(StatusText(Status::kUnknownCommand), "Unknown command");
  EXPECT_EQ(StatusText(Status::kOutOfMemory), "Out of memory");
  EXPECT_EQ(StatusText(Status::kAuthError), "Auth failure.");
}

TEST(BinaryCodecTest, ResponseHeadCountsAValueQueuedAfterIt) {
  OutBuf out;
  AppendResponseHead(&out, Op(Opcode::kGetK), Status::kSuccess, 1, 5, "FLAG", "key", 1000);
  const std::string s = out.ToString();
  ASSERT_EQ(s.size(), kHeaderSize + 4 + 3);
  ResponseHeader h;
  ASSERT_TRUE(DecodeResponseHeader(s, &h));
  EXPECT_EQ(h.body_length, 1007u);
  EXPECT_EQ(h.key_length, 3);
  EXPECT_EQ(h.extras_length, 4);
  EXPECT_EQ(h.cas, 5u);
  EXPECT_EQ(s.substr(24), "FLAGkey");
}

TEST(BinaryCodecTest, RequestRoundTrip) {
  for (const Case& c : Requests()) {
    Request r;
    size_t used = 0;
    ASSERT_EQ(DecodeRequest(c.wire, &used, &r), DecodeStatus::kOk);
    const std::string again =
        EncodeRequest(r.header.opcode, r.extras, r.key, std::string_view(c.wire).substr(used),
                      r.header.opaque, r.header.cas);
    EXPECT_EQ(again, c.wire) << c.name;
  }
}

}  // namespace
}  // namespace mcd::protocol::binary
