// Tests of the text-protocol parser. Every case is also fed at every split point, as a connection
// would see it, through Drive(), a small model of the server's read loop.
//
// Cases marked "memcached 1.6.18: ..." record behaviour observed on the wire with Debian's
// memcached 1.6.18 (tests/tools/mcprobe.py), including the surprising parts.
#include "mcd/protocol/text_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "mcd/protocol/wire.h"

namespace mcd::protocol {
namespace {

using E = ParseError;
using S = ParseStatus;
using T = CommandType;

// What the parser produced for one command, with the views copied out. For errors only status,
// error and noreply are set; for a streamed line the keys of all calls are merged.
struct Outcome {
  ParseStatus status = S::kOk;
  ParseError error = E::kNone;
  bool noreply = false;  // Command::noreply with kOk, ParseResult::noreply with kError
  CommandType type = T::kGet;
  std::string key{};
  std::vector<std::string> keys{};
  uint32_t flags = 0;
  int64_t exptime = 0;
  uint32_t bytes = 0;
  uint64_t cas = 0;
  uint64_t delta = 0;
  bool has_delay = false;
  int64_t level = 0;
  std::string args{};

  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << "{status=" << static_cast<int>(o.status) << " error=" << static_cast<int>(o.error)
     << " noreply=" << o.noreply;
  if (o.status == S::kOk) {
    os << " type=" << static_cast<int>(o.type) << " key='" << o.key << "' keys=[";
    for (size_t i = 0; i < o.keys.size() && i < 8; ++i) os << (i ? " " : "") << o.keys[i];
    if (o.keys.size() > 8) os << " ... (" << o.keys.size() << ")";
    os << "] flags=" << o.flags << " exptime=" << o.exptime << " bytes=" << o.bytes
       << " cas=" << o.cas << " delta=" << o.delta << " has_delay=" << o.has_delay
       << " level=" << o.level << " args='" << o.args << "'";
  }
  return os << "}";
}

Outcome Err(ParseError e, bool noreply = false) {
  return Outcome{.status = S::kError, .error = e, .noreply = noreply};
}
Outcome Closed(ParseError e) { return Outcome{.status = S::kClose, .error = e}; }
const Outcome kIncomplete{.status = S::kNeedMore};

std::vector<std::string> SplitKeys(std::string_view keys) {
  std::vector<std::string> v;
  KeyIterator it(keys);
  std::string_view k;
  while (it.Next(&k)) v.emplace_back(k);
  return v;
}

Outcome FromCommand(ParseResult r, const Command& c) {
  if (r.status != S::kOk)
    return Outcome{.status = r.status, .error = r.error, .noreply = r.noreply};
  return Outcome{.noreply = c.noreply,
                 .type = c.type,
                 .key = std::string(c.key),
                 .keys = SplitKeys(c.keys),
                 .flags = c.flags,
                 .exptime = c.exptime,
                 .bytes = c.bytes,
                 .cas = c.cas_unique,
                 .delta = c.delta,
                 .has_delay = c.has_delay,
                 .level = c.level,
                 .args = std::string(c.args)};
}

// Feeds input to the parser in chunks ending at the given cut positions (ascending), the way a
// connection does: unconsumed bytes stay in a buffer, a storage command's data block is skipped,
// a streamed retrieval line is continued with ParseKeysContinuation. Returns one Outcome per
// command; a command still incomplete at the end of the input yields kIncomplete. Checks the
// parser's contract on every call.
std::vector<Outcome> Drive(std::string_view input, const std::vector<size_t>& cuts) {
  std::vector<Outcome> outs;
  std::string buf;
  size_t skip = 0;
  bool streaming = false;
  Command cmd;
  Outcome cur;
  size_t fed = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    if (end <= fed) continue;
    buf.append(input.substr(fed, end - fed));
    fed = end;
    for (;;) {
      if (skip > 0) {
        size_t n = std::min(skip, buf.size());
        buf.erase(0, n);
        skip -= n;
        if (skip > 0) break;
      }
      if (buf.empty() && !streaming) break;
      size_t consumed = 12345;
      ParseResult r = streaming ? ParseKeysContinuation(buf, &consumed, &cmd)
                                : ParseCommand(buf, &consumed, &cmd);
      if (r.status == S::kNeedMore) {
        EXPECT_EQ(consumed, 0u);
        break;
      }
      if (r.status == S::kClose) {
        EXPECT_FALSE(streaming) << "streamed lines never close";
        outs.push_back(Closed(r.error));
        return outs;
      }
      EXPECT_GT(consumed, 0u);
      EXPECT_LE(consumed, buf.size());
      if (!streaming) {
        cur = FromCommand(r, cmd);
      } else if (r.status == S::kOk) {
        for (auto& k : SplitKeys(cmd.keys)) cur.keys.push_back(k);
      } else {
        cur = FromCommand(r, cmd);
      }
      const bool retrieval_ok = r.status == S::kOk && IsRetrieval(cmd.type);
      if (retrieval_ok && cmd.more_keys) {
        streaming = true;
      } else {
        if (r.status == S::kError) {
          EXPECT_FALSE(cmd.more_keys);
        }
        streaming = false;
        outs.push_back(cur);
        if (r.status == S::kOk && IsStorage(cmd.type)) skip = cmd.bytes + size_t{2};
      }
      buf.erase(0, consumed);
    }
  }
  if (streaming || !buf.empty() || skip > 0) outs.push_back(kIncomplete);
  return outs;
}

std::vector<Outcome> DriveWhole(std::string_view input) { return Drive(input, {}); }

// Feeds input cut once at every position, then one byte at a time; each must give `want`.
void ExpectAtEverySplit(std::string_view input, const std::vector<Outcome>& want) {
  for (size_t k = 1; k < input.size(); ++k) {
    ASSERT_EQ(Drive(input, {k}), want) << "cut at " << k;
  }
  std::vector<size_t> bytewise;
  for (size_t k = 1; k < input.size(); ++k) bytewise.push_back(k);
  ASSERT_EQ(Drive(input, bytewise), want) << "byte by byte";
}

std::string Esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += "\\x" + std::to_string(static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out.size() > 120 ? out.substr(0, 120) + "..." : out;
}

// ---- The table of single lines ----------------------------------------------------------------

struct Case {
  std::string in;
  Outcome want;
};

const std::string k250(250, 'k');
const std::string k251(251, 'k');

std::vector<Case> Cases() {
  return {
      // Retrieval.
      {"get a\r\n", {.type = T::kGet, .keys = {"a"}}},
      {"get a\n", {.type = T::kGet, .keys = {"a"}}},  // a bare "\n" ends a line
      {"get a b  c\r\n", {.type = T::kGet, .keys = {"a", "b", "c"}}},
      {"get a \r\n", {.type = T::kGet, .keys = {"a"}}},
      {"   get a\r\n", {.type = T::kGet, .keys = {"a"}}},  // memcached 1.6.18: leading spaces ok
      {"gets a b\r\n", {.type = T::kGets, .keys = {"a", "b"}}},
      {"gat 10 a b\r\n", {.type = T::kGat, .keys = {"a", "b"}, .exptime = 10}},
      {"gats -1 a\r\n", {.type = T::kGats, .keys = {"a"}, .exptime = -1}},
      // memcached 1.6.18: "gat <exptime>" with no key answers END.
      {"gat 10\r\n", {.type = T::kGat, .exptime = 10}},
      {"bget a\r\n", {.type = T::kGet, .keys = {"a"}}},  // memcached 1.6.18: bget is get
      {"get a HTTP/1.1\r\n", {.type = T::kGet, .keys = {"a", "HTTP/1.1"}}},
      {"get noreply\r\n", {.type = T::kGet, .keys = {"noreply"}}},
      {"get " + k250 + "\r\n", {.type = T::kGet, .keys = {k250}}},
      {"get a\xc3\xa9\r\n", {.type = T::kGet, .keys = {"a\xc3\xa9"}}},  // bytes >= 0x80 are fine
      {"get\r\n", Err(E::kUnknownCommand)},
      {"get    \r\n", Err(E::kUnknownCommand)},
      {"gets\r\n", Err(E::kUnknownCommand)},
      {"gat\r\n", Err(E::kUnknownCommand)},
      {"gat a\r\n", Err(E::kBadExptime)},
      {"gat abc a\r\n", Err(E::kBadExptime)},
      // memcached 1.6.18: the exptime is checked before the keys.
      {"gat abc " + k251 + "\r\n", Err(E::kBadExptime)},
      // memcached 1.6.18: one key too long fails the whole line with only this error.
      {"get a " + k251 + " b\r\n", Err(E::kBadFormat)},
      {"gat 1 " + k251 + " noreply\r\n", Err(E::kBadFormat)},  // no noreply for retrievals
      // mcd policy (memcached would look up "a\tb"): control bytes in keys are rejected.
      {"get a\tb\r\n", Err(E::kBadFormat)},
      {"get a\r \r\n", Err(E::kBadFormat)},
      {"get a\x7f\r\n", Err(E::kBadFormat)},
      {std::string("get a\0b\r\n", 9), Err(E::kBadFormat)},
      {"get\ta\r\n", Err(E::kUnknownCommand)},  // memcached 1.6.18: "get\ta" is one token

      // Storage.
      {"set a 0 0 1\r\n", {.type = T::kSet, .key = "a", .bytes = 1}},
      {"set  a  0 0 1\r\n", {.type = T::kSet, .key = "a", .bytes = 1}},
      {"set a 5 100 10\n", {.type = T::kSet, .key = "a", .flags = 5, .exptime = 100, .bytes = 10}},
      {"add a 1 2 3\r\n", {.type = T::kAdd, .key = "a", .flags = 1, .exptime = 2, .bytes = 3}},
      {"replace a 0 0 0\r\n", {.type = T::kReplace, .key = "a"}},
      {"append a 0 0 2 noreply\r\n", {.noreply = true, .type = T::kAppend, .key = "a", .bytes = 2}},
      {"prepend a 0 0 2\r\n", {.type = T::kPrepend, .key = "a", .bytes = 2}},
      {"cas a 0 0 1 99\r\n", {.type = T::kCas, .key = "a", .bytes = 1, .cas = 99}},
      {"cas a 0 0 1 99 noreply\r\n",
       {.noreply = true, .type = T::kCas, .key = "a", .bytes = 1, .cas = 99}},
      {"set " + k250 + " 0 0 1\r\n", {.type = T::kSet, .key = k250, .bytes = 1}},
      // memcached 1.6.18: flags keep the low 32 bits of a 64-bit value.
      {"set a 4294967296 0 1\r\n", {.type = T::kSet, .key = "a", .bytes = 1}},
      {"set a 4294967295 0 1\r\n", {.type = T::kSet, .key = "a", .flags = 4294967295u, .bytes = 1}},
      {"set a +5 0 1\r\n", {.type = T::kSet, .key = "a", .flags = 5, .bytes = 1}},
      {"set a -0 0 1\r\n", {.type = T::kSet, .key = "a", .bytes = 1}},
      {"set a 18446744073709551615 0 1\r\n",
       {.type = T::kSet, .key = "a", .flags = 4294967295u, .bytes = 1}},
      {"set a 18446744073709551616 0 1\r\n", Err(E::kBadFormat)},
      {"set a -1 0 1\r\n", Err(E::kBadFormat)},
      // memcached 1.6.18: exptime and bytes are strtol results stored into an int32.
      {"set a 0 4294967296 1\r\n", {.type = T::kSet, .key = "a", .bytes = 1}},
      {"set a 0 4294967295 1\r\n", {.type = T::kSet, .key = "a", .exptime = -1, .bytes = 1}},
      {"set a 0 2147483648 1\r\n", {.type = T::kSet, .key = "a", .exptime = INT32_MIN, .bytes = 1}},
      {"set a 0 -2147483649 1\r\n",
       {.type = T::kSet, .key = "a", .exptime = INT32_MAX, .bytes = 1}},
      {"set a 0 99999999999 1\r\n",
       {.type = T::kSet, .key = "a", .exptime = 1215752191, .bytes = 1}},
      {"set a 0 9223372036854775807 1\r\n",
       {.type = T::kSet, .key = "a", .exptime = -1, .bytes = 1}},
      {"set a 0 9223372036854775808 1\r\n", Err(E::kBadFormat)},
      {"set a 0 0 4294967297\r\n", {.type = T::kSet, .key = "a", .bytes = 1}},
      {"set a 0 0 2147483645\r\n", {.type = T::kSet, .key = "a", .bytes = 2147483645u}},
      {"set a 0 0 2147483646\r\n", Err(E::kBadFormat)},
      {"set a 0 0 9223372036854775808\r\n", Err(E::kBadFormat)},
      {"set a 0 0 -1\r\n", Err(E::kBadFormat)},
      {"set a 0 0 abc\r\n", Err(E::kBadFormat)},
      {"set a 0 0 1x\r\n", Err(E::kBadFormat)},
      {"set a 0x10 0 1\r\n", Err(E::kBadFormat)},
      // memcached 1.6.18: numbers are strtoul-style, so whitespace other than ' ' (which splits
      // tokens) may lead a number, and may end it, with anything after it ignored.
      {"set a \t5 0 1\r\n", {.type = T::kSet, .key = "a", .flags = 5, .bytes = 1}},
      {"set a 5\tz 0 1\r\n", {.type = T::kSet, .key = "a", .flags = 5, .bytes = 1}},
      {"set a 0 0 1\r\r\n", {.type = T::kSet, .key = "a", .bytes = 1}},
      // memcached 1.6.18: a 6th token that is not noreply is ignored.
      {"set a 0 0 1 bogus\r\n", {.type = T::kSet, .key = "a", .bytes = 1}},
      {"set a 0 0\r\n", Err(E::kUnknownCommand)},
      {"set a 0 0 1 noreply extra\r\n", Err(E::kUnknownCommand)},
      {"set\r\n", Err(E::kUnknownCommand)},
      {"set " + k251 + " 0 0 1\r\n", Err(E::kBadFormat)},
      {"set a\x01 0 0 1\r\n", Err(E::kBadFormat)},  // mcd policy: control bytes in keys
      // memcached 1.6.18: noreply suppresses the CLIENT_ERROR of a bad line...
      {"set a -1 0 1 noreply\r\n", Err(E::kBadFormat, true)},
      {"set " + k251 + " 0 0 1 noreply\r\n", Err(E::kBadFormat, true)},
      // ...even when "noreply" is where the byte count should be.
      {"set a 0 0 noreply\r\n", Err(E::kBadFormat, true)},
      {"cas a 0 0 1\r\n", Err(E::kUnknownCommand)},
      {"cas a 0 0 1 abc\r\n", Err(E::kBadFormat)},
      {"cas a 0 0 1 -1\r\n", Err(E::kBadFormat)},
      {"cas a 0 0 1 1 foo\r\n", {.type = T::kCas, .key = "a", .bytes = 1, .cas = 1}},
      {"cas a 0 0 1 18446744073709551615\r\n",
       {.type = T::kCas, .key = "a", .bytes = 1, .cas = UINT64_MAX}},
      {"cas a 0 0 1 18446744073709551616\r\n", Err(E::kBadFormat)},
      {"SET a 0 0 1\r\n", Err(E::kUnknownCommand)},

      // delete
      {"delete a\r\n", {.type = T::kDelete, .key = "a"}},
      {"delete a 0\r\n", {.type = T::kDelete, .key = "a"}},
      {"delete a noreply\r\n", {.noreply = true, .type = T::kDelete, .key = "a"}},
      {"delete a 0 noreply\r\n", {.noreply = true, .type = T::kDelete, .key = "a"}},
      {"delete noreply\r\n", {.type = T::kDelete, .key = "noreply"}},
      {"delete a 1\r\n", Err(E::kBadDeleteFormat)},
      {"delete a 00\r\n", Err(E::kBadDeleteFormat)},
      {"delete a 0 0\r\n", Err(E::kBadDeleteFormat)},
      {"delete a 1 noreply\r\n", Err(E::kBadDeleteFormat, true)},
      {"delete a noreply noreply\r\n", Err(E::kBadDeleteFormat, true)},
      {"delete a noreply x\r\n", Err(E::kBadDeleteFormat)},
      {"delete a 0 noreply x\r\n", Err(E::kUnknownCommand)},
      {"delete\r\n", Err(E::kUnknownCommand)},
      {"delete " + k251 + "\r\n", Err(E::kBadFormat)},
      {"delete " + k251 + " noreply\r\n", Err(E::kBadFormat, true)},

      // incr/decr
      {"incr n 5\r\n", {.type = T::kIncr, .key = "n", .delta = 5}},
      {"decr n 5 noreply\r\n", {.noreply = true, .type = T::kDecr, .key = "n", .delta = 5}},
      {"incr n 18446744073709551615\r\n", {.type = T::kIncr, .key = "n", .delta = UINT64_MAX}},
      {"incr n 1 foo\r\n", {.type = T::kIncr, .key = "n", .delta = 1}},
      {"incr n -0\r\n", {.type = T::kIncr, .key = "n"}},
      {"incr n\r\n", Err(E::kUnknownCommand)},
      {"incr n 1 noreply x\r\n", Err(E::kUnknownCommand)},
      {"incr n -1\r\n", Err(E::kBadDelta)},
      {"incr n abc\r\n", Err(E::kBadDelta)},
      {"incr n 18446744073709551616\r\n", Err(E::kBadDelta)},
      {"incr a abc noreply\r\n", Err(E::kBadDelta, true)},
      {"incr a noreply\r\n", Err(E::kBadDelta, true)},
      {"incr " + k251 + " 1\r\n", Err(E::kBadFormat)},
      {"incr " + k251 + " 1 noreply\r\n", Err(E::kBadFormat, true)},

      // touch
      {"touch a 10\r\n", {.type = T::kTouch, .key = "a", .exptime = 10}},
      {"touch a 10 noreply\r\n", {.noreply = true, .type = T::kTouch, .key = "a", .exptime = 10}},
      {"touch a 1 foo\r\n", {.type = T::kTouch, .key = "a", .exptime = 1}},
      {"touch a 99999999999\r\n", {.type = T::kTouch, .key = "a", .exptime = 1215752191}},
      {"touch a 9223372036854775808\r\n", Err(E::kBadExptime)},
      {"touch a\r\n", Err(E::kUnknownCommand)},
      {"touch a 10 noreply extra\r\n", Err(E::kUnknownCommand)},
      {"touch a abc\r\n", Err(E::kBadExptime)},
      {"touch a abc noreply\r\n", Err(E::kBadExptime, true)},
      {"touch a noreply\r\n", Err(E::kBadExptime, true)},

      // flush_all
      {"flush_all\r\n", {.type = T::kFlushAll}},
      {"flush_all 0\r\n", {.type = T::kFlushAll, .has_delay = true}},
      {"flush_all 10\r\n", {.type = T::kFlushAll, .exptime = 10, .has_delay = true}},
      {"flush_all -1\r\n", {.type = T::kFlushAll, .exptime = -1, .has_delay = true}},
      {"flush_all +5\r\n", {.type = T::kFlushAll, .exptime = 5, .has_delay = true}},
      {"flush_all 1 2\r\n", {.type = T::kFlushAll, .exptime = 1, .has_delay = true}},
      {"flush_all noreply\r\n", {.noreply = true, .type = T::kFlushAll}},
      {"flush_all 10 noreply\r\n",
       {.noreply = true, .type = T::kFlushAll, .exptime = 10, .has_delay = true}},
      {"flush_all abc\r\n", Err(E::kBadExptime)},
      {"flush_all 0x10\r\n", Err(E::kBadExptime)},
      {"flush_all HTTP/1.1\r\n", Err(E::kBadExptime)},
      {"flush_all noreply 5\r\n", Err(E::kBadExptime)},
      {"flush_all abc noreply\r\n", Err(E::kBadExptime, true)},
      {"flush_all 1 2 3\r\n", Err(E::kUnknownCommand)},

      // verbosity, version, quit, stats, shutdown
      {"verbosity 1\r\n", {.type = T::kVerbosity, .level = 1}},
      {"verbosity 1 noreply\r\n", {.noreply = true, .type = T::kVerbosity, .level = 1}},
      {"verbosity 1 2\r\n", {.type = T::kVerbosity, .level = 1}},
      {"verbosity 4294967296\r\n", {.type = T::kVerbosity}},
      {"verbosity\r\n", Err(E::kUnknownCommand)},
      {"verbosity 1 2 3\r\n", Err(E::kUnknownCommand)},
      {"verbosity abc\r\n", Err(E::kBadFormat)},
      {"verbosity -1\r\n", Err(E::kBadFormat)},
      {"verbosity noreply\r\n", Err(E::kBadFormat, true)},
      {"version\r\n", {.type = T::kVersion}},
      {"version x\r\n", {.type = T::kVersion}},
      {"quit\r\n", {.type = T::kQuit}},
      {"quit x\r\n", {.type = T::kQuit}},
      {"stats\r\n", {.type = T::kStats}},
      {"stats  detail   on  \r\n", {.type = T::kStats, .args = "detail   on"}},
      {"stats cachedump 1 10\r\n", {.type = T::kStats, .args = "cachedump 1 10"}},
      {"shutdown\r\n", {.type = T::kShutdown}},
      {"shutdown graceful\r\n", {.type = T::kShutdown, .args = "graceful"}},

      // cache_memlimit. memcached 1.6.18: the number is read by safe_strtoul into 32 bits, so
      // 4294967304 is 8; a bad one is ERROR, suppressed by noreply; a wrong token count is ERROR
      // whatever the last token. The range checks (8 MB up) are the handler's.
      {"cache_memlimit 8\r\n", {.type = T::kCacheMemlimit, .level = 8}},
      {"cache_memlimit 64 noreply\r\n", {.noreply = true, .type = T::kCacheMemlimit, .level = 64}},
      {"cache_memlimit  16  \r\n", {.type = T::kCacheMemlimit, .level = 16}},
      {"cache_memlimit 8 foo\r\n", {.type = T::kCacheMemlimit, .level = 8}},
      {"cache_memlimit +9\r\n", {.type = T::kCacheMemlimit, .level = 9}},
      {"cache_memlimit 9\t1\r\n", {.type = T::kCacheMemlimit, .level = 9}},
      {"cache_memlimit 0\r\n", {.type = T::kCacheMemlimit}},
      {"cache_memlimit -0\r\n", {.type = T::kCacheMemlimit}},
      {"cache_memlimit 4294967295\r\n", {.type = T::kCacheMemlimit, .level = 4294967295}},
      {"cache_memlimit 4294967304\r\n", {.type = T::kCacheMemlimit, .level = 8}},
      {"cache_memlimit 18446744073709551615\r\n", {.type = T::kCacheMemlimit, .level = 4294967295}},
      {"cache_memlimit\r\n", Err(E::kUnknownCommand)},
      {"cache_memlimit 8 foo bar\r\n", Err(E::kUnknownCommand)},
      {"cache_memlimit 8 9 noreply\r\n", Err(E::kUnknownCommand)},
      {"cache_memlimit 8 noreply extra\r\n", Err(E::kUnknownCommand)},
      {"cache_memlimit abc\r\n", Err(E::kUnknownCommand)},
      {"cache_memlimit 9x\r\n", Err(E::kUnknownCommand)},
      {"cache_memlimit -1\r\n", Err(E::kUnknownCommand)},
      {"cache_memlimit 18446744073709551616\r\n", Err(E::kUnknownCommand)},
      {"cache_memlimit abc noreply\r\n", Err(E::kUnknownCommand, true)},
      {"cache_memlimit noreply\r\n", Err(E::kUnknownCommand, true)},
      {"CACHE_MEMLIMIT 8\r\n", Err(E::kUnknownCommand)},
      {"cache_memlimits 8\r\n", Err(E::kUnknownCommand)},
      // lru_crawler: the sub-command and its arguments are the handler's (it checks the token
      // count, as memcached does); noreply is not special.
      {"lru_crawler\r\n", {.type = T::kLruCrawler}},
      {"lru_crawler crawl all\r\n", {.type = T::kLruCrawler, .args = "crawl all"}},
      {"lru_crawler crawl 1,2,3\r\n", {.type = T::kLruCrawler, .args = "crawl 1,2,3"}},
      {"lru_crawler   metadump   hash  \r\n", {.type = T::kLruCrawler, .args = "metadump   hash"}},
      {"lru_crawler mgdump all\n", {.type = T::kLruCrawler, .args = "mgdump all"}},
      {"lru_crawler enable\r\n", {.type = T::kLruCrawler, .args = "enable"}},
      {"lru_crawler disable\r\n", {.type = T::kLruCrawler, .args = "disable"}},
      {"lru_crawler sleep 100\r\n", {.type = T::kLruCrawler, .args = "sleep 100"}},
      {"lru_crawler tocrawl 0\r\n", {.type = T::kLruCrawler, .args = "tocrawl 0"}},
      {"lru_crawler crawl all noreply\r\n", {.type = T::kLruCrawler, .args = "crawl all noreply"}},
      // memcached 1.6.18: a known command is dispatched before the HTTP guard (its handler
      // answers ERROR); an unknown one starting with "l" meets the guard.
      {"lru_crawler HTTP/1.1\r\n", {.type = T::kLruCrawler, .args = "HTTP/1.1"}},
      {"lru_crawlers crawl all\r\n", Err(E::kUnknownCommand)},
      {"LRU_CRAWLER crawl 1\r\n", Err(E::kUnknownCommand)},
      {"lru_crawlerx / HTTP/1.1\r\n", Closed(E::kHttpRequest)},

      // A blank line shorter than 4 bytes with its "\n" is a format error, as in memcached
      // 1.6.45 (1.6.18: ERROR); other short lines keep 1.6.18's ERROR (compatibility.md C28).
      {"\r\n", Err(E::kBadFormat)},
      {"\n", Err(E::kBadFormat)},
      {" \r\n", Err(E::kBadFormat)},
      {" \n", Err(E::kBadFormat)},
      {"  \n", Err(E::kBadFormat)},
      {"\r\r\n", Err(E::kBadFormat)},  // any "\r" counts as blank, as in memcached 1.6.45
      {"\r \n", Err(E::kBadFormat)},
      {"  \r\n", Err(E::kUnknownCommand)},  // 4 bytes: no longer short
      {"   \n", Err(E::kUnknownCommand)},
      {"x\r\n", Err(E::kUnknownCommand)},
      {"ab\n", Err(E::kUnknownCommand)},
      {"\t\r\n", Err(E::kUnknownCommand)},  // memcached 1.6.45: CLIENT_ERROR (C28)
      {"x\n", Err(E::kUnknownCommand)},
      {" x\n", Err(E::kUnknownCommand)},
      // Unknown commands and the HTTP guard.
      {"foo\r\n", Err(E::kUnknownCommand)},
      {"GET a\r\n", Err(E::kUnknownCommand)},
      {"mn\r\n", Err(E::kUnknownCommand)},  // meta commands: not yet (memcached: "MN")
      {"GET / HTTP/1.1\r\n", Closed(E::kHttpRequest)},
      {"GET / HTTP/1.1 \r\n", Closed(E::kHttpRequest)},
      {"HTTP/1.1\r\n", Closed(E::kHttpRequest)},
      {"foo HTTP/\r\n", Closed(E::kHttpRequest)},
      {"POST /x HTTP/1.0\r\n", Closed(E::kHttpRequest)},
      {"rzz / HTTP/1.1\r\n", Closed(E::kHttpRequest)},
      {"foo a HTTP\r\n", Err(E::kUnknownCommand)},
      // memcached 1.6.18: a one-byte command is ERROR before any other check.
      {"x HTTP/1.1\r\n", Err(E::kUnknownCommand)},
      // memcached 1.6.18: commands starting with a, c, d, g, i, s or t are dispatched on that
      // byte, so unknown ones are ERROR even with HTTP/ at the end.
      {"azz / HTTP/1.1\r\n", Err(E::kUnknownCommand)},
      {"czz / HTTP/1.1\r\n", Err(E::kUnknownCommand)},
      {"dzz / HTTP/1.1\r\n", Err(E::kUnknownCommand)},
      {"gzz / HTTP/1.1\r\n", Err(E::kUnknownCommand)},
      {"izz / HTTP/1.1\r\n", Err(E::kUnknownCommand)},
      {"szz / HTTP/1.1\r\n", Err(E::kUnknownCommand)},
      {"tzz / HTTP/1.1\r\n", Err(E::kUnknownCommand)},
      {"set / HTTP/1.1\r\n", Err(E::kUnknownCommand)},
      {"replace / HTTP/1.1\r\n", Err(E::kUnknownCommand)},
      // memcached 1.6.18: only the first 23 tokens are looked at; the 23rd counts as the last.
      {"foo t t t t t t t t t t t t t t t t t t t t t HTTP/1.1 x\r\n", Closed(E::kHttpRequest)},
      {"foo t t t t t t t t t t t t t t t t t t t t t x HTTP/1.1\r\n", Err(E::kUnknownCommand)},
  };
}

TEST(TextParserTest, TableWholeInput) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(Esc(c.in));
    Command cmd;
    size_t consumed = 999;
    ParseResult r = ParseCommand(c.in, &consumed, &cmd);
    Outcome got = FromCommand(r, cmd);
    EXPECT_EQ(got, c.want);
    if (r.status == S::kOk || r.status == S::kError || r.error == E::kHttpRequest) {
      EXPECT_EQ(consumed, c.in.size());
    }
    EXPECT_FALSE(cmd.more_keys);
  }
}

