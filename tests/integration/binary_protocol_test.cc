// memcached's binary protocol over real TCP: every opcode, the quiet variants, the errors with
// memcached's texts, CAS, -B auto|ascii|binary, and text and binary clients side by side. The
// expected bytes were taken from memcached 1.6.45 (MCD_TEST_BINARY runs them against it).
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "server_process.h"

namespace mcd::testing {
namespace {

enum Op : uint8_t {
  kGet = 0x00,
  kSet = 0x01,
  kAdd = 0x02,
  kReplace = 0x03,
  kDelete = 0x04,
  kIncr = 0x05,
  kDecr = 0x06,
  kQuit = 0x07,
  kFlush = 0x08,
  kGetQ = 0x09,
  kNoop = 0x0a,
  kVersion = 0x0b,
  kGetK = 0x0c,
  kGetKQ = 0x0d,
  kAppend = 0x0e,
  kPrepend = 0x0f,
  kStat = 0x10,
  kSetQ = 0x11,
  kAddQ = 0x12,
  kDeleteQ = 0x14,
  kIncrQ = 0x15,
  kQuitQ = 0x17,
  kFlushQ = 0x18,
  kVerbosity = 0x1b,
  kTouch = 0x1c,
  kGat = 0x1d,
  kGatQ = 0x1e,
  kSaslList = 0x20,
  kSaslAuth = 0x21,
  kGatK = 0x23,
};

std::string Be(uint64_t v, int bytes) {
  std::string s(bytes, '\0');
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) s[i] = static_cast<char>(v & 0xff);
  return s;
}

uint64_t FromBe(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

std::string Req(uint8_t op, std::string_view key = {}, std::string_view extras = {},
                std::string_view value = {}, uint32_t opaque = 0, uint64_t cas = 0) {
  std::string s;
  s += '\x80';
  s += static_cast<char>(op);
  s += Be(key.size(), 2);
  s += static_cast<char>(extras.size());
  s += std::string(3, '\0');
  s += Be(extras.size() + key.size() + value.size(), 4);
  s += Be(opaque, 4);
  s += Be(cas, 8);
  s.append(extras).append(key).append(value);
  return s;
}

std::string SetExtras(uint32_t flags, uint32_t exptime) { return Be(flags, 4) + Be(exptime, 4); }
std::string IncrExtras(uint64_t delta, uint64_t initial, uint32_t exptime) {
  return Be(delta, 8) + Be(initial, 8) + Be(exptime, 4);
}

struct Resp {
  uint8_t op = 0;
  uint16_t status = 0xffff;
  uint32_t opaque = 0;
  uint64_t cas = 0;
  std::string extras, key, value;
};

// Reads one response; status 0xffff when the connection closed first.
Resp Read(Client& c) {
  Resp r;
  const std::string h = c.ReadExactly(24);
  if (h.size() < 24) return r;
  EXPECT_EQ(static_cast<uint8_t>(h[0]), 0x81);
  r.op = static_cast<uint8_t>(h[1]);
  const size_t keylen = FromBe(h.substr(2, 2));
  const size_t extlen = static_cast<uint8_t>(h[4]);
  r.status = static_cast<uint16_t>(FromBe(h.substr(6, 2)));
  const size_t body = FromBe(h.substr(8, 4));
  r.opaque = static_cast<uint32_t>(FromBe(h.substr(12, 4)));
  r.cas = FromBe(h.substr(16, 8));
  const std::string b = c.ReadExactly(body);
  EXPECT_EQ(b.size(), body);
  r.extras = b.substr(0, extlen);
  r.key = b.substr(extlen, keylen);
  r.value = b.substr(std::min(b.size(), extlen + keylen));
  return r;
}

Resp Call(Client& c, const std::string& req) {
  EXPECT_TRUE(c.Send(req));
  return Read(c);
}

// All packets of a stat reply, up to the empty one that ends it.
std::map<std::string, std::string> Stats(Client& c, std::string_view group = {}) {
  EXPECT_TRUE(c.Send(Req(kStat, group)));
  std::map<std::string, std::string> m;
  for (int i = 0; i < 10000; ++i) {
    Resp r = Read(c);
    if (r.status != 0 || r.key.empty()) break;
    m[r.key] = r.value;
  }
  return m;
}

class BinaryProtocolTest : public SharedServerTest {
 protected:
  std::unique_ptr<Client> Bin() {
    auto c = NewClient();
    EXPECT_TRUE(c->Connected());
    return c;
  }
};

TEST_F(BinaryProtocolTest, SetGetDeleteAndTheirMisses) {
  auto c = Bin();
  Resp r = Call(*c, Req(kSet, "k", SetExtras(5, 0), "hello", 7));
  EXPECT_EQ(r.op, kSet);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.opaque, 7u);
  EXPECT_NE(r.cas, 0u);
  const uint64_t cas = r.cas;
  r = Call(*c, Req(kGet, "k", {}, {}, 8));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.opaque, 8u);
  EXPECT_EQ(r.cas, cas);
  EXPECT_EQ(r.extras, Be(5, 4));
  EXPECT_EQ(r.key, "");
  EXPECT_EQ(r.value, "hello");
  r = Call(*c, Req(kGetK, "k"));
  EXPECT_EQ(r.key, "k");
  EXPECT_EQ(r.value, "hello");
  r = Call(*c, Req(kGet, "nokey"));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.value, "Not found");
  EXPECT_EQ(r.cas, 0u);
  r = Call(*c, Req(kGetK, "nokey"));  // getk's miss carries the key and no text
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.key, "nokey");
  EXPECT_EQ(r.value, "");
  EXPECT_EQ(Call(*c, Req(kDelete, "k")).status, 0);
  r = Call(*c, Req(kDelete, "k"));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.value, "Not found");
  r = Call(*c, Req(kVersion));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.value.rfind("1.6.", 0), 0u) << r.value;
}

