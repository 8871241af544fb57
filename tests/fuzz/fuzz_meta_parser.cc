// Fuzz target for the meta-protocol parser and reply encoder (ParseMetaCommand, DetectMeta,
// ComposeMetaCommand, EncodeMetaReply, PeekMgKey).
//
// Input: a 3-byte header, then the byte stream a client sends.
//   bytes 0-1: a split point (big endian, modulo the stream size + 1)
//   byte 2: a piece size for a third feeding (1..256 bytes per read)
// The stream is parsed the way a session feeds it (unconsumed bytes carried over; after an ms
// line its data block is skipped, after a refused ms line the bytes it swallows), three times:
// whole, split in two, and in equal pieces.
//
// Invariants:
// - every call: consumed <= input size; kNeedMore iff the input holds no newline and is at most
//   kMaxLineLength bytes, with consumed == 0; kClose only for kLineTooLong, with consumed == 0;
//   otherwise consumed ends exactly at the first newline;
// - kError: a non-empty reply; a swallow only for an ms line, and then at least 2 bytes;
//   DetectMeta() == kNotMeta only for lines refused with ERROR or (shorter than 4 bytes) a bad
//   format; kMeta never gives ERROR;
// - kOk: the key and opaque lie inside the line; the key is 1..250 bytes without space or control
//   byte; the flags are distinct known letters matching the mask, at most 18; a binary key decodes
//   to 1..187 bytes; the opaque starts with 'O' and is at most 32 bytes; ms and ma modes are valid;
// - re-parsing the consumed line on its own gives the same outcome;
// - round trip: ComposeMetaCommand -> ParseMetaCommand gives the same fields;
// - the reply encoder writes at most kMetaReplyMax bytes for every code, one "\r\n"-ended line
//   (plus ma's number);
// - the sequence of outcomes and the final state are the same however the stream is split.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "mcd/protocol/meta.h"
#include "mcd/protocol/meta_reply.h"
#include "mcd/protocol/wire.h"