TEST(TextParserTest, TableEveryPrefixNeedsMore) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(Esc(c.in));
    for (size_t k = 0; k < c.in.size(); ++k) {
      Command cmd;
      size_t consumed = 999;
      ParseResult r = ParseCommand(std::string_view(c.in).substr(0, k), &consumed, &cmd);
      ASSERT_EQ(r.status, S::kNeedMore) << "prefix " << k;
      ASSERT_EQ(consumed, 0u);
    }
  }
}

TEST(TextParserTest, TableEverySplitPoint) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(Esc(c.in));
    std::vector<Outcome> want = {c.want};
    if (c.want.status == S::kOk && IsStorage(c.want.type)) {
      want.push_back(kIncomplete);  // the data block has not arrived
    }
    ExpectAtEverySplit(c.in, want);
  }
}

TEST(TextParserTest, TablePipelinedWithNextCommand) {
  const Outcome version{.type = T::kVersion};
  for (const Case& c : Cases()) {
    SCOPED_TRACE(Esc(c.in));
    if (c.want.status == S::kClose) continue;
    std::string in = c.in;
    if (c.want.status == S::kOk && IsStorage(c.want.type)) {
      if (c.want.bytes > 100) continue;
      in += std::string(c.want.bytes, 'd') + "\r\n";
    }
    in += "version\r\n";
    EXPECT_EQ(DriveWhole(in), (std::vector<Outcome>{c.want, version}));
  }
}