TEST_F(BinaryProtocolTest, QuietVariantsAnswerOnlyErrorsAndHitsUntilNoop) {
  auto c = Bin();
  std::string batch = Req(kSetQ, "a", SetExtras(0, 0), "1") +
                      Req(kAddQ, "a", SetExtras(0, 0), "2") + Req(kGetQ, "missing") +
                      Req(kGetKQ, "a", {}, {}, 3) + Req(kDeleteQ, "gone") +
                      Req(kIncrQ, "a", IncrExtras(1, 0, 0)) + Req(kFlushQ, {}, {}, {}) +
                      Req(kGetQ, "a") + Req(kNoop, {}, {}, {}, 9);
  ASSERT_TRUE(c->Send(batch));
  Resp r = Read(*c);  // addq of an existing key: the error is sent
  EXPECT_EQ(r.op, kAddQ);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.value, "Data exists for key.");
  r = Read(*c);  // getkq hit
  EXPECT_EQ(r.op, kGetKQ);
  EXPECT_EQ(r.opaque, 3u);
  EXPECT_EQ(r.key, "a");
  EXPECT_EQ(r.value, "1");
  r = Read(*c);  // deleteq miss: errors are not quiet
  EXPECT_EQ(r.op, kDeleteQ);
  EXPECT_EQ(r.status, 1);
  r = Read(*c);  // incrq success, flushq and the getq miss after it are silent; noop ends it
  EXPECT_EQ(r.op, kNoop);
  EXPECT_EQ(r.opaque, 9u);
  EXPECT_EQ(r.status, 0);
}