namespace mcd::fuzz {
namespace {

using protocol::MetaCode;
using protocol::MetaCommand;
using protocol::MetaCommandType;
using protocol::MetaDetect;
using protocol::MetaError;
using protocol::MetaParseResult;
using protocol::ParseStatus;

bool IsControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool Inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  const char* b = whole.data();
  return part.data() >= b && part.data() + part.size() <= b + whole.size();
}

std::string Describe(const MetaParseResult& r, const MetaCommand& c) {
  std::string s = "status=" + std::to_string(static_cast<int>(r.status)) +
                  " error=" + std::to_string(static_cast<int>(r.error)) +
                  " swallow=" + std::to_string(r.swallow);
  if (r.status != ParseStatus::kOk) return s;
  s += " type=" + std::to_string(static_cast<int>(c.type));
  s += " key=" + Escape(c.wire_key) + " binary=" + std::to_string(c.key_binary);
  if (c.key_binary) s += " decoded=" + Escape(c.Key());
  s += " flags=" + std::string(c.order.data(), c.num_flags);
  s += " T=" + std::to_string(c.ttl) + " N=" + std::to_string(c.vivify_ttl);
  s += " R=" + std::to_string(c.recache_ttl) + " F=" + std::to_string(c.client_flags);
  s += " C=" + std::to_string(c.compare_cas) + " E=" + std::to_string(c.new_cas);
  s += " D=" + std::to_string(c.delta) + " J=" + std::to_string(c.initial);
  s += " M=" + std::to_string(static_cast<int>(c.mode)) + " O=" + Escape(c.opaque);
  s += " datalen=" + std::to_string(c.datalen);
  return s;
}

void CheckCommand(std::string_view line, const MetaCommand& c, const std::string& ctx) {
  FUZZ_CHECK(Inside(c.wire_key, line), ctx);
  FUZZ_CHECK(Inside(c.opaque, line), ctx);
  if (c.type == MetaCommandType::kNoop) return;
  FUZZ_CHECK(!c.wire_key.empty() && c.wire_key.size() <= protocol::kMaxKeyLength, ctx);
  for (char ch : c.wire_key) FUZZ_CHECK(ch != ' ' && !IsControl(ch), ctx);
  if (c.key_binary) {
    FUZZ_CHECK(c.binary_key_len > 0 && c.binary_key_len <= protocol::kMetaMaxBinaryKeyLength, ctx);
  }
  if (c.type == MetaCommandType::kDebug) {
    FUZZ_CHECK(c.num_flags == 0 && c.flag_mask == 0, ctx);
    return;
  }
  FUZZ_CHECK(c.num_flags <= protocol::kMetaMaxFlags, ctx);
  uint64_t mask = 0;
  static constexpr std::string_view kKnown = "bcfhklqstuvxCDEFIJLMNOPRT";
  for (size_t i = 0; i < c.num_flags; ++i) {
    const char f = c.order[i];
    FUZZ_CHECK(kKnown.find(f) != std::string_view::npos, ctx);
    FUZZ_CHECK((mask & MetaCommand::Bit(f)) == 0, ctx);
    mask |= MetaCommand::Bit(f);
  }
  FUZZ_CHECK(mask == c.flag_mask, ctx);
  FUZZ_CHECK(c.Has('b') == c.key_binary, ctx);
  FUZZ_CHECK(c.Has('O') == !c.opaque.empty(), ctx);
  if (c.Has('O')) {
    FUZZ_CHECK(c.opaque.front() == 'O' && c.opaque.size() <= protocol::kMetaMaxOpaqueLength, ctx);
  }
  if (c.type == MetaCommandType::kSet) {
    FUZZ_CHECK(std::string_view("\0EAPRS", 6).find(c.mode) != std::string_view::npos, ctx);
    FUZZ_CHECK(c.datalen <= 0x7fffffffu - 2, ctx);
  }
  if (c.type == MetaCommandType::kArithmetic) {
    FUZZ_CHECK(std::string_view("\0I+D-", 5).find(c.mode) != std::string_view::npos, ctx);
  }
}

bool SameFields(const MetaCommand& a, const MetaCommand& b) {
  return a.type == b.type && a.wire_key == b.wire_key && a.key_binary == b.key_binary &&
         a.Key() == b.Key() && a.flag_mask == b.flag_mask && a.num_flags == b.num_flags &&
         std::equal(a.order.begin(), a.order.begin() + a.num_flags, b.order.begin()) &&
         a.ttl == b.ttl && a.vivify_ttl == b.vivify_ttl && a.recache_ttl == b.recache_ttl &&
         a.client_flags == b.client_flags && a.compare_cas == b.compare_cas &&
         a.new_cas == b.new_cas && a.delta == b.delta && a.initial == b.initial &&
         a.mode == b.mode && a.opaque == b.opaque && a.datalen == b.datalen;
}

void CheckRoundTrip(const MetaCommand& cmd) {
  const std::string line = protocol::ComposeMetaCommand(cmd);
  // A line parsed from a bare "\n" (or with fewer spaces) can compose past the line limit.
  if (line.size() > protocol::kMaxLineLength + 1) return;
  MetaCommand back;
  size_t used = 0;
  const MetaParseResult r = protocol::ParseMetaCommand(line, &used, &back);
  const MetaParseResult ok{ParseStatus::kOk};
  auto ctx = [&] {
    return "command: " + Describe(ok, cmd) + "\ncomposed: " + Escape(line) +
           "\nparsed: " + Describe(r, back);
  };
  FUZZ_CHECK(r.status == ParseStatus::kOk, ctx());
  FUZZ_CHECK(used == line.size(), ctx());
  FUZZ_CHECK(SameFields(back, cmd), ctx());
}

void CheckEncoder(const MetaCommand& cmd) {
  if (cmd.type == MetaCommandType::kNoop || cmd.type == MetaCommandType::kDebug) return;
  static constexpr MetaCode kCodes[] = {MetaCode::kHd, MetaCode::kVa, MetaCode::kEn,
                                        MetaCode::kNs, MetaCode::kEx, MetaCode::kNf};
  std::string buf(protocol::kMetaReplyMax, '\0');
  for (MetaCode code : kCodes) {
    for (bool item_binary : {false, true}) {
      protocol::MetaReplyValues v{.code = code,
                                  .value_length = UINT32_MAX,
                                  .number = "18446744073709551615",
                                  .item_key_binary = item_binary,
                                  .client_flags = UINT64_MAX,
                                  .cas = UINT64_MAX,
                                  .ttl = INT64_MAX,
                                  .size = UINT32_MAX,
                                  .last_access = UINT32_MAX,
                                  .hit_before = true,
                                  .win_sent = true,
                                  .stale = true,
                                  .won = true};
      const size_t n = protocol::EncodeMetaReply(cmd, v, buf.data());
      const std::string_view out(buf.data(), n);
      const std::string ctx = "reply: " + Escape(out) + "\ncode " +
                              std::to_string(static_cast<int>(code)) + " for " +
                              Describe(MetaParseResult{ParseStatus::kOk}, cmd);
      FUZZ_CHECK(n <= protocol::kMetaReplyMax, ctx);
      FUZZ_CHECK(out.size() >= 4 && out.substr(out.size() - 2) == "\r\n", ctx);
      const bool two_lines = code == MetaCode::kVa && cmd.type == MetaCommandType::kArithmetic;
      const size_t nl = out.find('\n');
      if (two_lines) {
        FUZZ_CHECK(out.substr(nl + 1) == "18446744073709551615\r\n", ctx);
      } else if (!cmd.Has('k')) {
        // Without k the only caller bytes are the opaque, which may hold any byte but '\n'.
        FUZZ_CHECK(nl == out.size() - 1, ctx);
      }
    }
  }
}

// Plays the session: bytes arrive in pieces, unconsumed bytes are kept for the next read, data
// blocks and swallowed bytes are skipped. Records every outcome.
class Feeder {
 public:
  void Feed(std::string_view piece) {
    if (closed_) return;
    pending_.append(piece);
    size_t off = 0;
    for (;;) {
      if (skip_ > 0) {
        const uint64_t n = std::min<uint64_t>(skip_, pending_.size() - off);
        off += n;
        skip_ -= n;
        if (skip_ > 0) break;
      }
      if (off == pending_.size()) break;
      const std::string_view in = std::string_view(pending_).substr(off);
      MetaCommand cmd;
      size_t used = 0;
      const MetaParseResult r = protocol::ParseMetaCommand(in, &used, &cmd);
      CheckCall(in, used, r, cmd);
      CheckPeek(in, used, r, cmd);
      if (r.status == ParseStatus::kNeedMore) break;
      events_.push_back(Describe(r, cmd));
      if (r.status == ParseStatus::kClose) {
        closed_ = true;
        break;
      }
      off += used;
      if (r.status == ParseStatus::kError) {
        skip_ = r.swallow;
      } else if (cmd.type == MetaCommandType::kSet) {
        skip_ = uint64_t{cmd.datalen} + 2;
      }
    }
    pending_.erase(0, off);
  }