// ---- Pipelines
// -----------------------------------------------------------------------------------

TEST(TextParserTest, PipelinesAtEverySplit) {
  const Outcome version{.type = T::kVersion};
  struct Pipeline {
    std::string in;
    std::vector<Outcome> want;
  };
  const std::vector<Pipeline> pipelines = {
      {"set a 0 0 5\r\nhello\r\nget a b\r\nversion\r\n",
       {{.type = T::kSet, .key = "a", .bytes = 5}, {.type = T::kGet, .keys = {"a", "b"}}, version}},
      // memcached 1.6.18: a bad storage line swallows nothing; its data is read as a command.
      {"set a -1 0 1\r\nx\r\nversion\r\n", {Err(E::kBadFormat), Err(E::kUnknownCommand), version}},
      {"set a -1 0 1 noreply\r\nx\r\nversion\r\n",
       {Err(E::kBadFormat, true), Err(E::kUnknownCommand), version}},
      {"set " + k251 + " 0 0 1\r\nx\r\n", {Err(E::kBadFormat), Err(E::kUnknownCommand)}},
      {"set a 0 0 2\r\n\r\n\r\nversion\n",
       {{.type = T::kSet, .key = "a", .bytes = 2}, version}},  // the data may hold "\r\n"
      {"get a\nget b\r\n\r\nincr n 1\r\n",
       {{.type = T::kGet, .keys = {"a"}},
        {.type = T::kGet, .keys = {"b"}},
        Err(E::kBadFormat),  // the blank line (compatibility.md C28)
        {.type = T::kIncr, .key = "n", .delta = 1}}},
      {"\n \r\nab\n \nx\r\nversion\r\n",
       {Err(E::kBadFormat), Err(E::kBadFormat), Err(E::kUnknownCommand), Err(E::kBadFormat),
        Err(E::kUnknownCommand), version}},
      {"version\r\nGET / HTTP/1.1\r\nversion\r\n", {version, Closed(E::kHttpRequest)}},
      {"delete a 1 noreply\r\ndelete a\r\n",
       {Err(E::kBadDeleteFormat, true), {.type = T::kDelete, .key = "a"}}},
      {"get a\r\nget b", {{.type = T::kGet, .keys = {"a"}}, kIncomplete}},
  };
  for (const Pipeline& p : pipelines) {
    SCOPED_TRACE(Esc(p.in));
    ASSERT_EQ(DriveWhole(p.in), p.want);
    ExpectAtEverySplit(p.in, p.want);
  }
}

