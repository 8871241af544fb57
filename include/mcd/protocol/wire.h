// Every fixed string mcd puts on the wire for the text protocol, in one place. Clients match
// these byte for byte, so they are memcached 1.6's strings exactly.
#pragma once

#include <string_view>

#include "mcd/protocol/text_parser.h"

namespace mcd::protocol::wire {

inline constexpr std::string_view kCrlf = "\r\n";
inline constexpr std::string_view kStored = "STORED\r\n";
inline constexpr std::string_view kNotStored = "NOT_STORED\r\n";
inline constexpr std::string_view kExists = "EXISTS\r\n";
inline constexpr std::string_view kNotFound = "NOT_FOUND\r\n";
inline constexpr std::string_view kDeleted = "DELETED\r\n";
inline constexpr std::string_view kTouched = "TOUCHED\r\n";
inline constexpr std::string_view kEnd = "END\r\n";
inline constexpr std::string_view kOk = "OK\r\n";
inline constexpr std::string_view kReset = "RESET\r\n";
inline constexpr std::string_view kValue = "VALUE ";
inline constexpr std::string_view kStat = "STAT ";
inline constexpr std::string_view kVersionPrefix = "VERSION ";
inline constexpr std::string_view kDetailPrefix = "PREFIX ";  // `stats detail dump` lines

inline constexpr std::string_view kError = "ERROR\r\n";
inline constexpr std::string_view kBadFormat = "CLIENT_ERROR bad command line format\r\n";
inline constexpr std::string_view kBadCommandLine = "CLIENT_ERROR bad command line\r\n";
inline constexpr std::string_view kBadDataChunk = "CLIENT_ERROR bad data chunk\r\n";
inline constexpr std::string_view kBadDelta = "CLIENT_ERROR invalid numeric delta argument\r\n";
inline constexpr std::string_view kNonNumeric =
    "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
inline constexpr std::string_view kBadExptime = "CLIENT_ERROR invalid exptime argument\r\n";
inline constexpr std::string_view kBadDeleteFormat =
    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n";
inline constexpr std::string_view kStatsDetailUsage =
    "CLIENT_ERROR usage: stats detail on|off|dump\r\n";
// slabs reassign
inline constexpr std::string_view kReassignDisabled = "CLIENT_ERROR slab reassignment disabled\r\n";
inline constexpr std::string_view kReassignBusy = "BUSY currently processing reassign request\r\n";
inline constexpr std::string_view kReassignBadClass = "BADCLASS invalid src or dst class id\r\n";
inline constexpr std::string_view kReassignNoSpare = "NOSPARE source class has no spare pages\r\n";
inline constexpr std::string_view kReassignSame = "SAME src and dst class are identical\r\n";
inline constexpr std::string_view kFlushDisabled = "CLIENT_ERROR flush_all not allowed\r\n";
inline constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache\r\n";
inline constexpr std::string_view kOutOfMemory = "SERVER_ERROR out of memory storing object\r\n";
// A multiget whose replies did not fit in -o read_buf_mem_limit.
inline constexpr std::string_view kOutOfMemoryGet =
    "SERVER_ERROR out of memory writing get response\r\n";
inline constexpr std::string_view kTooManyConnections = "ERROR Too many open connections\r\n";

// The reply for a parse error (empty for kNone, and for kLineTooLong and kHttpRequest, which
// close the connection instead).
inline std::string_view ErrorReply(ParseError e) {
  switch (e) {
    case ParseError::kUnknownCommand:
      return kError;
    case ParseError::kBadFormat:
      return kBadFormat;
    case ParseError::kBadDelta:
      return kBadDelta;
    case ParseError::kBadExptime:
      return kBadExptime;
    case ParseError::kBadDeleteFormat:
      return kBadDeleteFormat;
    case ParseError::kNone:
    case ParseError::kLineTooLong:
    case ParseError::kHttpRequest:
      return {};
  }
  return {};
}

}  // namespace mcd::protocol::wire

namespace mcd::protocol::wire {
inline constexpr std::string_view kShutdownDisabled = "ERROR: shutdown not enabled\r\n";
inline constexpr std::string_view kShutdownBadMode = "CLIENT_ERROR invalid shutdown mode\r\n";
}  // namespace mcd::protocol::wire

namespace mcd::protocol::wire {
inline constexpr std::string_view kDumpDisabled = "CLIENT_ERROR stats cachedump not allowed\r\n";
inline constexpr std::string_view kIllegalSlabId = "CLIENT_ERROR Illegal slab id\r\n";
}  // namespace mcd::protocol::wire

namespace mcd::protocol::wire {
// cache_memlimit
inline constexpr std::string_view kMemlimitTooSmall =
    "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n";
inline constexpr std::string_view kMemlimitNotMegabytes =
    "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n";
inline constexpr std::string_view kMemlimitFailed =
    "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n";
// lru_crawler (memcached 1.6.18; mgdump as 1.6.45)
inline constexpr std::string_view kCrawlerDisabled = "CLIENT_ERROR lru crawler disabled\r\n";
inline constexpr std::string_view kCrawlerBusy = "BUSY currently processing crawler request\r\n";
inline constexpr std::string_view kCrawlerBadClass = "BADCLASS invalid class id\r\n";
inline constexpr std::string_view kCrawlerNotStarted = "NOTSTARTED no items to crawl\r\n";
inline constexpr std::string_view kCrawlerError = "ERROR an unknown error happened\r\n";
inline constexpr std::string_view kCrawlerStartFailed =
    "ERROR failed to start lru crawler thread\r\n";
inline constexpr std::string_view kCrawlerSleepTooLong =
    "CLIENT_ERROR sleep must be one second or less\r\n";
inline constexpr std::string_view kMetadumpDisabled = "ERROR metadump not allowed\r\n";
inline constexpr std::string_view kMgdumpDisabled = "ERROR key dump not allowed\r\n";
inline constexpr std::string_view kMetadumpPipelined =
    "ERROR cannot pipeline other commands before metadump\r\n";
inline constexpr std::string_view kMgdumpPipelined =
    "ERROR cannot pipeline other commands before mgdump\r\n";
inline constexpr std::string_view kMgdumpEnd = "EN\r\n";
}  // namespace mcd::protocol::wire
