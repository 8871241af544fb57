// Tests of the meta-protocol parser. Every case is also fed at every split point, as a connection
// would see it, through Drive(), a small model of the server's read loop (an ms data block, or
// the bytes a refused ms line swallows, are skipped).
//
// Cases marked "memcached 1.6.45" record replies observed on the wire from memcached 1.6.45
// (tests/tools/mcprobe.py), including the surprising ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "mcd/protocol/meta.h"
#include "mcd/protocol/wire.h"

namespace mcd::protocol {
namespace {

using E = MetaError;
using S = ParseStatus;
using T = MetaCommandType;

// What the parser produced for one line, with the views copied out. For errors only status,
// error and swallow are set.
struct Outcome {
  ParseStatus status = S::kOk;
  MetaError error = E::kNone;
  uint64_t swallow = 0;
  MetaCommandType type = T::kNoop;
  std::string wire_key{};
  std::string key{};  // the key acted on (decoded when binary)
  bool binary = false;
  std::string order{};  // flag letters in request order
  int32_t ttl = 0;
  int32_t vivify_ttl = 0;
  int32_t recache_ttl = 0;
  uint32_t client_flags = 0;
  uint64_t compare_cas = 0;
  uint64_t new_cas = 0;
  uint64_t delta = 1;
  uint64_t initial = 0;
  char mode = 0;
  std::string opaque{};
  uint32_t datalen = 0;

  bool operator==(const Outcome&) const = default;
};

std::string Esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u >= 0x7f) {
      out += "\\x" + std::to_string(u);
    } else {
      out += c;
    }
  }
  return out.size() > 120 ? out.substr(0, 120) + "..." : out;
}

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << "{status=" << static_cast<int>(o.status) << " error=" << static_cast<int>(o.error)
     << " swallow=" << o.swallow;
  if (o.status == S::kOk) {
    os << " type=" << static_cast<int>(o.type) << " wire_key='" << Esc(o.wire_key) << "' key='"
       << Esc(o.key) << "' binary=" << o.binary << " order='" << o.order << "' T=" << o.ttl
       << " N=" << o.vivify_ttl << " R=" << o.recache_ttl << " F=" << o.client_flags
       << " C=" << o.compare_cas << " E=" << o.new_cas << " D=" << o.delta << " J=" << o.initial
       << " M=" << static_cast<int>(o.mode) << " O='" << Esc(o.opaque) << "' datalen=" << o.datalen;
  }
  return os << "}";
}

Outcome Err(MetaError e, uint64_t swallow = 0) {
  return Outcome{.status = S::kError, .error = e, .swallow = swallow};
}
const Outcome kIncomplete{.status = S::kNeedMore};

Outcome FromCommand(MetaParseResult r, const MetaCommand& c) {
  if (r.status != S::kOk)
    return Outcome{.status = r.status, .error = r.error, .swallow = r.swallow};
  return Outcome{.type = c.type,
                 .wire_key = std::string(c.wire_key),
                 .key = std::string(c.Key()),
                 .binary = c.key_binary,
                 .order = std::string(c.order.data(), c.num_flags),
                 .ttl = c.ttl,
                 .vivify_ttl = c.vivify_ttl,
                 .recache_ttl = c.recache_ttl,
                 .client_flags = c.client_flags,
                 .compare_cas = c.compare_cas,
                 .new_cas = c.new_cas,
                 .delta = c.delta,
                 .initial = c.initial,
                 .mode = c.mode,
                 .opaque = std::string(c.opaque),
                 .datalen = c.datalen};
}

bool Inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// Feeds input in chunks ending at the given cut positions (ascending), as a connection does:
// unconsumed bytes stay in a buffer; after an ms line its data block (datalen + 2 bytes), or the
// bytes a refused ms line swallows, are skipped. Returns one Outcome per line; a line still
// incomplete at the end yields kIncomplete. Checks the parser's contract on every call.
std::vector<Outcome> Drive(std::string_view input, const std::vector<size_t>& cuts) {
  std::vector<Outcome> outs;
  std::string buf;
  uint64_t skip = 0;
  size_t fed = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    if (end <= fed) continue;
    buf.append(input.substr(fed, end - fed));
    fed = end;
    for (;;) {
      if (skip > 0) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(skip, buf.size()));
        buf.erase(0, n);
        skip -= n;
        if (skip > 0) break;
      }
      if (buf.empty()) break;
      size_t consumed = 12345;
      MetaCommand cmd;
      const MetaParseResult r = ParseMetaCommand(buf, &consumed, &cmd);
      if (r.status == S::kNeedMore) {
        EXPECT_EQ(consumed, 0u);
        break;
      }
      if (r.status == S::kClose) {
        EXPECT_EQ(consumed, 0u);
        outs.push_back(Outcome{.status = S::kClose, .error = r.error});
        return outs;
      }
      EXPECT_GT(consumed, 0u);
      EXPECT_LE(consumed, buf.size());
      EXPECT_EQ(buf[consumed - 1], '\n');
      const std::string_view line(buf.data(), consumed);
      EXPECT_TRUE(Inside(cmd.wire_key, line));
      EXPECT_TRUE(Inside(cmd.opaque, line));
      if (r.status == S::kError) {
        EXPECT_FALSE(wire::MetaErrorReply(r.error).empty());
        skip = r.swallow;
      } else if (cmd.type == T::kSet) {
        skip = uint64_t{cmd.datalen} + 2;
      }
      outs.push_back(FromCommand(r, cmd));
      buf.erase(0, consumed);
    }
  }
  if (!buf.empty() || skip > 0) outs.push_back(kIncomplete);
  return outs;
}