// ---- Long lines
// ----------------------------------------------------------------------------------

TEST(TextParserTest, JunkWithoutNewlineWaitsUpToTheLimitThenCloses) {
  // memcached 1.6.18: 2048 bytes without newline wait; 2049 close.
  Command cmd;
  size_t consumed = 99;
  std::string junk(kMaxLineLength, 'x');
  EXPECT_EQ(ParseCommand(junk, &consumed, &cmd).status, S::kNeedMore);
  EXPECT_EQ(consumed, 0u);
  junk.push_back('x');
  ParseResult r = ParseCommand(junk, &consumed, &cmd);
  EXPECT_EQ(r.status, S::kClose);
  EXPECT_EQ(r.error, E::kLineTooLong);
  EXPECT_EQ(DriveWhole(std::string(3000, 'x')), std::vector<Outcome>{Closed(E::kLineTooLong)});
}

TEST(TextParserTest, LineOfExactlyTheLimitIsParsed) {
  std::string line = "set a 0 0 1";
  line += std::string(kMaxLineLength - line.size(), ' ');  // newline at index 2048
  line += "\n";
  Command cmd;
  size_t consumed;
  EXPECT_EQ(ParseCommand(line, &consumed, &cmd).status, S::kOk);
  EXPECT_EQ(consumed, line.size());
  // One byte longer closes, even with its newline in the same input (memcached would accept it
  // when the whole line arrived in one read; mcd's verdict does not depend on the reads).
  line.insert(0, " ");
  ParseResult r = ParseCommand(line, &consumed, &cmd);
  EXPECT_EQ(r.status, S::kClose);
  EXPECT_EQ(r.error, E::kLineTooLong);
}

