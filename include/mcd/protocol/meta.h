// memcached's meta protocol (mg ms md ma mn me): command lines in, MetaCommand out.
//
// Acceptance rules, error strings and their precedence are memcached 1.6.45's (the latest 1.6
// release when this was written), checked against the binary; docs/meta-notes.md lists the facts
// the executor must honour (quiet mode, flag interactions, base64 keys, data blocks of refused
// `ms` lines). The parser never touches a socket, the cache or a clock, and never allocates.
//
// Line format: `<cmd> <key> <flag>*` (`ms <key> <datalen> <flag>*`), tokens separated by one or
// more spaces, the command exactly at the start of the line. A flag is a token whose first byte is
// its letter; some take the rest of the token as a value (`T30`, `Oabc`, `MA`).
//
// Thread-safety: stateless; all functions may be called concurrently.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mcd/protocol/text_parser.h"

namespace mcd::protocol {

enum class MetaCommandType : uint8_t {
  kGet,         // mg <key> <flags>*
  kSet,         // ms <key> <datalen> <flags>*   followed by a data block of datalen + 2 bytes
  kDelete,      // md <key> <flags>*
  kArithmetic,  // ma <key> <flags>*
  kNoop,        // mn  (anything after it is ignored)
  kDebug,       // me <key> [b <anything>]
};

// Error replies of the meta parser, each one exact memcached 1.6.45 string (MetaErrorReply).
enum class MetaError : uint8_t {
  kNone,
  kUnknownCommand,      // "ERROR" (the line's command is none of the six)
  kBadFormat,           // "CLIENT_ERROR bad command line format"
  kInvalidFlag,         // "CLIENT_ERROR invalid flag"
  kDuplicateFlag,       // "CLIENT_ERROR duplicate flag"
  kTooManyFlags,        // "CLIENT_ERROR options flags are too long"
  kBadToken,            // "CLIENT_ERROR bad token in command line format" (N T R C E values)
  kBadKeyEncoding,      // "CLIENT_ERROR error decoding key" (b with a key that is not base64)
  kBadInitial,          // "CLIENT_ERROR invalid numeric initial value" (J)
  kBadDelta,            // "CLIENT_ERROR invalid numeric delta value" (D)
  kOpaqueTooLong,       // "CLIENT_ERROR opaque token too long"
  kBadSetMode,          // "CLIENT_ERROR invalid mode for ms M token"
  kBadArithmeticMode,   // "CLIENT_ERROR invalid mode for ma M token"
  kInvalidOrDuplicate,  // "CLIENT_ERROR invalid or duplicate flag" (every flag error of ma)
  kLineTooLong,         // (with kClose) no newline within kMaxLineLength + 1 bytes
};

// Flags per command: at most 20 tokens in all (command, key, [datalen,] flags), as memcached.
inline constexpr size_t kMetaMaxTokens = 20;
inline constexpr size_t kMetaMaxFlags = kMetaMaxTokens - 2;
// Longest opaque token, its 'O' included.
inline constexpr size_t kMetaMaxOpaqueLength = 32;
// Longest key a `b` key decodes to (250 base64 bytes).
inline constexpr size_t kMetaMaxBinaryKeyLength = kMaxKeyLength / 4 * 3;

// A parsed meta command. Plain data; string_views point into the caller's input buffer and are
// valid only while that buffer is. The decoded binary key lives in the struct itself.
struct MetaCommand {
  MetaCommandType type = MetaCommandType::kNoop;

  // The key token exactly as sent (base64 text when key_binary).
  std::string_view wire_key;
  // `b` was given (for me: `b` as the third token with a fourth token after it, see meta-notes):
  // the key to look up is the base64 decoding of wire_key, held in binary_key.
  bool key_binary = false;
  uint8_t binary_key_len = 0;
  // Only the first binary_key_len bytes are meaningful (left uninitialised: a command is built
  // per request line, and clearing this array showed in profiles).
  std::array<char, kMetaMaxBinaryKeyLength> binary_key;

  // Flags present: bit (letter - 'A') for each flag letter 'A'..'z'. Only letters memcached knows
  // get here (b c f h k l q s t u v x C D E F I J L M N O P R T); every command accepts all of
  // them and ignores those it has no use for.
  uint64_t flag_mask = 0;
  // The flag letters in request order (memcached writes return flags in this order); the first
  // num_flags are meaningful (the rest is left uninitialised, as binary_key).
  std::array<char, kMetaMaxFlags> order;
  uint8_t num_flags = 0;

