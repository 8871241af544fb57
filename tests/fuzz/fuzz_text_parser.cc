// Fuzz target for the text-protocol parser (ParseCommand, ParseKeysContinuation, ComposeCommand).
//
// Input: a 4-byte header, then the byte stream a client sends.
//   byte 0: bit 7 set = start inside a streamed retrieval line (ParseKeysContinuation first),
//           bits 0-1 its command (get/gets/gat/gats), bits 2-3 a pending stream error
//   bytes 1-2: a split point (big endian, modulo the stream size + 1)
//   byte 3: a piece size for a third feeding (1..256 bytes per read)
// The stream is parsed the way the server feeds it (unconsumed bytes carried over, a storage
// command's data block skipped), three times: whole, split in two, and in equal pieces.
//
// Invariants:
// - every call: consumed <= input size; kNeedMore => consumed == 0; kOk/kError => consumed > 0
//   and a complete line ends at the consumed bytes unless a streamed line continues; kClose only
//   for a too-long line (consumed 0) or an HTTP request line; errors map to a non-empty reply;
// - kOk: every string_view of the command lies inside the consumed bytes; keys are valid (1..250
//   bytes, no space or control byte); a storage command's length is at most 2^31 - 3; a
//   continuation keeps the command's type and exptime;
// - the sequence of commands and errors (a streamed retrieval line counted as one command with
//   all its keys, or as its error alone) and the final state are the same however the stream is
//   split;
// - round trip: for every complete kOk command, ComposeCommand -> ParseCommand gives kOk, consumes
//   the whole composed line and yields equal fields.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "mcd/protocol/text_parser.h"
#include "mcd/protocol/wire.h"