TEST(TextParserTest, LongNonRetrievalLinesClose) {
  for (std::string start : {"set a 0 0 1", "foo", "stats", "getx a", "gat", "gat 10"}) {
    SCOPED_TRACE(start);
    // Only spaces after the start: no command, exptime or key fits in the first 2049 bytes.
    std::string in = start + std::string(3000, ' ') + "a\r\n";
    ASSERT_EQ(DriveWhole(in), std::vector<Outcome>{Closed(E::kLineTooLong)});
  }
  // A key must start within the first 2049 bytes (memcached would wait for the whole line).
  EXPECT_EQ(DriveWhole("get" + std::string(3000, ' ') + "a\r\n"),
            std::vector<Outcome>{Closed(E::kLineTooLong)});
}

std::string ManyKeys(size_t n, std::vector<std::string>* keys) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    std::string k = "key:" + std::to_string(i * 7919);
    if (i % 97 == 5) k = std::string(kMaxKeyLength, static_cast<char>('a' + i % 26));
    if (!s.empty()) s += (i % 13 == 0) ? "   " : " ";
    s += k;
    keys->push_back(k);
  }
  return s;
}

std::vector<size_t> Chunks(size_t len, size_t size) {
  std::vector<size_t> cuts;
  for (size_t k = size; k < len; k += size) cuts.push_back(k);
  return cuts;
}

