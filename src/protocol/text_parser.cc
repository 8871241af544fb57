// Text-protocol command-line parser. One memchr finds the line end, then one pass splits and checks
// the tokens; the command is dispatched on its first byte. No allocation (except ComposeCommand).
//
// The acceptance rules follow memcached 1.6.18's proto_text.c behaviour as observed on the wire
// (token counts, which errors noreply suppresses, number ranges, the HTTP guard); see the tests in
// tests/unit/protocol/text_parser_test.cc, which name the surprising ones.
#include "mcd/protocol/text_parser.h"

#include <cassert>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "key_rule.h"
#include "mcd/util/numbers.h"

namespace mcd::protocol {
namespace {

// memcached's tokenizer keeps at most 23 tokens of a line; its HTTP guard for unknown commands
// looks at the last of those.
constexpr size_t kMaxTokens = 23;
// A streamed retrieval line may start with at most this many spaces (memcached's limit).
constexpr size_t kMaxLeadingSpaces = 100;
constexpr std::string_view kNoreply = "noreply";

constexpr ParseResult kResultOk{ParseStatus::kOk};
constexpr ParseResult kResultNeedMore{ParseStatus::kNeedMore};

ParseResult Error(ParseError e, bool noreply = false) {
  return ParseResult{ParseStatus::kError, e, noreply};
}
ParseResult Close(ParseError e) { return ParseResult{ParseStatus::kClose, e}; }

const char* FindNewline(const char* p, size_t n) {
  return static_cast<const char*>(std::memchr(p, '\n', n));
}

std::string_view TrimSpaces(std::string_view s) {
  size_t b = 0;
  while (b < s.size() && s[b] == ' ') ++b;
  size_t e = s.size();
  while (e > b && s[e - 1] == ' ') --e;
  return s.substr(b, e - b);
}

// Splits s at spaces, storing at most max tokens; returns the number of tokens, but stops
// counting at max + 1, which means "more than max".
size_t Split(std::string_view s, std::string_view* toks, size_t max) {
  size_t n = 0;
  size_t i = 0;
  const size_t len = s.size();
  for (;;) {
    while (i < len && s[i] == ' ') ++i;
    if (i == len) return n;
    size_t b = i;
    while (i < len && s[i] != ' ') ++i;
    if (n == max) return n + 1;
    toks[n++] = s.substr(b, i - b);
  }
}

// memcached's safe_strtol: a 64-bit strtol whose result is stored into an int32 (truncated).
bool ParseTruncInt32(std::string_view s, int64_t* out) {
  int64_t v;
  if (!ParseInt64(s, &v)) return false;
  *out = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v)));
  return true;
}

// ---- Retrieval commands ----------------------------------------------------------------------

// Scans the keys of a retrieval line from in[start], up to the newline if there is one in `in`,
// else to the end of `in` (a streamed line). Fills out->keys, out->more_keys, out->stream_error
// and *consumed (counted from in[0]) as described for ParseKeysContinuation.
ParseResult ScanKeys(std::string_view in, size_t start, size_t* consumed, Command* out) {
  const std::string_view s = in.substr(start);
  const char* nl = FindNewline(s.data(), s.size());
  const bool has_nl = nl != nullptr;
  const size_t end = has_nl ? static_cast<size_t>(nl - s.data()) : s.size();
  size_t line_end = end;
  if (has_nl && end > 0 && s[end - 1] == '\r') --line_end;

  size_t first = std::string_view::npos;  // start of the first complete key
  size_t last_end = 0;                    // end of the last complete key
  size_t i = 0;
  bool bad = false;
  for (;;) {
    while (i < line_end && s[i] == ' ') ++i;
    if (i == line_end) break;
    const size_t b = i;
    while (i < line_end && s[i] != ' ') {
      if (IsControl(s[i])) {
        // A '\r' as the very last byte of an unterminated line may still be stripped.
        if (!(s[i] == '\r' && !has_nl && i + 1 == line_end)) bad = true;
      }
      ++i;
    }
    if (i == line_end && !has_nl) {
      // A trailing key that may still grow: an error only if it is already too long.
      size_t n = i - b;
      if (n > 0 && s[i - 1] == '\r') --n;
      if (bad || n > kMaxKeyLength) {
        bad = true;
        break;
      }
      i = b;
      break;
    }
    if (bad || i - b > kMaxKeyLength) {
      bad = true;
      break;
    }
    if (first == std::string_view::npos) first = b;
    last_end = i;
  }

  out->keys = {};
  if (bad) {
    if (has_nl) {
      *consumed = start + end + 1;
      out->more_keys = false;
      return Error(ParseError::kBadFormat);
    }
    *consumed = in.size();
    out->more_keys = true;
    out->stream_error = ParseError::kBadFormat;
    return kResultOk;
  }
  if (first != std::string_view::npos) out->keys = s.substr(first, last_end - first);
  if (has_nl) {
    *consumed = start + end + 1;
    out->more_keys = false;
    return kResultOk;
  }
  // Keep the trailing key (which may grow) and the spaces before it, unless there is no complete
  // key: then the spaces are consumed, so that a call always makes progress when it can.
  size_t used = first != std::string_view::npos ? last_end : i;
  if (start + used == 0) return kResultNeedMore;
  *consumed = start + used;
  out->more_keys = true;
  return kResultOk;
}