std::vector<Outcome> DriveWhole(std::string_view input) { return Drive(input, {}); }

// Feeds input cut once at every position, then one byte at a time; each must give `want`.
void ExpectAtEverySplit(std::string_view input, const std::vector<Outcome>& want) {
  for (size_t k = 1; k < input.size(); ++k) {
    ASSERT_EQ(Drive(input, {k}), want) << "cut at " << k << " of '" << Esc(input) << "'";
  }
  std::vector<size_t> bytewise;
  for (size_t k = 1; k < input.size(); ++k) bytewise.push_back(k);
  ASSERT_EQ(Drive(input, bytewise), want) << "byte by byte: '" << Esc(input) << "'";
}

// ---- The table ---------------------------------------------------------------------------------

struct Case {
  std::string in;  // a line, with its data block for ms lines that have or swallow one
  Outcome want;
};

Outcome Get(std::string key, std::string order = "") {
  return Outcome{.type = T::kGet, .wire_key = key, .key = key, .order = std::move(order)};
}
Outcome Set(std::string key, uint32_t datalen, std::string order = "") {
  return Outcome{
      .type = T::kSet, .wire_key = key, .key = key, .order = std::move(order), .datalen = datalen};
}
Outcome Del(std::string key, std::string order = "") {
  return Outcome{.type = T::kDelete, .wire_key = key, .key = key, .order = std::move(order)};
}
Outcome Arith(std::string key, std::string order = "") {
  return Outcome{.type = T::kArithmetic, .wire_key = key, .key = key, .order = std::move(order)};
}
Outcome Debug(std::string key) { return Outcome{.type = T::kDebug, .wire_key = key, .key = key}; }
template <typename F>
Outcome With(Outcome o, F f) {
  f(&o);
  return o;
}
Outcome Binary(Outcome o, std::string decoded) {
  o.key = std::move(decoded);
  o.binary = true;
  return o;
}

const std::string k250(250, 'k');
const std::string k251(251, 'k');
const std::string kOpaque32 = "O" + std::string(31, 'o');
const std::string kOpaque33 = "O" + std::string(32, 'o');