TEST(TextParserTest, LongGetLineStreamsTheSameKeysAtAnySplit) {
  std::vector<std::string> keys{};
  const std::string line = "get " + ManyKeys(10000, &keys) + "\r\n";
  ASSERT_GT(line.size(), 100000u);
  const Outcome version{.type = T::kVersion};
  const std::vector<Outcome> want = {{.type = T::kGet, .keys = keys}, version};
  const std::string in = line + "version\r\n";
  EXPECT_EQ(DriveWhole(in), want);
  // One cut in a spread of places; the 1-byte chunks below split at every byte at once.
  for (size_t k = 1; k < in.size(); k += 1009) ASSERT_EQ(Drive(in, {k}), want) << "cut " << k;
  for (size_t k : {2047, 2048, 2049, 2050, 4096}) ASSERT_EQ(Drive(in, {k}), want) << "cut " << k;
  for (size_t size : {1, 2, 3, 7, 100, 251, 1000, 2049, 4096, 16384}) {
    ASSERT_EQ(Drive(in, Chunks(in.size(), size)), want) << "chunks of " << size;
  }
  // The "\r" and "\n" arriving apart.
  ASSERT_EQ(Drive(in, {line.size() - 1}), want);
}

TEST(TextParserTest, LongGetsAndGatLinesStream) {
  std::vector<std::string> keys{};
  const std::string list = ManyKeys(1000, &keys);
  for (auto [line, want] : std::vector<std::pair<std::string, Outcome>>{
           {"gets " + list + "\n", {.type = T::kGets, .keys = keys}},
           {"gat 100 " + list + "\r\n", {.type = T::kGat, .keys = keys, .exptime = 100}},
           {"gats -1 " + list + "\r\n", {.type = T::kGats, .keys = keys, .exptime = -1}},
           {std::string(100, ' ') + "get " + list + "\r\n", {.type = T::kGet, .keys = keys}},
       }) {
    SCOPED_TRACE(line.substr(0, 20));
    ASSERT_EQ(DriveWhole(line), std::vector<Outcome>{want});
    for (size_t size : {1, 5, 64, 1000}) {
      ASSERT_EQ(Drive(line, Chunks(line.size(), size)), std::vector<Outcome>{want});
    }
  }
  // memcached 1.6.18: more than 100 leading spaces before a long get close the connection.
  EXPECT_EQ(DriveWhole(std::string(101, ' ') + "get " + list + "\r\n"),
            std::vector<Outcome>{Closed(E::kLineTooLong)});
}

