// Base64 (RFC 4648 alphabet, '=' padding, no line breaks) with memcached's acceptance rules, for
// the meta protocol's binary keys (the `b` flag).
//
// Decoding follows memcached 1.6's decoder exactly, which is lenient in specific ways a client may
// rely on:
// - bytes outside the alphabet (and not '=') are skipped wherever they appear: "Zm!9v" is "foo";
// - the remaining characters ('=' included) must be a non-zero multiple of four;
// - decoding stops after the first group of four that holds a '=': one '=' in that group drops
//   the group's last byte, two drop two (wherever the '=' sit in the group), three or four are an
//   error; anything after that group is ignored ("Zg==Zm9v" is "f").
// Encoding always pads to a multiple of four.
//
// All functions are pure and thread-safe; none allocates.
#pragma once

#include <cstddef>
#include <string_view>

namespace mcd {

// Bytes Base64Encode writes for n input bytes.
constexpr size_t Base64EncodedLength(size_t n) { return (n + 2) / 3 * 4; }

// Encodes `in` into out (at least Base64EncodedLength(in.size()) bytes); returns the length.
size_t Base64Encode(std::string_view in, char* out);

// Decodes `in` into out (capacity `cap`) as described above. Returns the decoded length, or 0 on
// an error (nothing valid decodes to zero bytes). Decoding never needs more than in.size() * 3 / 4
// bytes; a result that would not fit in `cap` is an error.
size_t Base64Decode(std::string_view in, char* out, size_t cap);

}  // namespace mcd