namespace mcd::fuzz {
namespace {

using protocol::Command;
using protocol::CommandType;
using protocol::ParseError;
using protocol::ParseResult;
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

bool ValidKey(std::string_view k) {
  if (k.empty() || k.size() > protocol::kMaxKeyLength) return false;
  for (char c : k) {
    if (c == ' ' || IsControl(c)) return false;
  }
  return true;
}

bool SingleKey(CommandType t) {
  return protocol::IsStorage(t) || t == CommandType::kDelete || t == CommandType::kIncr ||
         t == CommandType::kDecr || t == CommandType::kTouch;
}

std::string Describe(const Command& c) {
  std::string s = "type=" + std::to_string(static_cast<int>(c.type));
  s += " noreply=" + std::to_string(c.noreply);
  s += " key=" + Escape(c.key);
  s += " keys=" + Escape(c.keys);
  s += " more=" + std::to_string(c.more_keys);
  s += " flags=" + std::to_string(c.flags);
  s += " exptime=" + std::to_string(c.exptime);
  s += " bytes=" + std::to_string(c.bytes);
  s += " cas=" + std::to_string(c.cas_unique);
  s += " delta=" + std::to_string(c.delta);
  s += " delay=" + std::to_string(c.has_delay);
  s += " level=" + std::to_string(c.level);
  s += " args=" + Escape(c.args);
  return s;
}

std::string JoinKeys(std::string_view keys) {
  std::string r;
  protocol::KeyIterator it(keys);
  std::string_view k;
  while (it.Next(&k)) {
    r.append(k);
    r.push_back(' ');
  }
  return r;
}

bool SameFields(const Command& a, const Command& b) {
  return a.type == b.type && a.noreply == b.noreply && a.key == b.key && a.keys == b.keys &&
         a.more_keys == b.more_keys && a.flags == b.flags && a.exptime == b.exptime &&
         a.bytes == b.bytes && a.cas_unique == b.cas_unique && a.delta == b.delta &&
         a.has_delay == b.has_delay && a.level == b.level && a.args == b.args;
}

void CheckRoundTrip(const Command& cmd) {
  const std::string line = protocol::ComposeCommand(cmd);
  // A line parsed from a bare "\n" (or with fewer spaces) can compose one byte or more past the
  // line limit ("\r\n", single spaces): that form would be refused, and proves nothing.
  if (line.size() > protocol::kMaxLineLength + 1) return;
  Command back;
  size_t used = 0;
  ParseResult r = protocol::ParseCommand(line, &used, &back);
  auto ctx = [&] {
    return "command: " + Describe(cmd) + "\ncomposed: " + Escape(line) +
           "\nparsed: " + Describe(back) + " status " + std::to_string(static_cast<int>(r.status)) +
           " error " + std::to_string(static_cast<int>(r.error));
  };
  FUZZ_CHECK(r.status == ParseStatus::kOk, ctx());
  FUZZ_CHECK(used == line.size(), ctx());
  FUZZ_CHECK(SameFields(back, cmd), ctx());
}

// Checks one parser call. `in` is what was passed, `before` the command state passed to a
// continuation (unused for ParseCommand).
void CheckCall(std::string_view in, size_t used, const ParseResult& r, const Command& cmd,
               bool continuation, const Command& before) {
  auto ctx = [&] {
    return "input: " + Escape(in) + "\ncontinuation=" + std::to_string(continuation) +
           " status=" + std::to_string(static_cast<int>(r.status)) +
           " error=" + std::to_string(static_cast<int>(r.error)) +
           " consumed=" + std::to_string(used) + "\ncommand: " + Describe(cmd);
  };
  FUZZ_CHECK(used <= in.size(), ctx());
  switch (r.status) {
    case ParseStatus::kNeedMore:
      FUZZ_CHECK(used == 0, ctx());
      return;
    case ParseStatus::kClose:
      FUZZ_CHECK(!continuation, ctx());
      if (r.error == ParseError::kLineTooLong) {
        FUZZ_CHECK(used == 0, ctx());
        FUZZ_CHECK(in.size() > protocol::kMaxLineLength, ctx());
      } else {
        FUZZ_CHECK(r.error == ParseError::kHttpRequest, ctx());
        FUZZ_CHECK(used > 0 && in[used - 1] == '\n', ctx());
      }
      return;
    case ParseStatus::kError:
      FUZZ_CHECK(used > 0 && in[used - 1] == '\n', ctx());
      FUZZ_CHECK(!protocol::wire::ErrorReply(r.error).empty(), ctx());
      FUZZ_CHECK(!cmd.more_keys, ctx());
      return;
    case ParseStatus::kOk:
      break;
  }
  FUZZ_CHECK(used > 0, ctx());
  const std::string_view consumed = in.substr(0, used);
  FUZZ_CHECK(Inside(cmd.key, consumed), ctx());
  FUZZ_CHECK(Inside(cmd.keys, consumed), ctx());
  FUZZ_CHECK(Inside(cmd.args, consumed), ctx());
  if (!cmd.more_keys) FUZZ_CHECK(in[used - 1] == '\n', ctx());
  if (continuation) {
    FUZZ_CHECK(cmd.type == before.type && cmd.exptime == before.exptime, ctx());
  }
  if (protocol::IsRetrieval(cmd.type)) {
    FUZZ_CHECK(cmd.key.empty(), ctx());
    if (!cmd.keys.empty()) FUZZ_CHECK(cmd.keys.front() != ' ' && cmd.keys.back() != ' ', ctx());
    protocol::KeyIterator it(cmd.keys);
    std::string_view k;
    while (it.Next(&k)) FUZZ_CHECK(ValidKey(k), ctx() + "\nkey: " + Escape(k));
  } else {
    FUZZ_CHECK(!continuation && !cmd.more_keys && cmd.keys.empty(), ctx());
    if (SingleKey(cmd.type)) FUZZ_CHECK(ValidKey(cmd.key), ctx());
    if (protocol::IsStorage(cmd.type)) FUZZ_CHECK(cmd.bytes <= 0x7fffffffu - 2, ctx());
  }
}

// Plays the server: bytes arrive in pieces, unconsumed bytes are kept for the next read, the
// data block of a storage command is skipped. Records what a session would see.
class Feeder {
 public:
  explicit Feeder(const Command* stream_start) {
    if (stream_start != nullptr) {
      in_keys_ = true;
      multi_ = *stream_start;
    }
  }