TEST(TextParserTest, StreamedFirstCallKeepsTheTrailingKey) {
  std::string in = "get ";
  for (int i = 0; i < 600; ++i) in += "abc ";
  in += "tail";  // 2408 bytes, no newline
  Command cmd;
  size_t consumed;
  ParseResult r = ParseCommand(in, &consumed, &cmd);
  ASSERT_EQ(r.status, S::kOk);
  EXPECT_TRUE(cmd.more_keys);
  EXPECT_EQ(SplitKeys(cmd.keys).size(), 600u);
  EXPECT_EQ(in.substr(consumed), " tail");
  // The continuation with only the partial key needs more; with its end it completes.
  std::string rest = in.substr(consumed);
  EXPECT_EQ(ParseKeysContinuation(rest, &consumed, &cmd).status, S::kOk);  // the space
  EXPECT_EQ(consumed, 1u);
  EXPECT_TRUE(cmd.keys.empty());
  rest.erase(0, 1);
  EXPECT_EQ(ParseKeysContinuation(rest, &consumed, &cmd).status, S::kNeedMore);
  EXPECT_EQ(consumed, 0u);
  rest += "\r";
  EXPECT_EQ(ParseKeysContinuation(rest, &consumed, &cmd).status, S::kNeedMore);
  rest += "\n";
  EXPECT_EQ(ParseKeysContinuation(rest, &consumed, &cmd).status, S::kOk);
  EXPECT_EQ(consumed, rest.size());
  EXPECT_EQ(cmd.keys, "tail");
  EXPECT_FALSE(cmd.more_keys);
  EXPECT_EQ(cmd.type, T::kGet);
}

TEST(TextParserTest, StreamedLineWithBadKeyIsSkippedToItsEnd) {
  std::vector<std::string> keys{};
  const std::string list = ManyKeys(2000, &keys);
  const Outcome version{.type = T::kVersion};
  const std::vector<Outcome> bad_format = {Err(E::kBadFormat), version};
  for (const std::string& line : {
           "get " + list + " " + k251 + " more keys\r\n", "get " + list + " " + k251 + "\r\n",
           "get " + list + " " + std::string(5000, 'k') + " b\r\n", "get " + list + " a\tb c\r\n",
           "get " + list + " a\rb c\r\n",
           "gets a " + k251 + " " + list + "\r\n",  // the bad key within the first 2049 bytes
       }) {
    SCOPED_TRACE(Esc(line.substr(line.size() - 40)));
    const std::string in = line + "version\r\n";
    ASSERT_EQ(DriveWhole(in), bad_format);
    for (size_t size : {1, 3, 100, 300, 2049, 4096}) {
      ASSERT_EQ(Drive(in, Chunks(in.size(), size)), bad_format) << "chunks of " << size;
    }
    for (size_t k = 1; k < in.size(); k += 211) ASSERT_EQ(Drive(in, {k}), bad_format);
  }
  // A key of 250 bytes then "\r" at the end of a chunk is still fine: the "\r" may be stripped.
  const std::string ok = "get " + list + " " + k250 + "\r\n";
  std::vector<std::string> ok_keys = keys;
  ok_keys.push_back(k250);
  ASSERT_EQ(Drive(ok, {ok.size() - 1}), (std::vector<Outcome>{{.type = T::kGet, .keys = ok_keys}}));
}

TEST(TextParserTest, StreamedGatWithBadExptimeIsSkipped) {
  std::vector<std::string> keys{};
  const std::string in = "gat abc " + ManyKeys(2000, &keys) + "\r\nversion\r\n";
  const std::vector<Outcome> want = {Err(E::kBadExptime), Outcome{.type = T::kVersion}};
  EXPECT_EQ(DriveWhole(in), want);
  for (size_t size : {1, 100, 2049, 4096}) {
    ASSERT_EQ(Drive(in, Chunks(in.size(), size)), want) << "chunks of " << size;
  }
}

TEST(TextParserTest, DiscardingModeContract) {
  std::string first = "get a " + std::string(3000, 'k');  // no newline
  Command cmd;
  size_t consumed;
  ParseResult r = ParseCommand(first, &consumed, &cmd);
  ASSERT_EQ(r.status, S::kOk);
  EXPECT_EQ(consumed, first.size());
  EXPECT_TRUE(cmd.more_keys);
  EXPECT_TRUE(cmd.keys.empty());
  EXPECT_EQ(cmd.stream_error, E::kBadFormat);
  EXPECT_EQ(ParseKeysContinuation("", &consumed, &cmd).status, S::kNeedMore);
  r = ParseKeysContinuation("more junk", &consumed, &cmd);
  EXPECT_EQ(r.status, S::kOk);
  EXPECT_EQ(consumed, 9u);
  EXPECT_TRUE(cmd.more_keys);
  r = ParseKeysContinuation("junk\r\nget b\r\n", &consumed, &cmd);
  EXPECT_EQ(r.status, S::kError);
  EXPECT_EQ(r.error, E::kBadFormat);
  EXPECT_EQ(consumed, 6u);
  EXPECT_FALSE(cmd.more_keys);
  EXPECT_EQ(cmd.stream_error, E::kNone);
}