std::vector<Case> Cases() {
  return {
      // mn: anything after it is ignored.
      {"mn\r\n", Outcome{.type = T::kNoop}},
      {"mn foo bar !\r\n", Outcome{.type = T::kNoop}},
      // memcached 1.6.45: a line shorter than 4 bytes with its newline is a bad format.
      {"mn\n", Err(E::kBadFormat)},
      {"mg\n", Err(E::kBadFormat)},
      {"mg\r\n", Err(E::kBadFormat)},
      {"mg \r\n", Err(E::kBadFormat)},
      {"me\r\n", Err(E::kBadFormat)},
      // The command is everything up to the first space.
      {"mz foo\r\n", Err(E::kUnknownCommand)},
      {" mg foo\r\n", Err(E::kUnknownCommand)},  // memcached 1.6.45: leading space is ERROR
      {"mgx foo\r\n", Err(E::kUnknownCommand)},
      {"mg\tfoo\r\n", Err(E::kUnknownCommand)},
      {"Mg foo\r\n", Err(E::kUnknownCommand)},

      // mg, with every flag it knows.
      {"mg foo\r\n", Get("foo")},
      {"mg foo\n", Get("foo")},
      {"mg  foo   v  \r\n", Get("foo", "v")},
      {"mg foo s v\r\n", Get("foo", "sv")},
      {"mg foo b\r\n", Err(E::kBadKeyEncoding)},  // "foo" is three base64 bytes
      {"mg Zm9v b k v\r\n", Binary(Get("Zm9v", "bkv"), "foo")},
      {"mg foo c f h k l O q s t u v\r\n",
       With(Get("foo", "cfhklOqstuv"), [](Outcome* o) { o->opaque = "O"; })},
      {"mg foo E5 N30 R10 T-1 v\r\n", With(Get("foo", "ENRTv"),
                                           [](Outcome* o) {
                                             o->new_cas = 5;
                                             o->vivify_ttl = 30;
                                             o->recache_ttl = 10;
                                             o->ttl = -1;
                                           })},
      {"mg foo O123 k\r\n", With(Get("foo", "Ok"), [](Outcome* o) { o->opaque = "O123"; })},
      {"mg foo O\r\n", With(Get("foo", "O"), [](Outcome* o) { o->opaque = "O"; })},
      {"mg foo " + kOpaque32 + "\r\n",
       With(Get("foo", "O"), [](Outcome* o) { o->opaque = kOpaque32; })},
      {"mg foo " + kOpaque33 + "\r\n", Err(E::kOpaqueTooLong)},
      // memcached 1.6.45: every command accepts every known flag and ignores what it has no use
      // for (mg takes ms's and ma's flags, and the proxy's P and L).
      {"mg foo x I P L MZ C7 D2 J3 F4\r\n", With(Get("foo", "xIPLMCDJF"),
                                                 [](Outcome* o) {
                                                   o->mode = 'Z';
                                                   o->compare_cas = 7;
                                                   o->delta = 2;
                                                   o->initial = 3;
                                                   o->client_flags = 4;
                                                 })},
      {"mg foo M\r\n", With(Get("foo", "M"), [](Outcome* o) { o->mode = ' '; })},
      {"mg " + k250 + " v\r\n", Get(k250, "v")},
      {"mg " + k251 + " v\r\n", Err(E::kBadFormat)},
      // mcd (compatibility.md C1): a key with a control byte is refused like a key too long.
      {"mg a\tb v\r\n", Err(E::kBadFormat)},
      {"mg a\x7f v\r\n", Err(E::kBadFormat)},
      {"mg a\r\r\n", Err(E::kBadFormat)},
      {"mg a\xc3\xa9\r\n", Get("a\xc3\xa9")},
      // Unknown flags and the tokenizer's first-byte rule.
      {"mg foo w\r\n", Err(E::kInvalidFlag)},
      {"mg foo 5\r\n", Err(E::kInvalidFlag)},  // a digit passes the tokenizer, not the flags
      {"mg foo [\r\n", Err(E::kInvalidFlag)},  // '[' .. '`' sit between 'Z' and 'a'
      {"mg foo `\r\n", Err(E::kInvalidFlag)},
      {"mg foo W\r\n", Err(E::kInvalidFlag)},  // return flags are not request flags
      {"mg foo !x\r\n", Err(E::kBadFormat)},   // memcached 1.6.45: the tokenizer refuses it
      {"mg foo {\r\n", Err(E::kBadFormat)},
      {"mg foo ~\r\n", Err(E::kBadFormat)},
      {"mg foo \xc3\r\n", Err(E::kBadFormat)},
      {"mg foo v \tx\r\n", Err(E::kBadFormat)},
      {"mg foo v \r\r\n", Err(E::kBadFormat)},
      {"mg foo v v\r\n", Err(E::kDuplicateFlag)},
      {"mg foo MS O1 M\r\n", Err(E::kDuplicateFlag)},
      {"mg foo T1 T2\r\n", Err(E::kDuplicateFlag)},
      // Too many tokens: 20 are fine (command, key, 18 flags), 21 are not.
      {"mg foo c f h k l O q s t u v E1 N1 R1 T1 P L x\r\n", With(Get("foo", "cfhklOqstuvENRTPLx"),
                                                                  [](Outcome* o) {
                                                                    o->opaque = "O";
                                                                    o->new_cas = 1;
                                                                    o->vivify_ttl = 1;
                                                                    o->recache_ttl = 1;
                                                                    o->ttl = 1;
                                                                  })},
      {"mg foo c f h k l O q s t u v E1 N1 R1 T1 P L x I\r\n", Err(E::kTooManyFlags)},
      {"mg foo a b c d e f g h i j k l m n o p q r s\r\n", Err(E::kTooManyFlags)},
      // memcached 1.6.45: the tokenizer looks only at the first 23 tokens.
      {"mg foo a b c d e f g h i j k l m n o p q r s t u !\r\n", Err(E::kTooManyFlags)},
      {"mg foo a b c d e f g h i j k l m n o p q r s t !\r\n", Err(E::kBadFormat)},
      // Numeric values: memcached's own digit parser (no '+', length limits).
      {"mg foo T+5\r\n", Err(E::kBadToken)},
      {"mg foo T\r\n", Err(E::kBadToken)},
      {"mg foo T-\r\n", With(Get("foo", "T"), [](Outcome* o) { o->ttl = 0; })},
      {"mg foo T00000000005\r\n", With(Get("foo", "T"), [](Outcome* o) { o->ttl = 5; })},
      {"mg foo T000000000005\r\n", Err(E::kBadToken)},
      {"mg foo T2147483647\r\n", With(Get("foo", "T"), [](Outcome* o) { o->ttl = INT32_MAX; })},
      {"mg foo T2147483648\r\n", Err(E::kBadToken)},
      {"mg foo T-2147483648\r\n", With(Get("foo", "T"), [](Outcome* o) { o->ttl = INT32_MIN; })},
      {"mg foo N-2147483649\r\n", Err(E::kBadToken)},
      {"mg foo R1x\r\n", Err(E::kBadToken)},
      {"mg foo C18446744073709551615\r\n",
       With(Get("foo", "C"), [](Outcome* o) { o->compare_cas = UINT64_MAX; })},
      {"mg foo C18446744073709551616\r\n", Err(E::kBadToken)},
      {"mg foo C0000000000000000000001\r\n",
       With(Get("foo", "C"), [](Outcome* o) { o->compare_cas = 1; })},
      {"mg foo C00000000000000000000001\r\n", Err(E::kBadToken)},
      {"mg foo E-1\r\n", Err(E::kBadToken)},
      {"mg foo D\r\n", Err(E::kBadDelta)},
      {"mg foo J\r\n", Err(E::kBadInitial)},
      {"mg foo F\r\n", Err(E::kBadFormat)},  // F's failure names no message of its own
      // Error precedence: a bad value is remembered and the scan goes on (the last one wins);
      // a duplicate or unknown flag stops the scan at once.
      {"mg !!!! b Tx\r\n", Err(E::kBadToken)},
      {"mg foo Tx b\r\n", Err(E::kBadKeyEncoding)},
      {"mg foo Tx Fx\r\n", Err(E::kBadToken)},
      {"mg foo Fx Tx\r\n", Err(E::kBadToken)},
      {"mg foo Dx Jx\r\n", Err(E::kBadInitial)},
      {"mg foo Tx v v\r\n", Err(E::kDuplicateFlag)},
      {"mg foo Tx w\r\n", Err(E::kInvalidFlag)},
      {"mg foo w !\r\n", Err(E::kBadFormat)},
      {"mg " + k251 + " w\r\n", Err(E::kBadFormat)},
      {"mg " + k251 + " !\r\n", Err(E::kBadFormat)},
      {"mg foo Tx " + kOpaque33 + "\r\n", Err(E::kBadToken)},
      // base64 keys, decoded as memcached does (bytes outside the alphabet are skipped, decoding
      // stops after the first padded group).
      {"mg Zm!9v b\r\n", Binary(Get("Zm!9v", "b"), "foo")},
      {"mg Zm9= b\r\n", Binary(Get("Zm9=", "b"), "fo")},
      {"mg Z=g= b\r\n", Binary(Get("Z=g=", "b"), "d")},
      {"mg Zg==Zm9v b\r\n", Binary(Get("Zg==Zm9v", "b"), "f")},
      {"mg AAEC b\r\n", Binary(Get("AAEC", "b"), std::string("\0\1\2", 3))},
      {"mg Zm9v= b\r\n", Err(E::kBadKeyEncoding)},
      {"mg ==== b\r\n", Err(E::kBadKeyEncoding)},
      {"mg Z=== b\r\n", Err(E::kBadKeyEncoding)},
      {"mg Z b\r\n", Err(E::kBadKeyEncoding)},
      {"mg Zg==Zm9 b\r\n", Err(E::kBadKeyEncoding)},
      {"mg Zm9v b b\r\n", Err(E::kDuplicateFlag)},

      // ms: the data block follows; refused lines swallow it once the datalen is known.
      {"ms foo 2\r\nhi\r\n", Set("foo", 2)},
      {"ms foo 0\r\n\r\n", Set("foo", 0)},
      {"ms foo 2 T0 F7 c s k O1 q I MA N5 C9 E8\r\nhi\r\n", With(Set("foo", 2, "TFcskOqIMNCE"),
                                                                 [](Outcome* o) {
                                                                   o->client_flags = 7;
                                                                   o->opaque = "O1";
                                                                   o->mode = 'A';
                                                                   o->vivify_ttl = 5;
                                                                   o->compare_cas = 9;
                                                                   o->new_cas = 8;
                                                                 })},
      {"ms foo 2 ME\r\nhi\r\n", With(Set("foo", 2, "M"), [](Outcome* o) { o->mode = 'E'; })},
      {"ms foo 2 MP\r\nhi\r\n", With(Set("foo", 2, "M"), [](Outcome* o) { o->mode = 'P'; })},
      {"ms foo 2 MR\r\nhi\r\n", With(Set("foo", 2, "M"), [](Outcome* o) { o->mode = 'R'; })},
      {"ms foo 2 MSx\r\nhi\r\n", With(Set("foo", 2, "M"), [](Outcome* o) { o->mode = 'S'; })},
      {"ms foo 2 F4294967295\r\nhi\r\n",
       With(Set("foo", 2, "F"), [](Outcome* o) { o->client_flags = UINT32_MAX; })},
      {"ms Zm9v 2 b k\r\nhi\r\n", Binary(Set("Zm9v", 2, "bk"), "foo")},
      {"ms foo 00000000002\r\nhi\r\n", Set("foo", 2)},
      {"ms foo -\r\n\r\n", Set("foo", 0)},  // memcached 1.6.45: "-" reads as 0
      // Bad datalen: nothing is swallowed (memcached reads the block as a command line).
      {"ms foo\r\n", Err(E::kBadFormat)},
      {"ms foo x\r\n", Err(E::kBadFormat)},
      {"ms foo -1\r\n", Err(E::kBadFormat)},
      {"ms foo +2\r\n", Err(E::kBadFormat)},
      {"ms foo 000000000002\r\n", Err(E::kBadFormat)},
      {"ms foo 2147483646\r\n", Err(E::kBadFormat)},
      {"ms foo 2 !\r\n", Err(E::kBadFormat)},  // the tokenizer refuses the line before datalen
      {"ms foo 2 v !\r\n", Err(E::kBadFormat)},
      // Refused after the datalen: the block is swallowed.
      {"ms foo 2 w\r\nhi\r\n", Err(E::kInvalidFlag, 4)},
      {"ms foo 2 c c\r\nhi\r\n", Err(E::kDuplicateFlag, 4)},
      {"ms foo 2 T\r\nhi\r\n", Err(E::kBadToken, 4)},
      {"ms foo 2 Fx\r\nhi\r\n", Err(E::kBadFormat, 4)},
      {"ms foo 2 F-1\r\nhi\r\n", Err(E::kBadFormat, 4)},
      {"ms foo 2 F+1\r\nhi\r\n", Err(E::kBadFormat, 4)},
      {"ms foo 2 F4294967296\r\nhi\r\n", Err(E::kBadFormat, 4)},
      {"ms foo 2 Nx Fx\r\nhi\r\n", Err(E::kBadToken, 4)},
      {"ms foo 2 MX\r\nhi\r\n", Err(E::kBadSetMode, 4)},
      {"ms foo 2 Ms\r\nhi\r\n", Err(E::kBadSetMode, 4)},
      {"ms foo 2 M\r\nhi\r\n", Err(E::kBadSetMode, 4)},
      {"ms foo 2 MI\r\nhi\r\n", Err(E::kBadSetMode, 4)},
      {"ms foo 2 b\r\nhi\r\n", Err(E::kBadKeyEncoding, 4)},
      {"ms foo 2 " + kOpaque33 + "\r\nhi\r\n", Err(E::kOpaqueTooLong, 4)},
      {"ms foo 2 " + kOpaque32 + "\r\nhi\r\n",
       With(Set("foo", 2, "O"), [](Outcome* o) { o->opaque = kOpaque32; })},
      {"ms " + k251 + " 2 T0\r\nhi\r\n", Err(E::kBadFormat, 4)},
      {"ms a\tb 2\r\nhi\r\n", Err(E::kBadFormat, 4)},
      {"ms foo 1 c k O q s E1 N1 T1 P L x I F1 C1 MS u\r\nx\r\n",
       With(Set("foo", 1, "ckOqsENTPLxIFCMu"),
            [](Outcome* o) {
              o->opaque = "O";
              o->new_cas = 1;
              o->vivify_ttl = 1;
              o->ttl = 1;
              o->client_flags = 1;
              o->compare_cas = 1;
              o->mode = 'S';
            })},
      {"ms foo 1 c k O q s E1 N1 T1 P L x I F1 C1 MS u v h\r\nx\r\n", Err(E::kTooManyFlags, 3)},

      // md.
      {"md foo\r\n", Del("foo")},
      {"md foo q I T30 x k O5 C3 E4\r\n", With(Del("foo", "qITxkOCE"),
                                               [](Outcome* o) {
                                                 o->ttl = 30;
                                                 o->opaque = "O5";
                                                 o->compare_cas = 3;
                                                 o->new_cas = 4;
                                               })},
      {"md Zm9v b\r\n", Binary(Del("Zm9v", "b"), "foo")},
      {"md foo MX\r\n", With(Del("foo", "M"), [](Outcome* o) { o->mode = 'X'; })},
      {"md foo J\r\n", Err(E::kBadInitial)},
      {"md foo w\r\n", Err(E::kInvalidFlag)},
      {"md " + k251 + "\r\n", Err(E::kBadFormat)},
      {"md foo " + kOpaque33 + "\r\n", Err(E::kOpaqueTooLong)},

      // ma: every flag error of the scan is "invalid or duplicate flag".
      {"ma foo\r\n", Arith("foo")},
      {"ma foo N0 J5 D7 v t c k O9 M+ q T3 C1 E2\r\n", With(Arith("foo", "NJDvtckOMqTCE"),
                                                            [](Outcome* o) {
                                                              o->vivify_ttl = 0;
                                                              o->initial = 5;
                                                              o->delta = 7;
                                                              o->opaque = "O9";
                                                              o->mode = '+';
                                                              o->ttl = 3;
                                                              o->compare_cas = 1;
                                                              o->new_cas = 2;
                                                            })},
      {"ma foo MI\r\n", With(Arith("foo", "M"), [](Outcome* o) { o->mode = 'I'; })},
      {"ma foo MD\r\n", With(Arith("foo", "M"), [](Outcome* o) { o->mode = 'D'; })},
      {"ma foo M-\r\n", With(Arith("foo", "M"), [](Outcome* o) { o->mode = '-'; })},
      {"ma foo D18446744073709551615\r\n",
       With(Arith("foo", "D"), [](Outcome* o) { o->delta = UINT64_MAX; })},
      {"ma foo D\r\n", Err(E::kInvalidOrDuplicate)},
      {"ma foo Dx N0\r\n", Err(E::kInvalidOrDuplicate)},
      {"ma foo J-1\r\n", Err(E::kInvalidOrDuplicate)},
      {"ma foo w\r\n", Err(E::kInvalidOrDuplicate)},
      {"ma foo v v\r\n", Err(E::kInvalidOrDuplicate)},
      {"ma foo b\r\n", Err(E::kInvalidOrDuplicate)},
      {"ma " + k251 + "\r\n", Err(E::kInvalidOrDuplicate)},
      {"ma foo a b c d e f g h i j k l m n o p q r s\r\n", Err(E::kInvalidOrDuplicate)},
      {"ma foo !\r\n", Err(E::kBadFormat)},
      {"ma foo MX\r\n", Err(E::kBadArithmeticMode)},
      {"ma foo Mi\r\n", Err(E::kBadArithmeticMode)},
      {"ma foo M\r\n", Err(E::kBadArithmeticMode)},
      {"ma foo " + kOpaque33 + "\r\n", Err(E::kOpaqueTooLong)},

      // me: only a "b" third token matters, and only with a fourth token after it
      // (memcached 1.6.45 checks for four tokens, so "me <key> b" looks up the base64 text).
      {"me foo\r\n", Debug("foo")},
      {"me foo v w x\r\n", Debug("foo")},
      {"me Zm9v b\r\n", Debug("Zm9v")},
      {"me Zm9v b x\r\n", Binary(Debug("Zm9v"), "foo")},
      {"me !!!! b x\r\n", Err(E::kBadFormat)},
      {"me foo !\r\n", Err(E::kBadFormat)},
      {"me " + k251 + "\r\n", Err(E::kBadFormat)},
  };
}