  std::string Summary() const {
    std::string s;
    for (const std::string& e : events_) s += e + "\n";
    if (closed_) return s + "closed";
    return s + "skip=" + std::to_string(skip_) + " pending=" + Escape(pending_, 1 << 20);
  }

 private:
  // PeekMgKey (the session's prefetch look-ahead) agrees with the parser: a key it finds lies in
  // the line the parser consumes, whose length it gives; for a parsed mg line with a text key
  // it is the parser's key.
  static void CheckPeek(std::string_view in, size_t used, const MetaParseResult& r,
                        const MetaCommand& cmd) {
    size_t length = 0;
    const std::string_view key = protocol::PeekMgKey(in, &length);
    auto ctx = [&] {
      return "input: " + Escape(in) + "\npeeked: " + Escape(key) + " length " +
             std::to_string(length) + "\nparsed: " + Describe(r, cmd);
    };
    if (key.empty()) {
      FUZZ_CHECK(!(r.status == ParseStatus::kOk && cmd.type == MetaCommandType::kGet &&
                   in.substr(0, 3) == "mg "),
                 ctx());
      return;
    }
    FUZZ_CHECK(r.status == ParseStatus::kOk || r.status == ParseStatus::kError, ctx());
    FUZZ_CHECK(length == used, ctx());
    FUZZ_CHECK(key.data() >= in.data() + 3 && key.data() + key.size() <= in.data() + used, ctx());
    if (r.status == ParseStatus::kOk && cmd.type == MetaCommandType::kGet && !cmd.key_binary) {
      FUZZ_CHECK(key.data() == cmd.wire_key.data() && key.size() == cmd.wire_key.size(), ctx());
    }
  }

