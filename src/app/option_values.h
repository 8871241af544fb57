// Internal to src/app: how memcached 1.6.18 reads option values, and the -o sub-option parser.
//
// memcached reads most numeric options leniently, C-library style: leading blanks, an optional
// sign, then digits up to the first other character ("5x" is 5, "abc" is 0), with the result
// truncated to int. A few -o sub-options are read strictly (the whole token must be a number).
// mcd keeps both behaviours so that command lines accepted by memcached mean the same thing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mcd/app/options.h"

namespace mcd::app::internal {

// memcached's slab page: always 1 MB, whatever -I says.
inline constexpr uint32_t kSlabPageSize = 1024 * 1024;

// Lenient int: strtol base 10, then truncated to int as C's atoi does.
int LenientInt(const std::string& s);
// Lenient double: strtod ("2x" is 2.0, "abc" is 0.0).
double LenientDouble(const std::string& s);
// Lenient octal (-a): strtol base 8, truncated to int.
int LenientOctal(const std::string& s);
// Strict unsigned 32-bit: optional '+', digits, optional trailing blanks; nothing else.
bool StrictUint32(const std::string& s, uint32_t* out);
// Strict double: the whole token must be a number.
bool StrictDouble(const std::string& s, double* out);

// -m value in bytes: LenientInt megabytes; memcached does not read unit suffixes here ("1g" is
// 1 MB). Negative values wrap, as in memcached.
uint64_t MemoryLimitBytes(const std::string& s);
// -I value in bytes: LenientInt times 1024 for a trailing k/K or 1048576 for m/M, in 32-bit
// arithmetic (so "2048m" wraps negative and is then refused as too small, as in memcached).
int32_t ItemSizeBytes(const std::string& s);

// Applies one -o argument (a comma separated list of key[=value]) to *ext, in order.
// Returns false with *error (memcached's message) and *exit_code on an invalid or unsupported
// sub-option. Appends deprecation notes to *warnings.
bool ApplyExtended(std::string_view list, ExtendedOptions* ext, std::string* error, int* exit_code,
                   std::string* warnings);

}  // namespace mcd::app::internal