TEST(MetaParserTest, TableWholeInput) {
  for (const Case& c : Cases()) {
    EXPECT_EQ(DriveWhole(c.in), std::vector<Outcome>{c.want}) << "input: '" << Esc(c.in) << "'";
  }
}

TEST(MetaParserTest, TableAtEverySplit) {
  for (const Case& c : Cases()) ExpectAtEverySplit(c.in, {c.want});
}

TEST(MetaParserTest, AllCasesPipelinedAtEverySplit) {
  std::string input;
  std::vector<Outcome> want;
  for (const Case& c : Cases()) {
    input += c.in;
    want.push_back(c.want);
  }
  for (size_t k = 1; k < input.size(); ++k) ASSERT_EQ(Drive(input, {k}), want) << "cut at " << k;
}

// Round trip: compose every accepted command, parse it back, get the same fields.
TEST(MetaParserTest, ComposeRoundTrip) {
  for (const Case& c : Cases()) {
    if (c.want.status != S::kOk) continue;
    MetaCommand cmd;
    size_t used = 0;
    ASSERT_EQ(ParseMetaCommand(c.in, &used, &cmd).status, S::kOk) << Esc(c.in);
    const std::string line = ComposeMetaCommand(cmd);
    MetaCommand back;
    size_t used2 = 0;
    const MetaParseResult r = ParseMetaCommand(line, &used2, &back);
    ASSERT_EQ(r.status, S::kOk) << Esc(line);
    EXPECT_EQ(used2, line.size());
    Outcome want = FromCommand({S::kOk}, cmd);
    EXPECT_EQ(FromCommand(r, back), want) << Esc(c.in) << " -> " << Esc(line);
  }
}