TEST_F(BinaryProtocolTest, CasOnStoreAndDelete) {
  auto c = Bin();
  const uint64_t cas = Call(*c, Req(kSet, "c", SetExtras(0, 0), "v")).cas;
  Resp r = Call(*c, Req(kSet, "c", SetExtras(0, 0), "w", 0, cas + 1000));
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.value, "Data exists for key.");
  r = Call(*c, Req(kSet, "nothere", SetExtras(0, 0), "w", 0, 5));
  EXPECT_EQ(r.status, 1);
  r = Call(*c, Req(kAdd, "nothere", SetExtras(0, 0), "w", 0, 5));  // a cas makes add a cas
  EXPECT_EQ(r.status, 1);
  r = Call(*c, Req(kReplace, "c", SetExtras(0, 0), "x", 0, cas));
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.cas, cas);
  EXPECT_EQ(Call(*c, Req(kAppend, "c", {}, "y", 0, cas)).status, 2);
  EXPECT_EQ(Call(*c, Req(kDelete, "c", {}, {}, 0, cas)).status, 2);
  EXPECT_EQ(Call(*c, Req(kDelete, "c", {}, {}, 0, r.cas)).status, 0);
}

TEST_F(BinaryProtocolTest, IncrementDecrementWithInitialValue) {
  auto c = Bin();
  Resp r = Call(*c, Req(kIncr, "n", IncrExtras(1, 10, 0)));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(FromBe(r.value), 10u);  // created with the initial value
  EXPECT_NE(r.cas, 0u);
  EXPECT_EQ(FromBe(Call(*c, Req(kIncr, "n", IncrExtras(5, 10, 0))).value), 15u);
  EXPECT_EQ(FromBe(Call(*c, Req(kDecr, "n", IncrExtras(100, 10, 0))).value), 0u);
  r = Call(*c, Req(kIncr, "m", IncrExtras(1, 10, 0xffffffff)));  // no create
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.value, "Not found");
  Call(*c, Req(kSet, "s", SetExtras(0, 0), "abc"));
  r = Call(*c, Req(kIncr, "s", IncrExtras(1, 0, 0)));
  EXPECT_EQ(r.status, 6);
  EXPECT_EQ(r.value, "Non-numeric server-side value for incr or decr");
  EXPECT_EQ(Call(*c, Req(kIncr, "n", IncrExtras(1, 0, 0), {}, 0, 3)).status, 2);
}

TEST_F(BinaryProtocolTest, AppendPrependTouchGat) {
  auto c = Bin();
  Resp r = Call(*c, Req(kAppend, "q", {}, "x"));
  EXPECT_EQ(r.status, 5);
  EXPECT_EQ(r.value, "Not stored.");
  Call(*c, Req(kSet, "q", SetExtras(3, 0), "mid"));
  EXPECT_EQ(Call(*c, Req(kAppend, "q", {}, "end")).status, 0);
  EXPECT_EQ(Call(*c, Req(kPrepend, "q", {}, "beg")).status, 0);
  EXPECT_EQ(Call(*c, Req(kGet, "q")).value, "begmidend");
  r = Call(*c, Req(kTouch, "q", Be(100, 4)));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.extras, Be(3, 4));
  EXPECT_EQ(r.value, "");  // touch returns the flags only
  r = Call(*c, Req(kGat, "q", Be(100, 4)));
  EXPECT_EQ(r.value, "begmidend");
  r = Call(*c, Req(kGatK, "q", Be(100, 4)));
  EXPECT_EQ(r.key, "q");
  EXPECT_EQ(Call(*c, Req(kTouch, "nokey", Be(0, 4))).status, 1);
  ASSERT_TRUE(c->Send(Req(kGatQ, "nokey", Be(0, 4)) + Req(kNoop)));
  EXPECT_EQ(Read(*c).op, kNoop);
}

