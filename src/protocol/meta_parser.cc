// Meta-protocol command-line parser. One memchr finds the line end, one pass splits the tokens
// with memcached's meta tokenizer rules, one pass over the flags checks and decodes them. No
// allocation (except ComposeMetaCommand).
//
// The order of the checks is what decides which error a line with several faults gets; it is
// memcached 1.6.45's (see docs/meta-notes.md, "Errors"):
//   1. a line shorter than 4 bytes with its "\n"                       -> bad command line format
//   2. the command token (up to the first space) is not m[gsdnae]      -> ERROR
//   3. a flag token whose first byte is neither 'A'..'z' nor a digit   -> bad command line format
//      (among the first 23 tokens; the tokenizer gives up on the line)
//   4. too few tokens; ms: a bad datalen                               -> bad command line format
//   5. key too long (mcd: or with a control byte)                      -> bad command line format
//   6. more than 20 tokens                                             -> options flags are too
//   long
//   7. flags left to right: a duplicate or unknown letter stops at once; a bad value (N T R C E
//      F J D) or a bad base64 key is remembered and the scan goes on, the last one reported
//   8. ms/ma: an invalid M mode; 9. an opaque longer than 32 bytes.
// For ma, every error of steps 5-7 is "invalid or duplicate flag". For ms, errors from step 5 on
// swallow the data block.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "key_rule.h"
#include "mcd/protocol/meta.h"
#include "mcd/util/base64.h"
#include "mcd/util/numbers.h"