// Random pipelines from a dictionary of protocol fragments: cutting the input anywhere must not
// change what the parser sees.
TEST(TextParserTest, RandomPipelinesGiveTheSameCommandsAtAnyCut) {
  const std::vector<std::string> dict = {
      "get",   "gets",      "gat",       "set",        "cas",     "delete", "incr",
      "touch", "flush_all", "verbosity", "stats",      "version", "foo",    "HTTP/1.1",
      " ",     " ",         " ",         "  ",         "a",       "key",    "0",
      "1",     "-1",        "10",        "noreply",    "\r\n",    "\n",     "\r",
      "\t",    k250,        k251,        "4294967296", "\x7f",    "x\r\n"};
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  for (int round = 0; round < 300; ++round) {
    std::string in;
    size_t parts = 1 + next() % 40;
    for (size_t i = 0; i < parts; ++i) in += dict[next() % dict.size()];
    if (round % 10 == 0) in += std::string(next() % 4000, ' ') + "get a b\r\n";
    SCOPED_TRACE(Esc(in));
    const std::vector<Outcome> whole = DriveWhole(in);
    for (int j = 0; j < 20; ++j) {
      std::vector<size_t> cuts;
      size_t at = 0;
      for (;;) {
        at += 1 + next() % 300;
        if (at >= in.size()) break;
        cuts.push_back(at);
      }
      ASSERT_EQ(Drive(in, cuts), whole);
    }
  }
}

// ---- Round trips
// ---------------------------------------------------------------------------------

TEST(TextParserTest, ComposeThenParseRoundTrips) {
  auto make = [](T type) {
    Command c;
    c.type = type;
    return c;
  };
  std::vector<Command> cmds;
  for (T t : {T::kGet, T::kGets}) {
    Command c = make(t);
    c.keys = "a bb ccc";
    cmds.push_back(c);
  }
  for (T t : {T::kGat, T::kGats}) {
    for (int64_t e : {int64_t{0}, int64_t{-1}, int64_t{2592001}, int64_t{INT32_MAX}}) {
      Command c = make(t);
      c.exptime = e;
      c.keys = "k";
      cmds.push_back(c);
    }
  }
  for (T t : {T::kSet, T::kAdd, T::kReplace, T::kAppend, T::kPrepend, T::kCas}) {
    for (bool noreply : {false, true}) {
      Command c = make(t);
      c.key = "key:1";
      c.flags = 4294967295u;
      c.exptime = -5;
      c.bytes = 2147483645u;
      c.cas_unique = t == T::kCas ? UINT64_MAX : 0;
      c.noreply = noreply;
      cmds.push_back(c);
    }
  }
  for (bool noreply : {false, true}) {
    Command d = make(T::kDelete);
    d.key = "x";
    d.noreply = noreply;
    cmds.push_back(d);
    for (T t : {T::kIncr, T::kDecr}) {
      Command c = make(t);
      c.key = "n";
      c.delta = 1234567890123ull;
      c.noreply = noreply;
      cmds.push_back(c);
    }
    Command touch = make(T::kTouch);
    touch.key = "t";
    touch.exptime = INT32_MIN;
    touch.noreply = noreply;
    cmds.push_back(touch);
    for (bool delay : {false, true}) {
      Command f = make(T::kFlushAll);
      f.has_delay = delay;
      f.exptime = delay ? 60 : 0;
      f.noreply = noreply;
      cmds.push_back(f);
    }
    Command v = make(T::kVerbosity);
    v.level = 2;
    v.noreply = noreply;
    cmds.push_back(v);
    Command m = make(T::kCacheMemlimit);
    m.level = 4294967295;
    m.noreply = noreply;
    cmds.push_back(m);
  }
  cmds.push_back(make(T::kVersion));
  cmds.push_back(make(T::kQuit));
  cmds.push_back(make(T::kStats));
  Command stats = make(T::kStats);
  stats.args = "cachedump 1 10";
  cmds.push_back(stats);
  cmds.push_back(make(T::kShutdown));
  Command shutdown = make(T::kShutdown);
  shutdown.args = "graceful";
  cmds.push_back(shutdown);
  cmds.push_back(make(T::kLruCrawler));
  for (const char* args : {"crawl all", "metadump 1,2", "mgdump hash", "sleep 0", "enable"}) {
    Command crawler = make(T::kLruCrawler);
    crawler.args = args;
    cmds.push_back(crawler);
  }

  for (const Command& c : cmds) {
    std::string wire = ComposeCommand(c);
    SCOPED_TRACE(Esc(wire));
    Command back;
    size_t consumed;
    ParseResult r = ParseCommand(wire, &consumed, &back);
    ASSERT_EQ(r.status, S::kOk);
    EXPECT_EQ(consumed, wire.size());
    EXPECT_EQ(FromCommand(r, back), FromCommand(r, c));
    EXPECT_EQ(ComposeCommand(back), wire);
  }
  EXPECT_EQ(ComposeCommand(cmds.front()), "get a bb ccc\r\n");
}

// ---- Small pieces
// --------------------------------------------------------------------------------

TEST(TextParserTest, ErrorRepliesAreMemcachedStrings) {
  EXPECT_EQ(wire::ErrorReply(E::kUnknownCommand), "ERROR\r\n");
  EXPECT_EQ(wire::ErrorReply(E::kBadFormat), "CLIENT_ERROR bad command line format\r\n");
  EXPECT_EQ(wire::ErrorReply(E::kBadDelta), "CLIENT_ERROR invalid numeric delta argument\r\n");
  EXPECT_EQ(wire::ErrorReply(E::kBadExptime), "CLIENT_ERROR invalid exptime argument\r\n");
  EXPECT_EQ(wire::ErrorReply(E::kBadDeleteFormat),
            "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
  EXPECT_TRUE(wire::ErrorReply(E::kNone).empty());
  EXPECT_TRUE(wire::ErrorReply(E::kLineTooLong).empty());
  EXPECT_TRUE(wire::ErrorReply(E::kHttpRequest).empty());
}

TEST(TextParserTest, KeyIteratorSkipsRepeatedSpaces) {
  EXPECT_EQ(SplitKeys("a  b   c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(SplitKeys("").empty());
}

TEST(TextParserTest, ParseCommandResetsTheCommand) {
  Command cmd;
  size_t consumed;
  ASSERT_EQ(ParseCommand("cas a 1 2 3 4 noreply\r\n", &consumed, &cmd).status, S::kOk);
  ASSERT_EQ(ParseCommand("get b\r\n", &consumed, &cmd).status, S::kOk);
  EXPECT_EQ(FromCommand({S::kOk}, cmd), (Outcome{.type = T::kGet, .keys = {"b"}}));
}

}  // namespace
}  // namespace mcd::protocol
