// A parsed text-protocol command line. Plain data; string_views point into the caller's input
// buffer and are valid only while that buffer is.
#pragma once

#include <cstdint>
#include <string_view>

namespace mcd::protocol {

enum class CommandType : uint8_t {
  kGet,        // get <key>*
  kGets,       // gets <key>*
  kGat,        // gat <exptime> <key>*
  kGats,       // gats <exptime> <key>*
  kSet,        // <cmd> <key> <flags> <exptime> <bytes> [noreply]
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
};

// True for the commands followed by a data block of `bytes` + 2 bytes.
inline bool IsStorage(CommandType t) {
  return t >= CommandType::kSet && t <= CommandType::kCas;
}
inline bool IsRetrieval(CommandType t) { return t <= CommandType::kGats; }

struct Command {
  CommandType type = CommandType::kGet;
  bool noreply = false;

  // Single-key commands: the key. Retrieval commands: unused (see keys).
  std::string_view key;
  // Retrieval commands: the key list, space separated, exactly as on the wire (no leading or
  // trailing spaces). Iterate with KeyIterator. Every key in it is valid (<= 250 bytes).
  std::string_view keys;
  // Retrieval commands only: the line is longer than the parser's line limit and continues in
  // the input after `consumed`; parse the rest with TextParser::ParseKeysContinuation(). The reply
  // must not be terminated ("END") until a call returns with more_keys == false.
  bool more_keys = false;

  uint32_t flags = 0;      // storage
  int64_t exptime = 0;     // storage, touch, gat/gats, flush_all (delay; has_delay says if given)
  uint32_t bytes = 0;      // storage: length of the data block, without its "\r\n"
  uint64_t cas_unique = 0; // cas
  uint64_t delta = 0;      // incr/decr
  bool has_delay = false;  // flush_all
  int64_t level = 0;       // verbosity

  // stats: everything after "stats", trimmed (e.g. "slabs", "cachedump 1 10"); shutdown: its arg.
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