// Skips a streamed line from in[start] after an error; see ParseKeysContinuation.
ParseResult SkipRest(std::string_view in, size_t start, ParseError error, size_t* consumed,
                     Command* out) {
  out->keys = {};
  const char* nl = FindNewline(in.data() + start, in.size() - start);
  if (nl != nullptr) {
    *consumed = static_cast<size_t>(nl - in.data()) + 1;
    out->more_keys = false;
    out->stream_error = ParseError::kNone;
    return Error(error);
  }
  if (in.size() == 0) return kResultNeedMore;
  *consumed = in.size();
  out->more_keys = true;
  out->stream_error = error;
  return kResultOk;
}

bool IsTouchingGet(CommandType t) { return t == CommandType::kGat || t == CommandType::kGats; }

// A complete retrieval line; `rest` follows the command token.
ParseResult ParseRetrieval(std::string_view rest, CommandType type, Command* out) {
  out->type = type;
  size_t i = 0;
  while (i < rest.size() && rest[i] == ' ') ++i;
  if (i == rest.size()) return Error(ParseError::kUnknownCommand);  // no argument at all
  if (IsTouchingGet(type)) {
    size_t b = i;
    while (i < rest.size() && rest[i] != ' ') ++i;
    if (!ParseTruncInt32(rest.substr(b, i - b), &out->exptime)) {
      return Error(ParseError::kBadExptime);
    }
    // memcached 1.6.18: "gat <exptime>" with no key answers END.
  }
  std::string_view keys = TrimSpaces(rest.substr(i));
  size_t len = 0;
  for (char c : keys) {
    if (c == ' ') {
      len = 0;
      continue;
    }
    if (IsControl(c) || ++len > kMaxKeyLength) return Error(ParseError::kBadFormat);
  }
  out->keys = keys;
  return kResultOk;
}

bool RetrievalType(std::string_view cmd, CommandType* type) {
  if (cmd == "get") {
    *type = CommandType::kGet;
  } else if (cmd == "gets") {
    *type = CommandType::kGets;
  } else if (cmd == "gat") {
    *type = CommandType::kGat;
  } else if (cmd == "gats") {
    *type = CommandType::kGats;
  } else {
    return false;
  }
  return true;
}

// The start of a line longer than kMaxLineLength: `in` is longer than that and its first
// kMaxLineLength + 1 bytes hold no newline. Only retrieval commands may stream.
ParseResult StartStream(std::string_view in, size_t* consumed, Command* out) {
  const std::string_view window = in.substr(0, kMaxLineLength + 1);
  size_t i = 0;
  while (i < window.size() && window[i] == ' ') ++i;
  if (i > kMaxLeadingSpaces) return Close(ParseError::kLineTooLong);
  size_t b = i;
  while (i < window.size() && window[i] != ' ') ++i;
  if (i == window.size() || !RetrievalType(window.substr(b, i - b), &out->type)) {
    return Close(ParseError::kLineTooLong);
  }
  while (i < window.size() && window[i] == ' ') ++i;
  bool bad_exptime = false;
  if (IsTouchingGet(out->type)) {
    b = i;
    while (i < window.size() && window[i] != ' ') ++i;
    if (i == window.size()) return Close(ParseError::kLineTooLong);
    bad_exptime = !ParseTruncInt32(window.substr(b, i - b), &out->exptime);
    while (i < window.size() && window[i] == ' ') ++i;
  }
  if (bad_exptime) return SkipRest(in, i, ParseError::kBadExptime, consumed, out);
  if (i == window.size()) return Close(ParseError::kLineTooLong);  // no key starts in the window
  return ScanKeys(in, i, consumed, out);
}