// A refused ms line without a valid datalen swallows nothing: the data block is read as the
// next command (memcached 1.6.45 answers it with ERROR).
TEST(MetaParserTest, UnswallowedDataBlockIsTheNextLine) {
  EXPECT_EQ(DriveWhole("ms foo x\r\nhi\r\nmn\r\n"),
            (std::vector<Outcome>{Err(E::kBadFormat), Err(E::kUnknownCommand),
                                  Outcome{.type = T::kNoop}}));
  EXPECT_EQ(DriveWhole("ms foo 2 !\r\nmn\r\nmn\r\n"),
            (std::vector<Outcome>{Err(E::kBadFormat), Outcome{.type = T::kNoop},
                                  Outcome{.type = T::kNoop}}));
  // Swallowed: the two bytes and the line end are gone, mn is next.
  EXPECT_EQ(DriveWhole("ms foo 2 w\r\nmn\r\nmn\r\n"),
            (std::vector<Outcome>{Err(E::kInvalidFlag, 4), Outcome{.type = T::kNoop}}));
}

// Every byte as a one-letter flag of mg and ma.
TEST(MetaParserTest, EveryFlagByte) {
  const std::string known = "bcfhklqstuvxILOP";
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    if (c == ' ' || c == '\n') continue;
    const std::string line = std::string("mg Zm9v ") + c + "\r\n";
    MetaCommand cmd;
    size_t used = 0;
    const MetaParseResult r = ParseMetaCommand(line, &used, &cmd);
    const bool letter_range = c >= 'A' && c <= 'z';
    const bool digit = c >= '0' && c <= '9';
    MetaError want = E::kInvalidFlag;
    if (!letter_range && !digit) {
      want = E::kBadFormat;
    } else if (known.find(c) != std::string::npos || c == 'M') {
      want = E::kNone;
    } else if (c == 'N' || c == 'T' || c == 'R' || c == 'C' || c == 'E') {
      want = E::kBadToken;
    } else if (c == 'F') {
      want = E::kBadFormat;
    } else if (c == 'J') {
      want = E::kBadInitial;
    } else if (c == 'D') {
      want = E::kBadDelta;
    }
    EXPECT_EQ(r.error, want) << "flag byte " << b;
    EXPECT_EQ(r.status, want == E::kNone ? S::kOk : S::kError) << "flag byte " << b;

    const std::string arith = std::string("ma Zm9v ") + c + "\r\n";
    const MetaParseResult ra = ParseMetaCommand(arith, &used, &cmd);
    MetaError want_arith = want;
    if (want != E::kNone && (letter_range || digit)) want_arith = E::kInvalidOrDuplicate;
    if (c == 'M') want_arith = E::kBadArithmeticMode;
    EXPECT_EQ(ra.error, want_arith) << "ma flag byte " << b;
  }
}