TEST_F(BinaryProtocolTest, ErrorsAsMemcachedSendsThem) {
  auto c = Bin();
  // Unknown opcodes (verbosity too, as in memcached 1.6) and SASL without -S.
  Resp r = Call(*c, Req(kSaslList));
  EXPECT_EQ(r.status, 0x81);
  EXPECT_EQ(r.value, "Unknown command");
  r = Call(*c, Req(kSaslAuth, "PLAIN", {}, "secret"));  // its value is swallowed
  EXPECT_EQ(r.status, 0x81);
  EXPECT_EQ(Call(*c, Req(kNoop)).status, 0);
  // A value over the item size limit: E2BIG, the value swallowed, the connection goes on.
  r = Call(*c, Req(kSet, "big", SetExtras(0, 0), std::string(2 << 20, 'x')));
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.value, "Too large.");
  EXPECT_EQ(Call(*c, Req(kNoop)).status, 0);
  // A malformed request: EINVAL, then the connection closes.
  r = Call(*c, Req(kGet, "k", "x"));
  EXPECT_EQ(r.status, 4);
  EXPECT_EQ(r.value, "Invalid arguments");
  EXPECT_TRUE(c->WaitForClose(Duration(5000)));
  // A key over 250 bytes.
  c = Bin();
  EXPECT_EQ(Call(*c, Req(kGet, std::string(251, 'k'))).status, 4);
  EXPECT_TRUE(c->WaitForClose(Duration(5000)));
  // A body shorter than its key: unknown command, then close.
  c = Bin();
  std::string bad = Req(kGet, "key");
  bad[11] = 1;
  EXPECT_EQ(Call(*c, bad).status, 0x81);
  EXPECT_TRUE(c->WaitForClose(Duration(5000)));
}

TEST_F(BinaryProtocolTest, QuitAnswersThenCloses) {
  auto c = Bin();
  Resp r = Call(*c, Req(kQuit));
  EXPECT_EQ(r.op, kQuit);
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(c->WaitForClose(Duration(5000)));
  c = Bin();
  ASSERT_TRUE(c->Send(Req(kQuitQ)));
  std::string trailing;
  EXPECT_TRUE(c->WaitForClose(Duration(5000), &trailing));
  EXPECT_EQ(trailing, "");
}

TEST_F(BinaryProtocolTest, LargeValuesBothWays) {
  auto c = Bin();
  std::string v(700 * 1024, '\0');
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>(i * 7 + 3);
  EXPECT_EQ(Call(*c, Req(kSet, "big", SetExtras(1, 0), v)).status, 0);
  EXPECT_EQ(Call(*c, Req(kGet, "big")).value, v);
  auto t = NewClient();  // and a text client sees the same value
  EXPECT_EQ(t->Call("get big\r\n"),
            "VALUE big 1 " + std::to_string(v.size()) + "\r\n" + v + "\r\nEND\r\n");
}

TEST_F(BinaryProtocolTest, TextAndBinaryConnectionsSideBySide) {
  auto b = Bin();
  auto t = NewClient();
  EXPECT_TRUE(t->Expect("set tk 9 0 2\r\nhi\r\n", "STORED\r\n"));
  Resp r = Call(*b, Req(kGet, "tk"));
  EXPECT_EQ(r.value, "hi");
  EXPECT_EQ(r.extras, Be(9, 4));
  Call(*b, Req(kSet, "bk", SetExtras(4, 0), "yo"));
  EXPECT_EQ(t->Call("get bk\r\n"), "VALUE bk 4 2\r\nyo\r\nEND\r\n");
  EXPECT_EQ(t->Call("mg bk v\r\n", "\r\n"), "VA 2\r\n");
  EXPECT_EQ(t->ReadLine(), "yo\r\n");
  EXPECT_EQ(Call(*b, Req(kNoop)).status, 0);
}

TEST_F(BinaryProtocolTest, StatGroups) {
  auto c = Bin();
  std::map<std::string, std::string> s = Stats(*c);
  EXPECT_TRUE(s.count("pid"));
  EXPECT_TRUE(s.count("cmd_get"));
  s = Stats(*c, "settings");
  EXPECT_EQ(s["binding_protocol"], "auto-negotiate");
  EXPECT_TRUE(Stats(*c, "slabs").count("active_slabs"));
  EXPECT_TRUE(Stats(*c, "sizes").count("sizes_status") || Stats(*c, "sizes").empty());
  Resp r = Call(*c, Req(kStat, "conns"));  // not a binary stat group in memcached
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.value, "Not found");
  r = Call(*c, Req(kStat, "reset"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.key, "");
  r = Call(*c, Req(kStat, "detail dump"));
  EXPECT_EQ(r.key, "detailed");
  EXPECT_EQ(Read(*c).key, "");
}