// ---- Other commands ----------------------------------------------------------------------------

// set/add/replace/append/prepend/cas; `rest` follows the command token.
ParseResult ParseStorage(std::string_view rest, CommandType type, Command* out) {
  out->type = type;
  const bool cas = type == CommandType::kCas;
  const size_t want = cas ? 5 : 4;
  std::string_view t[6];
  const size_t n = Split(rest, t, 6);
  if (n != want && n != want + 1) return Error(ParseError::kUnknownCommand);
  const bool noreply = t[n - 1] == kNoreply;
  out->noreply = noreply;
  int64_t bytes;
  if (!ValidKey(t[0]) || !ParseFlags32(t[1], &out->flags) ||
      !ParseTruncInt32(t[2], &out->exptime) || !ParseTruncInt32(t[3], &bytes) ||
      (cas && !ParseUint64(t[4], &out->cas_unique)) || bytes < 0 ||
      bytes > std::numeric_limits<int32_t>::max() - 2) {
    return Error(ParseError::kBadFormat, noreply);
  }
  out->key = t[0];
  out->bytes = static_cast<uint32_t>(bytes);
  return kResultOk;
}

// <key> <number> [noreply], shared by incr/decr (delta) and touch (exptime): `parse` reads the
// number into *out and reports whether it is valid; an invalid one is `bad_number`.
template <typename ParseNumber>
ParseResult ParseKeyAndNumber(std::string_view rest, Command* out, ParseNumber parse,
                              ParseError bad_number) {
  std::string_view t[3];
  const size_t n = Split(rest, t, 3);
  if (n != 2 && n != 3) return Error(ParseError::kUnknownCommand);
  const bool noreply = t[n - 1] == kNoreply;
  out->noreply = noreply;
  if (!ValidKey(t[0])) return Error(ParseError::kBadFormat, noreply);
  if (!parse(t[1])) return Error(bad_number, noreply);
  out->key = t[0];
  return kResultOk;
}

// incr/decr <key> <delta> [noreply]
ParseResult ParseArithmetic(std::string_view rest, CommandType type, Command* out) {
  out->type = type;
  return ParseKeyAndNumber(
      rest, out, [out](std::string_view v) { return ParseUint64(v, &out->delta); },
      ParseError::kBadDelta);
}

// touch <key> <exptime> [noreply]
ParseResult ParseTouch(std::string_view rest, Command* out) {
  out->type = CommandType::kTouch;
  return ParseKeyAndNumber(
      rest, out, [out](std::string_view v) { return ParseTruncInt32(v, &out->exptime); },
      ParseError::kBadExptime);
}

// delete <key> [0] [noreply]
ParseResult ParseDelete(std::string_view rest, Command* out) {
  out->type = CommandType::kDelete;
  std::string_view t[3];
  const size_t n = Split(rest, t, 3);
  if (n < 1 || n > 3) return Error(ParseError::kUnknownCommand);
  bool noreply = false;
  if (n > 1) {
    // memcached 1.6.18: the only legal extra tokens are a hold time of exactly "0" and noreply.
    const bool hold_zero = t[1] == "0";
    noreply = t[n - 1] == kNoreply;
    const bool valid = (n == 2 && (hold_zero || noreply)) || (n == 3 && hold_zero && noreply);
    if (!valid) return Error(ParseError::kBadDeleteFormat, noreply);
  }
  out->noreply = noreply;
  if (!ValidKey(t[0])) return Error(ParseError::kBadFormat, noreply);
  out->key = t[0];
  return kResultOk;
}

