// Number parsing for protocol tokens, with exactly the acceptance rules of memcached 1.6.18's
// safe_strtoul/safe_strtoull/safe_strtol (strtoul-style): leading whitespace is skipped, then an
// optional '+' or '-' and at least one decimal digit; the token must end there or continue with a
// whitespace byte, after which anything is ignored (memcached accepts flags "5\tz" as 5: tokens are
// split on spaces only, so tabs and '\r' can sit inside a token). Overflow fails.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace mcd {

// Unsigned 64-bit: digits with optional '+'; overflow fails. A '-' is accepted only where the
// wrapped result stays below 2^63 ("-0"), matching strtoull plus memcached's negative check.
bool ParseUint64(std::string_view s, uint64_t* out);
// Unsigned 32-bit client flags: as ParseUint64, then truncated to 32 bits (memcached 1.6.18
// stores 4294967296 as 0; see docs/compatibility.md).
bool ParseFlags32(std::string_view s, uint32_t* out);
// Signed 64-bit: optional sign, digits; overflow fails.
bool ParseInt64(std::string_view s, int64_t* out);
// Signed 32-bit: as ParseInt64 and within [INT32_MIN, INT32_MAX].
bool ParseInt32(std::string_view s, int32_t* out);

// Parses the numeric value stored in an item for incr/decr: leading whitespace skipped, optional
// sign, digits, then the end of the data or a whitespace byte (stored values end with "\r\n" and
// may be padded with spaces by an in-place decrement). Overflow fails; the sign is handled as by
// ParseUint64 ("-5" fails, "-0" is 0), as memcached's safe_strtoull does.
bool ParseStoredCounter(std::string_view data, uint64_t* out);

// Writes v in decimal to buf (at least 20 bytes); returns the number of bytes written.
size_t FormatUint64(uint64_t v, char* buf);

}  // namespace mcd
