// Every fixed string mcd puts on the wire for the text protocol, in one place. Clients match
// these byte for byte, so they are memcached 1.6's strings exactly.
#pragma once

#include <string_view>

#include "mcd/protocol/meta.h"
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

// ---- Meta protocol (memcached 1.6.45) ----------------------------------------------------------
namespace mcd::protocol::wire {
// Return codes; each is followed by the return flags (" <flag>...") and "\r\n".
inline constexpr std::string_view kMetaHd = "HD";  // success (stored, deleted, hit without value)
inline constexpr std::string_view kMetaVa = "VA";  // "VA <length>": a value follows the line
inline constexpr std::string_view kMetaEn = "EN";  // miss (mg, me)
inline constexpr std::string_view kMetaNs = "NS";  // not stored
inline constexpr std::string_view kMetaEx = "EX";  // CAS mismatch
inline constexpr std::string_view kMetaNf = "NF";  // not found
inline constexpr std::string_view kMetaMn = "MN\r\n";
inline constexpr std::string_view kMetaEnLine = "EN\r\n";  // me: a miss
inline constexpr std::string_view kMetaMe = "ME ";         // "ME <key> exp=... la=... cas=... ..."

inline constexpr std::string_view kMetaInvalidFlag = "CLIENT_ERROR invalid flag\r\n";
inline constexpr std::string_view kMetaDuplicateFlag = "CLIENT_ERROR duplicate flag\r\n";
inline constexpr std::string_view kMetaTooManyFlags = "CLIENT_ERROR options flags are too long\r\n";
inline constexpr std::string_view kMetaBadToken =
    "CLIENT_ERROR bad token in command line format\r\n";
inline constexpr std::string_view kMetaBadKeyEncoding = "CLIENT_ERROR error decoding key\r\n";
inline constexpr std::string_view kMetaBadInitial =
    "CLIENT_ERROR invalid numeric initial value\r\n";
inline constexpr std::string_view kMetaBadDelta = "CLIENT_ERROR invalid numeric delta value\r\n";
inline constexpr std::string_view kMetaOpaqueTooLong = "CLIENT_ERROR opaque token too long\r\n";
inline constexpr std::string_view kMetaBadSetMode = "CLIENT_ERROR invalid mode for ms M token\r\n";
inline constexpr std::string_view kMetaBadArithmeticMode =
    "CLIENT_ERROR invalid mode for ma M token\r\n";
inline constexpr std::string_view kMetaInvalidOrDuplicate =
    "CLIENT_ERROR invalid or duplicate flag\r\n";
// Executor errors of meta commands (classic ones are above: kNonNumeric, kTooLarge, ...).
inline constexpr std::string_view kMetaOutOfMemory = "SERVER_ERROR out of memory\r\n";
inline constexpr std::string_view kMetaVivifyOutOfMemory =
    "SERVER_ERROR Out of memory allocating new item\r\n";
inline constexpr std::string_view kMetaRefcountOverflow =
    "SERVER_ERROR refcount overflow during fetch\r\n";

// The reply for a meta parse error (empty for kNone and kLineTooLong, which closes instead).
inline std::string_view MetaErrorReply(MetaError e) {
  switch (e) {
    case MetaError::kUnknownCommand:
      return kError;
    case MetaError::kBadFormat:
      return kBadFormat;
    case MetaError::kInvalidFlag:
      return kMetaInvalidFlag;
    case MetaError::kDuplicateFlag:
      return kMetaDuplicateFlag;
    case MetaError::kTooManyFlags:
      return kMetaTooManyFlags;
    case MetaError::kBadToken:
      return kMetaBadToken;
    case MetaError::kBadKeyEncoding:
      return kMetaBadKeyEncoding;
    case MetaError::kBadInitial:
      return kMetaBadInitial;
    case MetaError::kBadDelta:
      return kMetaBadDelta;
    case MetaError::kOpaqueTooLong:
      return kMetaOpaqueTooLong;
    case MetaError::kBadSetMode:
      return kMetaBadSetMode;
    case MetaError::kBadArithmeticMode:
      return kMetaBadArithmeticMode;
    case MetaError::kInvalidOrDuplicate:
      return kMetaInvalidOrDuplicate;
    case MetaError::kNone:
    case MetaError::kLineTooLong:
      return {};
  }
  return {};
}
}  // namespace mcd::protocol::wire