// flush_all [delay] [noreply]
ParseResult ParseFlushAll(std::string_view rest, Command* out) {
  out->type = CommandType::kFlushAll;
  std::string_view t[3];
  const size_t n = Split(rest, t, 3);
  if (n > 2) return Error(ParseError::kUnknownCommand);
  const bool noreply = n > 0 && t[n - 1] == kNoreply;
  out->noreply = noreply;
  // memcached 1.6.18: any token count other than "flush_all [noreply]" parses the first token
  // as the delay, so "flush_all 1 2" flushes in 1s and "flush_all noreply 5" is a bad exptime.
  if (n != (noreply ? 1u : 0u)) {
    if (!ParseTruncInt32(t[0], &out->exptime)) return Error(ParseError::kBadExptime, noreply);
    out->has_delay = true;
  }
  return kResultOk;
}

// verbosity <level> [noreply]
ParseResult ParseVerbosity(std::string_view rest, Command* out) {
  out->type = CommandType::kVerbosity;
  std::string_view t[3];
  const size_t n = Split(rest, t, 3);
  if (n != 1 && n != 2) return Error(ParseError::kUnknownCommand);
  const bool noreply = t[n - 1] == kNoreply;
  out->noreply = noreply;
  uint32_t level;
  if (!ParseFlags32(t[0], &level)) return Error(ParseError::kBadFormat, noreply);
  out->level = level;
  return kResultOk;
}

// cache_memlimit <megabytes> [noreply]: the number as memcached's safe_strtoul reads it (kept
// to 32 bits); a bad one is ERROR, which noreply suppresses. Range checks are the handler's.
ParseResult ParseCacheMemlimit(std::string_view rest, Command* out) {
  out->type = CommandType::kCacheMemlimit;
  std::string_view t[3];
  const size_t n = Split(rest, t, 3);
  if (n != 1 && n != 2) return Error(ParseError::kUnknownCommand);
  const bool noreply = t[n - 1] == kNoreply;
  out->noreply = noreply;
  uint32_t megabytes;
  if (!ParseFlags32(t[0], &megabytes)) return Error(ParseError::kUnknownCommand, noreply);
  out->level = megabytes;
  return kResultOk;
}

// An unknown command. memcached dispatches on the first byte of the command for the common
// commands and answers ERROR when the rest does not match; only commands outside those groups
// reach its HTTP guard, which closes the connection when the last token starts with "HTTP/".
ParseResult ParseUnknown(std::string_view cmd, std::string_view rest) {
  switch (cmd[0]) {
    case 'a':
    case 'c':
    case 'd':
    case 'g':
    case 'i':
    case 's':
    case 't':
      return Error(ParseError::kUnknownCommand);
    case 'm':
      // Two-letter meta commands (mg, ms, ...) are not supported yet.
      if (cmd.size() == 2) return Error(ParseError::kUnknownCommand);
      break;
    default:
      break;
  }
  std::string_view last = cmd;
  size_t count = 1;
  size_t i = 0;
  while (count < kMaxTokens) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    if (i == rest.size()) break;
    size_t b = i;
    while (i < rest.size() && rest[i] != ' ') ++i;
    last = rest.substr(b, i - b);
    ++count;
  }
  if (last.starts_with("HTTP/")) return Close(ParseError::kHttpRequest);
  return Error(ParseError::kUnknownCommand);
}

