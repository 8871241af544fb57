// memcached text-protocol command-line parser: bytes in, Command out, nothing else.
//
// It never touches a socket, the cache or a clock, and never allocates. "Need more bytes" is an
// ordinary result. The data block of a storage command is not parsed here: after a storage
// command the caller reads cmd.bytes + 2 bytes itself (possibly straight into an item).
//
// Thread-safety: stateless; all functions may be called concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "mcd/protocol/command.h"

namespace mcd::protocol {

enum class ParseStatus {
  kOk,        // *out holds a command; *consumed bytes (the line and its "\n") were used
  kNeedMore,  // no complete line yet; *consumed == 0; read more and call again with all bytes
  kError,     // the line is invalid; *consumed covers it; reply with ErrorReply(*error)
  kClose,     // the connection must be closed (garbage without newline, HTTP request)
};

// Error replies, each mapping to one exact wire string (see wire.h).
enum class ParseError {
  kNone,
  kUnknownCommand,      // "ERROR"
  kBadFormat,           // "CLIENT_ERROR bad command line format"
  kBadDelta,            // "CLIENT_ERROR invalid numeric delta argument"
  kBadExptime,          // "CLIENT_ERROR invalid exptime argument"
  kBadDeleteFormat,     // "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"
  kLineTooLong,         // (with kClose) no newline within the line limit
};

// Longest command line (not counting retrieval commands, which stream) before the connection is
// closed, as memcached does.
inline constexpr size_t kMaxLineLength = 2048;
inline constexpr size_t kMaxKeyLength = 250;

struct ParseResult {
  ParseStatus status;
  ParseError error = ParseError::kNone;
  // With kError: true when the error reply must be suppressed because the line ended in noreply
  // (memcached suppresses CLIENT_ERROR replies of noreply commands).
  bool noreply = false;
};

// Parses one command line at the start of `in`. A line ends at "\n" (an optional "\r" before it
// is stripped). Tokens are separated by one or more spaces.
ParseResult ParseCommand(std::string_view in, size_t* consumed, Command* out);

// Continues a retrieval command whose line was cut (cmd.more_keys). Fills out->keys with the next
// complete keys and sets out->more_keys again if the line still has not ended.
// out->type and out->exptime are left as they were.
ParseResult ParseKeysContinuation(std::string_view in, size_t* consumed, Command* out);

// Composes the wire form of a command line (tests and round trips); storage commands get the
// line only, without the data block.
std::string ComposeCommand(const Command& cmd);

}  // namespace mcd::protocol