// The largest data block memcached accepts (INT_MAX - 2 bytes with its "\r\n").
TEST(MetaParserTest, LargestDatalen) {
  MetaCommand cmd;
  size_t used = 0;
  const MetaParseResult r = ParseMetaCommand("ms foo 2147483645 T0\r\n", &used, &cmd);
  EXPECT_EQ(r.status, S::kOk);
  EXPECT_EQ(cmd.datalen, 2147483645u);
  const MetaParseResult bad = ParseMetaCommand("ms foo 2147483645 w\r\n", &used, &cmd);
  EXPECT_EQ(bad.error, E::kInvalidFlag);
  EXPECT_EQ(bad.swallow, 2147483647u);
}

TEST(MetaParserTest, NeedMoreUntilNewline) {
  MetaCommand cmd;
  size_t used = 7;
  EXPECT_EQ(ParseMetaCommand("", &used, &cmd).status, S::kNeedMore);
  EXPECT_EQ(used, 0u);
  EXPECT_EQ(ParseMetaCommand("mg foo v\r", &used, &cmd).status, S::kNeedMore);
  EXPECT_EQ(used, 0u);
}

// As for classic lines (compatibility.md C6): no newline within kMaxLineLength + 1 bytes closes.
TEST(MetaParserTest, LongLinesClose) {
  MetaCommand cmd;
  size_t used = 7;
  std::string line = "mg " + std::string(kMaxLineLength - 3, 'k');
  ASSERT_EQ(line.size(), kMaxLineLength);
  EXPECT_EQ(ParseMetaCommand(line, &used, &cmd).status, S::kNeedMore);
  line.push_back('k');
  const MetaParseResult r = ParseMetaCommand(line, &used, &cmd);
  EXPECT_EQ(r.status, S::kClose);
  EXPECT_EQ(r.error, E::kLineTooLong);
  EXPECT_EQ(used, 0u);
  EXPECT_TRUE(wire::MetaErrorReply(r.error).empty());
  // A newline as byte kMaxLineLength + 1 still ends the line.
  line = "mg foo v " + std::string(kMaxLineLength - 10, ' ') + "\r\n";
  ASSERT_EQ(line.size(), kMaxLineLength + 1);
  EXPECT_EQ(ParseMetaCommand(line, &used, &cmd).status, S::kOk);
  EXPECT_EQ(used, line.size());
}