namespace mcd::protocol {
namespace {

// memcached's tokenizer stores at most this many tokens of a line and ignores the rest.
constexpr size_t kTokenizerMax = 23;
// Number tokens longer than these are refused whatever their digits (memcached's limits).
constexpr size_t kMax32Digits = 11;
constexpr size_t kMax64Digits = 22;

MetaParseResult Error(MetaError e, uint64_t swallow = 0) {
  return MetaParseResult{ParseStatus::kError, e, swallow};
}

// Digits only (no sign), at most kMax32Digits bytes, within uint32. Empty is 0.
bool TokU32(std::string_view s, uint32_t* out) {
  if (s.size() > kMax32Digits) return false;
  uint32_t v = 0;
  for (char c : s) {
    const unsigned d = static_cast<unsigned char>(c) - '0';
    if (d > 9 || v > (std::numeric_limits<uint32_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// Digits only, at most kMax64Digits bytes, within uint64. Empty is 0.
bool TokU64(std::string_view s, uint64_t* out) {
  if (s.size() > kMax64Digits) return false;
  uint64_t v = 0;
  for (char c : s) {
    const unsigned d = static_cast<unsigned char>(c) - '0';
    if (d > 9 || v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// An optional '-' then digits, at most kMax32Digits bytes in all, within int32. Empty and "-"
// are 0 (memcached accepts "T-" as T0).
bool Tok32(std::string_view s, int32_t* out) {
  if (s.size() > kMax32Digits) return false;
  const bool neg = !s.empty() && s.front() == '-';
  if (neg) s.remove_prefix(1);
  const uint64_t limit = neg ? uint64_t{1} << 31 : (uint64_t{1} << 31) - 1;
  uint64_t v = 0;
  for (char c : s) {
    const unsigned d = static_cast<unsigned char>(c) - '0';
    if (d > 9) return false;
    v = v * 10 + d;
    if (v > limit) return false;
  }
  *out = static_cast<int32_t>(neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v));
  return true;
}

// The value of a flag token (after its letter); memcached requires at least one byte.
template <typename T, typename Parse>
bool FlagValue(std::string_view tok, T* out, Parse parse) {
  return tok.size() > 1 && parse(tok.substr(1), out);
}

// The kept tokens as offsets into the line (which is at most kMaxLineLength bytes). Left
// uninitialised: only the first n entries are ever read, and a line is parsed once per command.
struct Tokens {
  static_assert(kMaxLineLength <= UINT16_MAX);
  std::string_view line;
  uint16_t begin[kTokenizerMax];
  uint16_t size[kTokenizerMax];
  size_t n = 0;
  std::string_view operator[](size_t i) const { return line.substr(begin[i], size[i]); }
};

// The index of the first space in line at or after i, or line.size(). Eight bytes at a time
// (a key token is typically 10-40 bytes): the lowest flagged byte of the zero-byte test is exact.
size_t FindSpace(std::string_view line, size_t i) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  const char* p = line.data();
  const size_t len = line.size();
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    const uint64_t x = w ^ (uint64_t{' '} * kOnes);
    const uint64_t zero = (x - kOnes) & ~x & kHigh;
    if (zero != 0) return i + static_cast<size_t>(std::countr_zero(zero) >> 3);
  }
  while (i < len && p[i] != ' ') ++i;
  return i;
}

// Splits the line at spaces as memcached's meta tokenizer does: at most kTokenizerMax tokens are
// kept (the rest of the line is ignored), and every kept token from index `flags_from` on must
// start with a byte in 'A'..'z' or a digit, else the whole line is refused (false).
bool Tokenize(std::string_view line, size_t flags_from, Tokens* tk) {
  tk->line = line;
  size_t i = 0;
  const size_t len = line.size();
  while (tk->n < kTokenizerMax) {
    while (i < len && line[i] == ' ') ++i;
    if (i == len) break;
    const size_t b = i;
    i = FindSpace(line, i + 1);
    if (tk->n >= flags_from) {
      const char c = line[b];
      const bool letter_range = c >= 'A' && c <= 'z';
      const bool digit = c >= '0' && c <= '9';
      if (!letter_range && !digit) return false;
    }
    tk->begin[tk->n] = static_cast<uint16_t>(b);
    tk->size[tk->n] = static_cast<uint16_t>(i - b);
    ++tk->n;
  }
  return true;
}

MetaCommandType TypeOf(char c, bool* ok) {
  *ok = true;
  switch (c) {
    case 'g':
      return MetaCommandType::kGet;
    case 's':
      return MetaCommandType::kSet;
    case 'd':
      return MetaCommandType::kDelete;
    case 'a':
      return MetaCommandType::kArithmetic;
    case 'n':
      return MetaCommandType::kNoop;
    case 'e':
      return MetaCommandType::kDebug;
    default:
      *ok = false;
      return MetaCommandType::kNoop;
  }
}

bool DecodeKey(MetaCommand* out) {
  const size_t n = Base64Decode(out->wire_key, out->binary_key.data(), out->binary_key.size());
  out->key_binary = true;
  out->binary_key_len = static_cast<uint8_t>(n);
  return n != 0;
}

// Step 7: the flags from tok.t[first] on. Returns kNone or the error to report.
MetaError ScanFlags(const Tokens& tk, size_t first, MetaCommand* out) {
  // A bad value is remembered and the scan goes on; F's own failure names no message, so the
  // generic one (or an earlier flag's) is reported.
  bool soft = false;
  MetaError soft_error = MetaError::kNone;
  auto fail = [&](MetaError e) {
    soft = true;
    if (e != MetaError::kNone) soft_error = e;
  };
  for (size_t i = first; i < tk.n; ++i) {
    const std::string_view tok = tk[i];
    const char c = tok.front();
    if (c >= 'A' && c <= 'z' && out->Has(c)) return MetaError::kDuplicateFlag;
    switch (c) {
      case 'b':
        if (!DecodeKey(out)) fail(MetaError::kBadKeyEncoding);
        break;
      case 'N':
        if (!FlagValue(tok, &out->vivify_ttl, Tok32)) fail(MetaError::kBadToken);
        break;
      case 'T':
        if (!FlagValue(tok, &out->ttl, Tok32)) fail(MetaError::kBadToken);
        break;
      case 'R':
        if (!FlagValue(tok, &out->recache_ttl, Tok32)) fail(MetaError::kBadToken);
        break;
      case 'F':
        if (!FlagValue(tok, &out->client_flags, TokU32)) fail(MetaError::kNone);
        break;
      case 'C':
        if (!FlagValue(tok, &out->compare_cas, TokU64)) fail(MetaError::kBadToken);
        break;
      case 'E':
        if (!FlagValue(tok, &out->new_cas, TokU64)) fail(MetaError::kBadToken);
        break;
      case 'J':
        if (!FlagValue(tok, &out->initial, TokU64)) fail(MetaError::kBadInitial);
        break;
      case 'D':
        if (!FlagValue(tok, &out->delta, TokU64)) fail(MetaError::kBadDelta);
        break;
      case 'M':
        // The byte after 'M'; a bare M would read the space or line end after it: never a mode.
        out->mode = tok.size() > 1 ? tok[1] : ' ';
        break;
      case 'O':
        out->opaque = tok;
        break;
      case 'c':
      case 'f':
      case 'h':
      case 'k':
      case 'l':
      case 'q':
      case 's':
      case 't':
      case 'u':
      case 'v':
      case 'x':
      case 'I':
      case 'L':
      case 'P':
        break;
      default:
        return MetaError::kInvalidFlag;
    }
    out->flag_mask |= MetaCommand::Bit(c);
    out->order[out->num_flags++] = c;
  }
  if (soft) return soft_error == MetaError::kNone ? MetaError::kBadFormat : soft_error;
  return MetaError::kNone;
}

bool ValidSetMode(char m) {
  return m == 0 || m == 'E' || m == 'A' || m == 'P' || m == 'R' || m == 'S';
}
bool ValidArithmeticMode(char m) { return m == 0 || m == 'I' || m == '+' || m == 'D' || m == '-'; }

// One complete line without its "\n" (and "\r"); `full` is its length with them.
MetaParseResult ParseLine(std::string_view line, size_t full, MetaCommand* out) {
  // Step 1 and 2.
  if (full < 4) return Error(MetaError::kBadFormat);
  const size_t sp = line.find(' ');
  const std::string_view cmd = line.substr(0, sp);
  bool known = false;
  if (cmd.size() == 2 && cmd[0] == 'm') out->type = TypeOf(cmd[1], &known);
  if (!known) return Error(MetaError::kUnknownCommand);
  if (out->type == MetaCommandType::kNoop) return MetaParseResult{ParseStatus::kOk};

  // Steps 3 and 4.
  const bool set = out->type == MetaCommandType::kSet;
  const size_t first_flag = set ? 3 : 2;
  Tokens tk;
  if (!Tokenize(line, first_flag, &tk) || tk.n < first_flag) return Error(MetaError::kBadFormat);
  uint64_t swallow = 0;
  if (set) {
    int32_t datalen;
    if (!Tok32(tk[2], &datalen) || datalen < 0 ||
        datalen > std::numeric_limits<int32_t>::max() - 2) {
      return Error(MetaError::kBadFormat);
    }
    out->datalen = static_cast<uint32_t>(datalen);
    swallow = uint64_t{out->datalen} + 2;
  }
  out->wire_key = tk[1];
  if (out->type == MetaCommandType::kDebug) {
    // me looks at nothing but a "b" third token, and only when a fourth token follows it.
    if (!ValidKey(out->wire_key)) return Error(MetaError::kBadFormat);
    if (tk.n >= 4 && tk[2] == "b" && !DecodeKey(out)) return Error(MetaError::kBadFormat);
    return MetaParseResult{ParseStatus::kOk};
  }

  // Steps 5 to 7.
  const bool arith = out->type == MetaCommandType::kArithmetic;
  MetaError e = MetaError::kNone;
  if (!ValidKey(out->wire_key)) {
    e = MetaError::kBadFormat;
  } else if (tk.n > kMetaMaxTokens) {
    e = MetaError::kTooManyFlags;
  } else {
    e = ScanFlags(tk, first_flag, out);
  }
  if (e != MetaError::kNone) return Error(arith ? MetaError::kInvalidOrDuplicate : e, swallow);

  // Steps 8 and 9.
  if (set && !ValidSetMode(out->mode)) return Error(MetaError::kBadSetMode, swallow);
  if (arith && !ValidArithmeticMode(out->mode)) return Error(MetaError::kBadArithmeticMode);
  if (out->opaque.size() > kMetaMaxOpaqueLength) return Error(MetaError::kOpaqueTooLong, swallow);
  return MetaParseResult{ParseStatus::kOk};
}

void AppendUnsigned(std::string* s, uint64_t v) {
  char buf[20];
  s->append(buf, FormatUint64(v, buf));
}

void AppendSigned(std::string* s, int64_t v) {
  if (v < 0) {
    s->push_back('-');
    AppendUnsigned(s, ~static_cast<uint64_t>(v) + 1);
  } else {
    AppendUnsigned(s, static_cast<uint64_t>(v));
  }
}

}  // namespace

MetaDetect DetectMeta(std::string_view in) {
  static constexpr std::string_view kSecond = "gsdnae";
  if (in.empty()) return MetaDetect::kNeedMore;
  if (in[0] != 'm') return MetaDetect::kNotMeta;
  if (in.size() < 2) return MetaDetect::kNeedMore;
  if (kSecond.find(in[1]) == std::string_view::npos) return MetaDetect::kNotMeta;
  if (in.size() < 3) return MetaDetect::kNeedMore;
  if (in[2] == ' ' || in[2] == '\n') return MetaDetect::kMeta;
  if (in[2] != '\r') return MetaDetect::kNotMeta;
  if (in.size() < 4) return MetaDetect::kNeedMore;
  return in[3] == '\n' ? MetaDetect::kMeta : MetaDetect::kNotMeta;
}

std::string_view PeekMgKey(std::string_view in, size_t* line_length) {
  if (in.size() < 4 || in[0] != 'm' || in[1] != 'g' || in[2] != ' ') return {};
  const size_t window = std::min(in.size(), kMaxLineLength + 1);
  const void* nl = std::memchr(in.data(), '\n', window);
  if (nl == nullptr) return {};
  size_t len = static_cast<size_t>(static_cast<const char*>(nl) - in.data());
  *line_length = len + 1;
  if (in[len - 1] == '\r') --len;
  const std::string_view line = in.substr(0, len);
  size_t k = 3;
  while (k < len && line[k] == ' ') ++k;
  if (k == len) return {};
  return line.substr(k, FindSpace(line, k + 1) - k);
}

MetaParseResult ParseMetaCommand(std::string_view in, size_t* consumed, MetaCommand* out) {
  *consumed = 0;
  out->Reset();
  const size_t window = in.size() < kMaxLineLength + 1 ? in.size() : kMaxLineLength + 1;
  const void* nl = std::memchr(in.data(), '\n', window);
  if (nl == nullptr) {
    if (in.size() <= kMaxLineLength) return MetaParseResult{ParseStatus::kNeedMore};
    return MetaParseResult{ParseStatus::kClose, MetaError::kLineTooLong};
  }
  const size_t len = static_cast<size_t>(static_cast<const char*>(nl) - in.data());
  std::string_view line = in.substr(0, len);
  if (len > 0 && line.back() == '\r') line.remove_suffix(1);
  *consumed = len + 1;
  return ParseLine(line, len + 1, out);
}

std::string ComposeMetaCommand(const MetaCommand& cmd) {
  static constexpr char kNames[] = {'g', 's', 'd', 'a', 'n', 'e'};
  std::string s = "m";
  s.push_back(kNames[static_cast<size_t>(cmd.type)]);
  if (cmd.type == MetaCommandType::kNoop) return s + "\r\n";
  s.push_back(' ');
  s.append(cmd.wire_key);
  if (cmd.type == MetaCommandType::kDebug) {
    if (cmd.key_binary) s.append(" b b");
    return s + "\r\n";
  }
  if (cmd.type == MetaCommandType::kSet) {
    s.push_back(' ');
    AppendUnsigned(&s, cmd.datalen);
  }
  for (size_t i = 0; i < cmd.num_flags; ++i) {
    const char c = cmd.order[i];
    s.push_back(' ');
    if (c == 'O') {
      s.append(cmd.opaque);
      continue;
    }
    s.push_back(c);
    switch (c) {
      case 'N':
        AppendSigned(&s, cmd.vivify_ttl);
        break;
      case 'T':
        AppendSigned(&s, cmd.ttl);
        break;
      case 'R':
        AppendSigned(&s, cmd.recache_ttl);
        break;
      case 'F':
        AppendUnsigned(&s, cmd.client_flags);
        break;
      case 'C':
        AppendUnsigned(&s, cmd.compare_cas);
        break;
      case 'E':
        AppendUnsigned(&s, cmd.new_cas);
        break;
      case 'J':
        AppendUnsigned(&s, cmd.initial);
        break;
      case 'D':
        AppendUnsigned(&s, cmd.delta);
        break;
      case 'M':
        if (cmd.mode != ' ') s.push_back(cmd.mode);
        break;
      default:
        break;
    }
  }
  return s + "\r\n";
}

}  // namespace mcd::protocol