// One server per test: the counters start at zero.
class BinaryStatsTest : public ServerTest {};

TEST_F(BinaryStatsTest, BinaryCommandsCountAsMemcachedCountsThem) {
  auto c = NewClient();
  Call(*c, Req(kSet, "a", SetExtras(0, 0), "1"));
  Call(*c, Req(kGet, "a"));
  Call(*c, Req(kGet, "nope"));
  Call(*c, Req(kTouch, "a", Be(0, 4)));
  Call(*c, Req(kGat, "nope", Be(0, 4)));
  Call(*c, Req(kIncr, "a", IncrExtras(1, 0, 0xffffffff)));
  Call(*c, Req(kIncr, "z", IncrExtras(1, 0, 0xffffffff)));
  Call(*c, Req(kIncr, "y", IncrExtras(1, 0, 0)));  // created: neither hit nor miss
  Call(*c, Req(kDecr, "a", IncrExtras(1, 0, 0)));
  Call(*c, Req(kSet, "a", SetExtras(0, 0), "2", 0, 12345));  // cas mismatch
  Call(*c, Req(kSet, "q", SetExtras(0, 0), "2", 0, 12345));  // cas miss
  Call(*c, Req(kDelete, "a", {}, {}, 0, 12345));             // cas mismatch: counted nowhere
  Call(*c, Req(kDelete, "a"));
  Call(*c, Req(kDelete, "a"));
  Call(*c, Req(kFlush));
  std::map<std::string, std::string> s = c_->Stats();
  EXPECT_EQ(s["cmd_get"], "2");
  EXPECT_EQ(s["get_hits"], "1");
  EXPECT_EQ(s["get_misses"], "1");
  EXPECT_EQ(s["cmd_touch"], "2");
  EXPECT_EQ(s["touch_hits"], "1");
  EXPECT_EQ(s["touch_misses"], "1");
  EXPECT_EQ(s["incr_hits"], "1");
  EXPECT_EQ(s["incr_misses"], "1");
  EXPECT_EQ(s["decr_hits"], "1");
  EXPECT_EQ(s["cas_badval"], "1");
  EXPECT_EQ(s["cas_misses"], "1");
  EXPECT_EQ(s["delete_hits"], "1");
  EXPECT_EQ(s["delete_misses"], "1");
  EXPECT_EQ(s["cmd_set"], "3");
  EXPECT_EQ(s["cmd_flush"], "1");
}

class BinaryOnlyTest : public ServerTest {
 protected:
  std::vector<std::string> ServerArgs() const override { return {"-B", "binary"}; }
};

TEST_F(BinaryOnlyTest, TextClosesWithoutReplyAndBinaryWorks) {
  std::string trailing;
  ASSERT_TRUE(c_->Send("version\r\n" + std::string(16, ' ')));
  EXPECT_TRUE(c_->WaitForClose(Duration(5000), &trailing));
  EXPECT_EQ(trailing, "");
  auto b = NewClient();
  EXPECT_EQ(Call(*b, Req(kNoop)).status, 0);
  EXPECT_EQ(Stats(*b, "settings")["binding_protocol"], "binary");
}

class AsciiOnlyTest : public ServerTest {
 protected:
  std::vector<std::string> ServerArgs() const override { return {"-B", "ascii"}; }
};

TEST_F(AsciiOnlyTest, BinaryRequestsAreReadAsText) {
  // The noop's bytes, ended by a newline, are one unknown text command (as memcached 1.6.18,
  // the text reference, answers; 1.6.45 says CLIENT_ERROR bad command line format).
  EXPECT_EQ(c_->Call(Req(kNoop) + "\r\n", "\r\n"), "ERROR\r\n");
  EXPECT_EQ(c_->Stats("settings")["binding_protocol"], "ascii");
}

}  // namespace
}  // namespace mcd::testing