  // Flag values (valid when the flag is present; defaults otherwise).
  int32_t ttl = 0;            // T: new TTL (exptime semantics: negative = expired at once)
  int32_t vivify_ttl = 0;     // N: TTL of an item created on a miss
  int32_t recache_ttl = 0;    // R: win the recache when the remaining TTL is below this
  uint32_t client_flags = 0;  // F (ms)
  uint64_t compare_cas = 0;   // C: compare CAS
  uint64_t new_cas = 0;       // E: CAS to give the modified item
  uint64_t delta = 1;         // D (ma)
  uint64_t initial = 0;       // J (ma): value of an item created on a miss
  // M: the byte after 'M' (0 if absent). Validated for ms (0 E A P R S) and ma (0 I + D -);
  // mg and md ignore it. A bare "M" reads the byte after the token, as memcached does, which is
  // never a valid mode.
  char mode = 0;
  // O: the whole token, 'O' included, as it is echoed back ("O123"); empty without O.
  std::string_view opaque;

  // ms: length of the data block that follows the line, without its "\r\n".
  uint32_t datalen = 0;

  // Back to a fresh command (every field but the two arrays, whose used lengths are reset).
  void Reset() {
    type = MetaCommandType::kNoop;
    wire_key = {};
    key_binary = false;
    binary_key_len = 0;
    flag_mask = 0;
    num_flags = 0;
    ttl = 0;
    vivify_ttl = 0;
    recache_ttl = 0;
    client_flags = 0;
    compare_cas = 0;
    new_cas = 0;
    delta = 1;
    initial = 0;
    mode = 0;
    opaque = {};
    datalen = 0;
  }

  // The key the command acts on.
  std::string_view Key() const {
    return key_binary ? std::string_view(binary_key.data(), binary_key_len) : wire_key;
  }
  static constexpr uint64_t Bit(char letter) { return uint64_t{1} << (letter - 'A'); }
  bool Has(char letter) const { return (flag_mask & Bit(letter)) != 0; }
  bool quiet() const { return Has('q'); }
  // Position of a flag in request order, or -1 if absent (memcached applies T and N while
  // writing the return flags, so `t` shows the TTL as changed by a T or N before it).
  int IndexOf(char letter) const {
    for (size_t i = 0; i < num_flags; ++i) {
      if (order[i] == letter) return static_cast<int>(i);
    }
    return -1;
  }
};

struct MetaParseResult {
  ParseStatus status;
  MetaError error = MetaError::kNone;
  // With kError for an ms line: bytes the caller must skip after the line (the data block and
  // its "\r\n": datalen + 2), because memcached swallows them. 0 when the data block is not
  // swallowed (the line's datalen was missing or invalid): then the block is read as commands.
  uint64_t swallow = 0;
};

// Is the line starting at `in` a meta command? The line's first token must be mg ms md ma mn or
// me, ended by a space or the end of the line ("\n" or "\r\n"). kNeedMore: too few bytes to
// tell (fewer than 4 and no newline). Anything else (leading spaces included) is classic text.
enum class MetaDetect : uint8_t { kMeta, kNotMeta, kNeedMore };
MetaDetect DetectMeta(std::string_view in);

// A cheap look at the line starting at `in`, for prefetching ahead of a pipelined batch: if it
// is a complete `mg` line, sets *line_length (with its "\n") and returns its key token as sent
// (base64 text for a `b` key; not validated); else returns an empty view. Reads only `in`.
std::string_view PeekMgKey(std::string_view in, size_t* line_length);

// Parses one meta command line at the start of `in`. A line ends at "\n"; an optional "\r" before
// it is stripped. *out is reset first.
//
// kOk: *out holds the command and *consumed covers the line. For ms the data block follows:
// the caller reads datalen + 2 bytes and checks they end in "\r\n" (else
// "CLIENT_ERROR bad data chunk", which meta sends even with q).
// kNeedMore: no newline yet (*consumed == 0). kError: *consumed covers the line; reply with
// MetaErrorReply(error) (errors are never suppressed by q), then skip `swallow` bytes.
// kClose (kLineTooLong, *consumed == 0): the first kMaxLineLength + 1 bytes hold no newline.
//
// Keys are at most 250 bytes and, as for the classic commands (compatibility.md C1), may not
// hold control bytes; a bad key is refused as memcached refuses a key too long.
MetaParseResult ParseMetaCommand(std::string_view in, size_t* consumed, MetaCommand* out);

// Composes the wire form of a command ("\r\n" ended, no data block): the key as on the wire,
// then every flag in order with its value. Tests and round trips.
std::string ComposeMetaCommand(const MetaCommand& cmd);

}  // namespace mcd::protocol
