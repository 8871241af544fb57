// A parsed text-protocol command line. Plain data; string_views point into the caller's input
// buffer and are valid only while that buffer is.
#pragma once

#include <cstdint>
#include <string_view>

namespace mcd::protocol {

// Error replies of the parser, each mapping to one exact wire string (see wire.h ErrorReply).
// Declared here because a streamed retrieval command carries a pending one (Command::stream_error).
enum class ParseError : uint8_t {
  kNone,
  kUnknownCommand,   // "ERROR"
  kBadFormat,        // "CLIENT_ERROR bad command line format"
  kBadDelta,         // "CLIENT_ERROR invalid numeric delta argument"
  kBadExptime,       // "CLIENT_ERROR invalid exptime argument"
  kBadDeleteFormat,  // "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"
  kLineTooLong,      // (with kClose) no newline within the line limit
  kHttpRequest,      // (with kClose) the line looks like an HTTP request
};

enum class CommandType : uint8_t {
  kGet,   // get <key>*
  kGets,  // gets <key>*
  kGat,   // gat <exptime> <key>*
  kGats,  // gats <exptime> <key>*
  kSet,   // <cmd> <key> <flags> <exptime> <bytes> [noreply]
  kAdd,
  kReplace,
  kAppend,
  kPrepend,
  kCas,        // cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]
  kDelete,     // delete <key> [0] [noreply]
  kIncr,       // incr <key> <delta> [noreply]
  kDecr,       // decr <key> <delta> [noreply]
  kTouch,      // touch <key> <exptime> [noreply]
  kFlushAll,   // flush_all [delay] [noreply]
  kVersion,    // version
  kVerbosity,  // verbosity <level> [noreply]
  kQuit,       // quit
  kStats,      // stats [args...]
  kShutdown,   // shutdown [graceful]  (enabled by -A, later issue)
  kSlabs,      // slabs reassign <src> <dst> | slabs automove <0|1|2|ratio F> [noreply]
  // cache_memlimit <megabytes> [noreply]
  kCacheMemlimit,
  // lru_crawler crawl|metadump|mgdump <ids|all|hash> | enable | disable | sleep N | tocrawl N
  kLruCrawler,
};

// True for the commands followed by a data block of `bytes` + 2 bytes.
inline bool IsStorage(CommandType t) { return t >= CommandType::kSet && t <= CommandType::kCas; }
inline bool IsRetrieval(CommandType t) { return t <= CommandType::kGats; }

struct Command {
  CommandType type = CommandType::kGet;
  // The line's last token is exactly "noreply" (only for the commands that accept it).
  bool noreply = false;

  // Single-key commands: the key. Retrieval commands: unused (see keys).
  std::string_view key;
  // Retrieval commands: the key list, space separated, exactly as on the wire (no leading or
  // trailing spaces). Iterate with KeyIterator. Every key in it is valid (<= 250 bytes, no control
  // bytes). May be empty: `gat <exptime>` with no key, and calls of a streamed line that found no
  // complete key.
  std::string_view keys;
  // Retrieval commands only: the line is longer than the parser's line limit and continues in
  // the input after `consumed`; parse the rest with ParseKeysContinuation(). The reply must not be
  // terminated ("END") until a call returns with more_keys == false.
  bool more_keys = false;
  // Streamed retrieval commands only, owned by the parser: set when an error (a key too long or
  // with control bytes, a bad gat exptime) was found in a line that has not ended yet. The rest of
  // the line is then skipped by ParseKeysContinuation, which reports this error when the line ends.
  ParseError stream_error = ParseError::kNone;

  // Numbers are parsed as memcached 1.6.18 does (strtol/strtoul with its checks), including its
  // truncations: flags and level keep the low 32 bits of a 64-bit value; exptime and bytes are
  // parsed as int64 and truncated to int32 (so exptime 4294967296 is 0, bytes 4294967297 is 1).
  uint32_t flags = 0;       // storage
  int64_t exptime = 0;      // storage, touch, gat/gats, flush_all (delay; has_delay says if given)
  uint32_t bytes = 0;       // storage: length of the data block, without its "\r\n" (<= 2^31 - 3)
  uint64_t cas_unique = 0;  // cas
  uint64_t delta = 0;       // incr/decr
  bool has_delay = false;   // flush_all
  int64_t level = 0;        // verbosity; cache_memlimit: megabytes (low 32 bits, as memcached)

  // stats: everything after "stats", without leading and trailing spaces (e.g. "slabs",
  // "cachedump 1 10"; inner tokens may be separated by several spaces); shutdown, slabs and
  // lru_crawler: the same.
  std::string_view args;
};

// Iterates the space-separated keys of a retrieval command without allocating.
class KeyIterator {
 public:
  explicit KeyIterator(std::string_view keys) : rest_(keys) {}
  // Sets *key to the next key and returns true, or returns false at the end.
  bool Next(std::string_view* key) {
    while (!rest_.empty() && rest_.front() == ' ') rest_.remove_prefix(1);
    if (rest_.empty()) return false;
    size_t sp = rest_.find(' ');
    *key = rest_.substr(0, sp);
    rest_.remove_prefix(sp == std::string_view::npos ? rest_.size() : sp);
    return true;
  }

 private:
  std::string_view rest_;
};

}  // namespace mcd::protocol