TEST(MetaParserTest, DetectMeta) {
  using D = MetaDetect;
  const std::vector<std::pair<std::string, MetaDetect>> cases = {
      {"", D::kNeedMore},     {"m", D::kNeedMore},       {"mg", D::kNeedMore},
      {"mg\r", D::kNeedMore}, {"mg ", D::kMeta},         {"mg\n", D::kMeta},
      {"mn\r\n", D::kMeta},   {"ms foo 1", D::kMeta},    {"md ", D::kMeta},
      {"ma ", D::kMeta},      {"me ", D::kMeta},         {"mz ", D::kNotMeta},
      {"mgx", D::kNotMeta},   {"mg\rx", D::kNotMeta},    {"mg\t", D::kNotMeta},
      {" mg ", D::kNotMeta},  {"get a", D::kNotMeta},    {"g", D::kNotMeta},
      {"Mg ", D::kNotMeta},   {"mg\r\r\n", D::kNotMeta},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(DetectMeta(in), want) << Esc(in);
}

// Each error has exactly memcached 1.6.45's string.
TEST(MetaParserTest, ErrorStrings) {
  const std::vector<std::pair<MetaError, std::string>> want = {
      {E::kUnknownCommand, "ERROR\r\n"},
      {E::kBadFormat, "CLIENT_ERROR bad command line format\r\n"},
      {E::kInvalidFlag, "CLIENT_ERROR invalid flag\r\n"},
      {E::kDuplicateFlag, "CLIENT_ERROR duplicate flag\r\n"},
      {E::kTooManyFlags, "CLIENT_ERROR options flags are too long\r\n"},
      {E::kBadToken, "CLIENT_ERROR bad token in command line format\r\n"},
      {E::kBadKeyEncoding, "CLIENT_ERROR error decoding key\r\n"},
      {E::kBadInitial, "CLIENT_ERROR invalid numeric initial value\r\n"},
      {E::kBadDelta, "CLIENT_ERROR invalid numeric delta value\r\n"},
      {E::kOpaqueTooLong, "CLIENT_ERROR opaque token too long\r\n"},
      {E::kBadSetMode, "CLIENT_ERROR invalid mode for ms M token\r\n"},
      {E::kBadArithmeticMode, "CLIENT_ERROR invalid mode for ma M token\r\n"},
      {E::kInvalidOrDuplicate, "CLIENT_ERROR invalid or duplicate flag\r\n"},
      {E::kNone, ""},
      {E::kLineTooLong, ""},
  };
  for (const auto& [e, s] : want) EXPECT_EQ(wire::MetaErrorReply(e), s);
}

TEST(MetaParserTest, FlagHelpers) {
  MetaCommand cmd;
  size_t used = 0;
  ASSERT_EQ(ParseMetaCommand("mg foo t T30 q v\r\n", &used, &cmd).status, S::kOk);
  EXPECT_TRUE(cmd.Has('t'));
  EXPECT_TRUE(cmd.Has('T'));
  EXPECT_FALSE(cmd.Has('k'));
  EXPECT_TRUE(cmd.quiet());
  EXPECT_EQ(cmd.IndexOf('t'), 0);
  EXPECT_EQ(cmd.IndexOf('T'), 1);
  EXPECT_EQ(cmd.IndexOf('v'), 3);
  EXPECT_EQ(cmd.IndexOf('k'), -1);
  EXPECT_EQ(cmd.Key(), "foo");
}

// Tokens of every length from 1 to 40 bytes, separated by one to three spaces (the tokenizer
// finds spaces eight bytes at a time): the key and the opaque (at most 32 bytes) come back whole.
TEST(MetaParserTest, TokensOfEveryLength) {
  for (size_t klen = 1; klen <= 40; ++klen) {
    for (size_t olen = 1; olen <= kMetaMaxOpaqueLength; ++olen) {
      for (const std::string sep : {" ", "  ", "   "}) {
        const std::string key(klen, 'k');
        const std::string opaque = "O" + std::string(olen - 1, '7');
        const std::string line = "mg" + sep + key + sep + "v" + sep + opaque + sep + "q\r\n";
        MetaCommand cmd;
        size_t used = 0;
        const MetaParseResult r = ParseMetaCommand(line, &used, &cmd);
        ASSERT_EQ(r.status, S::kOk) << line;
        EXPECT_EQ(used, line.size());
        EXPECT_EQ(cmd.wire_key, key);
        EXPECT_EQ(cmd.opaque, opaque);
        EXPECT_TRUE(cmd.Has('v') && cmd.Has('q') && cmd.Has('O')) << line;
        EXPECT_EQ(cmd.num_flags, 3u);
      }
    }
  }
}

TEST(MetaParserTest, PeekMgKey) {
  struct Case {
    std::string in;
    std::string key;  // empty: not a complete mg line
    size_t length;
  };
  const std::vector<Case> cases = {
      {"mg foo v\r\nmg bar\r\n", "foo", 10},
      {"mg foo\r\n", "foo", 8},
      {"mg foo\n", "foo", 7},
      {"mg   a_much_longer_key_of_thirty_bytes v q\r\n", "a_much_longer_key_of_thirty_bytes", 44},
      {"mg YWE= b v\r\n", "YWE=", 13},
      {"mg foo v", "", 0},  // no newline yet
      {"mg \r\n", "", 0},
      {"mg\r\n", "", 0},
      {"ms foo 2\r\n", "", 0},
      {"get foo\r\n", "", 0},
      {"", "", 0},
  };
  for (const Case& c : cases) {
    size_t length = 0;
    EXPECT_EQ(PeekMgKey(c.in, &length), c.key) << c.in;
    if (!c.key.empty()) {
      EXPECT_EQ(length, c.length) << c.in;
    }
  }
}

}  // namespace
}  // namespace mcd::protocol