// One complete line, without its "\n" (and "\r").
ParseResult ParseLine(std::string_view line, Command* out) {
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  size_t b = i;
  while (i < line.size() && line[i] != ' ') ++i;
  const std::string_view cmd = line.substr(b, i - b);
  const std::string_view rest = line.substr(i);
  // No command is shorter than two bytes (this also covers the empty line).
  if (cmd.size() < 2) return Error(ParseError::kUnknownCommand);

  CommandType type;
  switch (cmd[0]) {
    case 'g':
      if (RetrievalType(cmd, &type)) return ParseRetrieval(rest, type, out);
      break;
    case 's':
      if (cmd == "set") return ParseStorage(rest, CommandType::kSet, out);
      if (cmd == "stats") {
        out->type = CommandType::kStats;
        out->args = TrimSpaces(rest);
        return kResultOk;
      }
      if (cmd == "shutdown") {
        out->type = CommandType::kShutdown;
        out->args = TrimSpaces(rest);
        return kResultOk;
      }
      if (cmd == "slabs") {
        out->type = CommandType::kSlabs;
        out->args = TrimSpaces(rest);
        return kResultOk;
      }
      break;
    case 'a':
      if (cmd == "add") return ParseStorage(rest, CommandType::kAdd, out);
      if (cmd == "append") return ParseStorage(rest, CommandType::kAppend, out);
      break;
    case 'r':
      if (cmd == "replace") return ParseStorage(rest, CommandType::kReplace, out);
      break;
    case 'p':
      if (cmd == "prepend") return ParseStorage(rest, CommandType::kPrepend, out);
      break;
    case 'c':
      if (cmd == "cas") return ParseStorage(rest, CommandType::kCas, out);
      if (cmd == "cache_memlimit") return ParseCacheMemlimit(rest, out);
      break;
    case 'i':
      if (cmd == "incr") return ParseArithmetic(rest, CommandType::kIncr, out);
      break;
    case 'd':
      if (cmd == "delete") return ParseDelete(rest, out);
      if (cmd == "decr") return ParseArithmetic(rest, CommandType::kDecr, out);
      break;
    case 't':
      if (cmd == "touch") return ParseTouch(rest, out);
      break;
    case 'b':
      // memcached 1.6.18 still accepts "bget" as a plain get.
      if (cmd == "bget") return ParseRetrieval(rest, CommandType::kGet, out);
      break;
    case 'f':
      if (cmd == "flush_all") return ParseFlushAll(rest, out);
      break;
    case 'v':
      if (cmd == "version") {
        out->type = CommandType::kVersion;
        return kResultOk;
      }
      if (cmd == "verbosity") return ParseVerbosity(rest, out);
      break;
    case 'l':
      if (cmd == "lru_crawler") {
        out->type = CommandType::kLruCrawler;
        out->args = TrimSpaces(rest);
        return kResultOk;
      }
      break;
    case 'q':
      if (cmd == "quit") {
        out->type = CommandType::kQuit;
        return kResultOk;
      }
      break;
    default:
      break;
  }
  return ParseUnknown(cmd, rest);
}

void AppendNumber(std::string* s, uint64_t v) {
  char buf[20];
  s->append(buf, FormatUint64(v, buf));
}

void AppendSigned(std::string* s, int64_t v) {
  if (v < 0) {
    s->push_back('-');
    AppendNumber(s, ~static_cast<uint64_t>(v) + 1);
  } else {
    AppendNumber(s, static_cast<uint64_t>(v));
  }
}

const char* CommandName(CommandType t) {
  switch (t) {
    case CommandType::kGet:
      return "get";
    case CommandType::kGets:
      return "gets";
    case CommandType::kGat:
      return "gat";
    case CommandType::kGats:
      return "gats";
    case CommandType::kSet:
      return "set";
    case CommandType::kAdd:
      return "add";
    case CommandType::kReplace:
      return "replace";
    case CommandType::kAppend:
      return "append";
    case CommandType::kPrepend:
      return "prepend";
    case CommandType::kCas:
      return "cas";
    case CommandType::kDelete:
      return "delete";
    case CommandType::kIncr:
      return "incr";
    case CommandType::kDecr:
      return "decr";
    case CommandType::kTouch:
      return "touch";
    case CommandType::kFlushAll:
      return "flush_all";
    case CommandType::kVersion:
      return "version";
    case CommandType::kVerbosity:
      return "verbosity";
    case CommandType::kQuit:
      return "quit";
    case CommandType::kStats:
      return "stats";
    case CommandType::kShutdown:
      return "shutdown";
    case CommandType::kSlabs:
      return "slabs";
    case CommandType::kCacheMemlimit:
      return "cache_memlimit";
    case CommandType::kLruCrawler:
      return "lru_crawler";
  }
  return "";
}

}  // namespace