  void Feed(std::string_view piece) {
    if (closed_) return;
    pending_.append(piece);
    size_t off = 0;
    for (;;) {
      if (skip_ > 0) {
        uint64_t n = std::min<uint64_t>(skip_, pending_.size() - off);
        off += n;
        skip_ -= n;
        if (skip_ > 0) break;
      }
      if (off == pending_.size()) break;
      const std::string_view in = std::string_view(pending_).substr(off);
      Command cmd;
      size_t used = 0;
      ParseResult r;
      const bool continuation = in_keys_;
      if (continuation) {
        cmd = multi_;
        r = protocol::ParseKeysContinuation(in, &used, &cmd);
      } else {
        r = protocol::ParseCommand(in, &used, &cmd);
      }
      CheckCall(in, used, r, cmd, continuation, multi_);
      if (r.status == ParseStatus::kNeedMore) break;
      if (r.status == ParseStatus::kClose) {
        events_.push_back("close " + std::to_string(static_cast<int>(r.error)));
        closed_ = true;
        break;
      }
      off += used;
      if (r.status == ParseStatus::kError) {
        events_.push_back("error " + std::to_string(static_cast<int>(r.error)) + " noreply " +
                          std::to_string(r.noreply));
        in_keys_ = false;
        keys_.clear();
        continue;
      }
      if (protocol::IsRetrieval(cmd.type)) {
        if (cmd.stream_error != ParseError::kNone) {
          // The line has a bad key: the keys served so far are dropped when it ends (the
          // handler sends only the error), so which of them were seen depends on the split.
          FUZZ_CHECK(cmd.more_keys && cmd.keys.empty(), Describe(cmd));
          keys_.clear();
          in_keys_ = true;
          multi_ = cmd;
          continue;
        }
        keys_ += JoinKeys(cmd.keys);
        if (!continuation && !cmd.more_keys) CheckRoundTrip(cmd);
        if (cmd.more_keys) {
          in_keys_ = true;
          multi_ = cmd;
          continue;
        }
        events_.push_back("retrieval " + std::to_string(static_cast<int>(cmd.type)) + " " +
                          std::to_string(cmd.exptime) + " " + Escape(keys_, 1 << 20));
        in_keys_ = false;
        keys_.clear();
        continue;
      }
      CheckRoundTrip(cmd);
      events_.push_back(Describe(cmd));
      if (protocol::IsStorage(cmd.type)) skip_ = uint64_t{cmd.bytes} + 2;
    }
    pending_.erase(0, off);
  }

  // Everything observable, for comparing feedings.
  std::string Summary() const {
    std::string s;
    for (const std::string& e : events_) s += e + "\n";
    std::string_view rest = pending_;
    // A streamed line keeps the spaces before a trailing partial key only when the same call
    // found a complete key; which call that is depends on the split, so ignore them.
    if (in_keys_) {
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    }
    // After a close the server drops the connection: what was still to come does not matter.
    if (closed_) return s + "closed";
    if (in_keys_ && multi_.stream_error != ParseError::kNone) {
      return s + "stream error " + std::to_string(static_cast<int>(multi_.stream_error));
    }
    s += "in_keys=" + std::to_string(in_keys_) + " keys=" + Escape(keys_, 1 << 20) +
         " skip=" + std::to_string(skip_) + " pending=" + Escape(rest, 1 << 20);
    return s;
  }

 private:
  std::string pending_;
  bool in_keys_ = false;
  Command multi_;
  std::string keys_;  // keys of the retrieval line in progress, single-space separated
  uint64_t skip_ = 0;
  bool closed_ = false;
  std::vector<std::string> events_;
};

}  // namespace
}  // namespace mcd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mcd::fuzz::ByteReader;
  using mcd::fuzz::Feeder;
  using mcd::protocol::Command;
  using mcd::protocol::CommandType;
  using mcd::protocol::ParseError;
  ByteReader reader(data, size);
  const uint8_t mode = reader.Byte();
  const uint16_t split_raw = static_cast<uint16_t>((reader.Byte() << 8) | reader.Byte());
  const size_t piece_raw = reader.Byte();
  const std::string_view stream = reader.Rest();

  Command start;
  const Command* stream_start = nullptr;
  if ((mode & 0x80) != 0) {
    static constexpr CommandType kTypes[] = {CommandType::kGet, CommandType::kGets,
                                             CommandType::kGat, CommandType::kGats};
    static constexpr ParseError kErrors[] = {ParseError::kNone, ParseError::kBadFormat,
                                             ParseError::kBadExptime, ParseError::kNone};
    start.type = kTypes[mode & 3];
    start.stream_error = kErrors[(mode >> 2) & 3];
    start.more_keys = true;
    if (start.type == CommandType::kGat || start.type == CommandType::kGats) start.exptime = 60;
    stream_start = &start;
  }

  Feeder whole(stream_start);
  whole.Feed(stream);
  const std::string expected = whole.Summary();

  const size_t split = split_raw % (stream.size() + 1);
  Feeder two(stream_start);
  two.Feed(stream.substr(0, split));
  two.Feed(stream.substr(split));
  FUZZ_CHECK(two.Summary() == expected, "split at " + std::to_string(split) + "\nwhole:\n" +
                                            expected + "\nsplit:\n" + two.Summary());

  // Small pieces re-scan the pending bytes at each read; keep them for small inputs.
  size_t piece = piece_raw + 1;
  if (stream.size() > 512 && piece < 16) piece = 16;
  Feeder pieces(stream_start);
  for (size_t off = 0; off < stream.size(); off += piece) pieces.Feed(stream.substr(off, piece));
  FUZZ_CHECK(pieces.Summary() == expected, "pieces of " + std::to_string(piece) + "\nwhole:\n" +
                                               expected + "\npieces:\n" + pieces.Summary());
  return 0;
}