  static void CheckCall(std::string_view in, size_t used, const MetaParseResult& r,
                        const MetaCommand& cmd) {
    const size_t window = std::min(in.size(), protocol::kMaxLineLength + 1);
    const char* nl = static_cast<const char*>(std::memchr(in.data(), '\n', window));
    auto ctx = [&] {
      return "input: " + Escape(in) + "\nconsumed=" + std::to_string(used) + " " + Describe(r, cmd);
    };
    FUZZ_CHECK(used <= in.size(), ctx());
    if (nl == nullptr) {
      if (in.size() <= protocol::kMaxLineLength) {
        FUZZ_CHECK(r.status == ParseStatus::kNeedMore && used == 0, ctx());
      } else {
        FUZZ_CHECK(r.status == ParseStatus::kClose && r.error == MetaError::kLineTooLong, ctx());
        FUZZ_CHECK(used == 0, ctx());
      }
      return;
    }
    const size_t line_len = static_cast<size_t>(nl - in.data()) + 1;
    FUZZ_CHECK(r.status == ParseStatus::kOk || r.status == ParseStatus::kError, ctx());
    FUZZ_CHECK(used == line_len, ctx());
    const std::string_view line = in.substr(0, used);
    const MetaDetect detect = protocol::DetectMeta(line);
    FUZZ_CHECK(detect != MetaDetect::kNeedMore, ctx());
    if (r.status == ParseStatus::kError) {
      FUZZ_CHECK(!protocol::wire::MetaErrorReply(r.error).empty(), ctx());
      if (r.swallow != 0) FUZZ_CHECK(line.starts_with("ms ") && r.swallow >= 2, ctx());
      if (detect == MetaDetect::kMeta) FUZZ_CHECK(r.error != MetaError::kUnknownCommand, ctx());
    }
    if (detect == MetaDetect::kNotMeta) {
      FUZZ_CHECK(r.status == ParseStatus::kError, ctx());
      FUZZ_CHECK(r.error == MetaError::kUnknownCommand ||
                     (r.error == MetaError::kBadFormat && line.size() < 4),
                 ctx());
    }

    // The line alone parses the same.
    const std::string copy(line);
    MetaCommand again;
    size_t used2 = 0;
    const MetaParseResult r2 = protocol::ParseMetaCommand(copy, &used2, &again);
    FUZZ_CHECK(
        used2 == used && r2.status == r.status && r2.error == r.error && r2.swallow == r.swallow,
        ctx() + "\nagain: " + Describe(r2, again));
    if (r.status != ParseStatus::kOk) return;
    FUZZ_CHECK(SameFields(again, cmd), ctx() + "\nagain: " + Describe(r2, again));
    CheckCommand(line, cmd, ctx());
    CheckRoundTrip(cmd);
    CheckEncoder(cmd);
  }

  std::string pending_;
  uint64_t skip_ = 0;
  bool closed_ = false;
  std::vector<std::string> events_;
};

}  // namespace
}  // namespace mcd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mcd::fuzz::ByteReader;
  using mcd::fuzz::Feeder;
  ByteReader reader(data, size);
  const uint16_t split_raw = static_cast<uint16_t>((reader.Byte() << 8) | reader.Byte());
  const size_t piece_raw = reader.Byte();
  const std::string_view stream = reader.Rest();

  Feeder whole;
  whole.Feed(stream);
  const std::string expected = whole.Summary();

  const size_t split = split_raw % (stream.size() + 1);
  Feeder two;
  two.Feed(stream.substr(0, split));
  two.Feed(stream.substr(split));
  FUZZ_CHECK(two.Summary() == expected, "split at " + std::to_string(split) + "\nwhole:\n" +
                                            expected + "\nsplit:\n" + two.Summary());

  size_t piece = piece_raw + 1;
  if (stream.size() > 512 && piece < 16) piece = 16;
  Feeder pieces;
  for (size_t off = 0; off < stream.size(); off += piece) pieces.Feed(stream.substr(off, piece));
  FUZZ_CHECK(pieces.Summary() == expected, "pieces of " + std::to_string(piece) + "\nwhole:\n" +
                                               expected + "\npieces:\n" + pieces.Summary());
  return 0;
}