ParseResult ParseCommand(std::string_view in, size_t* consumed, Command* out) {
  *consumed = 0;
  *out = Command{};
  const size_t window = in.size() < kMaxLineLength + 1 ? in.size() : kMaxLineLength + 1;
  const char* nl = FindNewline(in.data(), window);
  if (nl == nullptr) {
    if (in.size() <= kMaxLineLength) return kResultNeedMore;
    return StartStream(in, consumed, out);
  }
  size_t len = static_cast<size_t>(nl - in.data());
  if (len + 1 < kMinLineLength &&
      in.substr(0, len).find_first_not_of(" \r") == std::string_view::npos) {
    // As memcached 1.6.45 (whose t/metaget.t checks it; 1.6.18 answers ERROR): a blank line
    // shorter than any command is a format error (compatibility.md C28).
    *consumed = len + 1;
    return Error(ParseError::kBadFormat);
  }
  std::string_view line = in.substr(0, len);
  if (len > 0 && line.back() == '\r') line.remove_suffix(1);
  ParseResult r = ParseLine(line, out);
  if (r.status != ParseStatus::kClose || r.error == ParseError::kHttpRequest) *consumed = len + 1;
  return r;
}

ParseResult ParseKeysContinuation(std::string_view in, size_t* consumed, Command* out) {
  *consumed = 0;
  assert(out->more_keys);
  if (!out->more_keys) return Error(ParseError::kNone);
  if (out->stream_error != ParseError::kNone) {
    return SkipRest(in, 0, out->stream_error, consumed, out);
  }
  return ScanKeys(in, 0, consumed, out);
}

std::string ComposeCommand(const Command& cmd) {
  std::string s = CommandName(cmd.type);
  auto sp = [&s] { s.push_back(' '); };
  switch (cmd.type) {
    case CommandType::kGat:
    case CommandType::kGats:
      sp();
      AppendSigned(&s, cmd.exptime);
      [[fallthrough]];
    case CommandType::kGet:
    case CommandType::kGets:
      if (!cmd.keys.empty()) {
        sp();
        s.append(cmd.keys);
      }
      break;
    case CommandType::kSet:
    case CommandType::kAdd:
    case CommandType::kReplace:
    case CommandType::kAppend:
    case CommandType::kPrepend:
    case CommandType::kCas:
      sp();
      s.append(cmd.key);
      sp();
      AppendNumber(&s, cmd.flags);
      sp();
      AppendSigned(&s, cmd.exptime);
      sp();
      AppendNumber(&s, cmd.bytes);
      if (cmd.type == CommandType::kCas) {
        sp();
        AppendNumber(&s, cmd.cas_unique);
      }
      break;
    case CommandType::kDelete:
      sp();
      s.append(cmd.key);
      break;
    case CommandType::kIncr:
    case CommandType::kDecr:
      sp();
      s.append(cmd.key);
      sp();
      AppendNumber(&s, cmd.delta);
      break;
    case CommandType::kTouch:
      sp();
      s.append(cmd.key);
      sp();
      AppendSigned(&s, cmd.exptime);
      break;
    case CommandType::kFlushAll:
      if (cmd.has_delay) {
        sp();
        AppendSigned(&s, cmd.exptime);
      }
      break;
    case CommandType::kVerbosity:
    case CommandType::kCacheMemlimit:
      sp();
      AppendSigned(&s, cmd.level);
      break;
    case CommandType::kStats:
    case CommandType::kShutdown:
    case CommandType::kSlabs:
    case CommandType::kLruCrawler:
      if (!cmd.args.empty()) {
        sp();
        s.append(cmd.args);
      }
      break;
    case CommandType::kVersion:
    case CommandType::kQuit:
      break;
  }
  if (cmd.noreply && !IsRetrieval(cmd.type) && cmd.type != CommandType::kVersion &&
      cmd.type != CommandType::kQuit && cmd.type != CommandType::kStats &&
      cmd.type != CommandType::kShutdown && cmd.type != CommandType::kSlabs &&
      cmd.type != CommandType::kLruCrawler) {
    s.append(" noreply");
  }
  s.append("\r\n");
  return s;
}

}  // namespace mcd::protocol
