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
#include "mcd/util/limits.h"

namespace mcd::protocol {

enum class ParseStatus {
  kOk,        // *out holds a command; *consumed bytes (the line and its "\n") were used
  kNeedMore,  // no complete line yet; *consumed == 0; read more and call again with all bytes
  kError,     // the line is invalid; *consumed covers it; reply with ErrorReply(*error)
  kClose,     // the connection must be closed (garbage without newline, HTTP request)
};

// ParseError (the error replies) is declared in command.h.

// Longest command line (not counting retrieval commands, which stream) before the connection is
// closed, as memcached does: if the first kMaxLineLength + 1 bytes hold no newline, the line is
// too long. Unlike memcached (which accepts a longer line when its newline happened to arrive in
// the same read), the verdict depends only on those bytes, never on how the input was split.
inline constexpr size_t kMaxLineLength = 2048;
using ::mcd::kMaxKeyLength;  // util/limits.h
// A blank line (spaces at most) shorter than this, its "\n" included, is answered
// "CLIENT_ERROR bad command line format", as memcached 1.6.45 answers it (1.6.18: ERROR).
// Other short lines keep 1.6.18's ERROR (compatibility.md C28).
inline constexpr size_t kMinLineLength = 4;

struct ParseResult {
  ParseStatus status;
  ParseError error = ParseError::kNone;
  // With kError: true when the error reply must be suppressed because the line ended in noreply
  // (memcached suppresses the CLIENT_ERROR replies of noreply commands; "ERROR" for a wrong token
  // count is never suppressed).
  bool noreply = false;
};

// Parses one command line at the start of `in`. A line ends at "\n" (an optional "\r" before it
// is stripped). Tokens are separated by one or more spaces; leading spaces are skipped. Command
// names are case-sensitive. *out is reset first.
//
// Keys (and every key of a retrieval line) must be at most 250 bytes and, unlike memcached,
// contain no control byte (< 0x20 or 0x7f): otherwise kError/kBadFormat. A bad storage command
// line is an error of its own; its data block is NOT swallowed (memcached reads it as a command).
//
// With kClose, *consumed is the HTTP line (kHttpRequest) or 0 (kLineTooLong); either way the
// connection is closed and nothing more is parsed.
//
// Long retrieval lines (get/gets/gat/gats whose first kMaxLineLength + 1 bytes hold no newline,
// with at most 100 leading spaces, the command, gat's exptime and the start of the first key all
// within those bytes; anything else closes) are streamed: kOk with the complete keys found so far
// in out->keys, out->more_keys = true, and *consumed just past the last complete key (a trailing
// key that may still grow is left in the input). The caller then calls ParseKeysContinuation()
// on the following bytes until a call returns more_keys == false.
ParseResult ParseCommand(std::string_view in, size_t* consumed, Command* out);

// Continues a retrieval command whose line was cut. REQUIRES: out->more_keys (and out as left by
// the previous call). Fills out->keys with the next complete keys (possibly none) and leaves
// out->more_keys true while the line has not ended. out->type and out->exptime are kept.
//
// Results: kNeedMore (*consumed == 0: nothing usable yet, e.g. only part of a key; read more and
// call again with those bytes and the new ones), kOk (serve out->keys; if more_keys is now false,
// terminate the reply with END), or kError with more_keys == false (the line had a bad key or a
// bad gat exptime: reply ErrorReply(error) instead of END).
//
// Errors in a streamed line: as soon as a bad key is seen, ParseCommand/ParseKeysContinuation
// record it in out->stream_error and from then on only skip input (kOk, no keys, more_keys
// true, all bytes consumed) until the newline, where the call returns kError with that error.
// So every retrieval command ends with exactly one call returning more_keys == false. memcached,
// which buffers the whole line, sends nothing but the CLIENT_ERROR for such a line; the handler
// should therefore drop the values of this command it has not sent yet when the error arrives.
ParseResult ParseKeysContinuation(std::string_view in, size_t* consumed, Command* out);

// Composes the wire form of a command line, ending in "\r\n" (tests and round trips); storage
// commands get the line only, without the data block. flush_all's delay is written only if
// has_delay; stats and shutdown write their args.
std::string ComposeCommand(const Command& cmd);

}  // namespace mcd::protocol
