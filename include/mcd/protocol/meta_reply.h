// Meta-protocol replies: plain values in, memcached 1.6.45's reply bytes out.
//
// The executor turns a MetaCommand into a MetaReplyValues (what happened and the item's figures);
// these functions write the reply line with the return flags the command asked for, in request
// order and in memcached's format. No storage, no clock, no allocation.
//
// Return flags written per command and code (anything else the request holds is not echoed):
//   mg  VA/HD:  s t c f l h O k   (request order), then Z, X, W in that order when set
//   mg  EN:     O k
//   ms  any:    O k c s
//   md  any:    O k
//   ma  VA/HD:  c t O k           (VA: the new number follows on its own line)
//   ma  NF/EX/NS: O k
// `k` writes the key; a binary key is written in base64 followed by the flag ` b`.
//
// Thread-safety: stateless; all functions may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "mcd/protocol/meta.h"
#include "mcd/util/out_buf.h"

namespace mcd::protocol {

enum class MetaCode : uint8_t {
  kHd,  // success
  kVa,  // success with a value (mg v, ma v)
  kEn,  // miss (mg, me)
  kNs,  // not stored
  kEx,  // CAS mismatch
  kNf,  // not found
};

// `t` for an item that never expires.
inline constexpr int64_t kMetaNoExpiry = std::numeric_limits<int64_t>::min();

struct MetaReplyValues {
  MetaCode code = MetaCode::kHd;
  // mg VA: length of the value (without "\r\n"); the caller queues the value and its "\r\n"
  // after the line.
  uint32_t value_length = 0;
  // ma VA: the new number, written after the line with its "\r\n" (value_length is ignored).
  std::string_view number{};
  // mg hits (VA/HD) only: whether the item's key is binary. memcached answers `k` from the item,
  // so an item stored with `b` comes back in base64 even when fetched without `b`. Every other
  // reply uses the request's `b` (cmd.key_binary).
  bool item_key_binary = false;

  uint64_t client_flags = 0;  // f
  uint64_t cas = 0;           // c (ms: 0 unless stored, see meta-notes)
  // t: seconds left, or kMetaNoExpiry ("-1"). Other values are written modulo 2^32 as memcached
  // does, so an item this very command expired (T-1) shows a number near 2^32. The executor
  // decides which TTL `t` sees: memcached applies T and N while writing the flags, in request
  // order (MetaCommand::IndexOf).
  int64_t ttl = kMetaNoExpiry;
  uint32_t size = 0;         // s: value length (ms: after append/prepend)
  uint32_t last_access = 0;  // l: seconds since the last access before this command
  bool hit_before = false;   // h: fetched before this command
  bool win_sent = false;     // Z (mg): another client already got W
  bool stale = false;        // X (mg): the item is stale
  bool won = false;          // W (mg): this client won the right to recache
};

// Upper bound of EncodeMetaReply's output (and of EncodeMetaDebug's): 18 flags with values, a
// 250-byte key in base64, a 32-byte opaque, ma's number.
inline constexpr size_t kMetaReplyMax = 1024;

// True if memcached sends nothing for this outcome because the request has `q`:
// mg EN; ms HD; md HD; ma HD and VA. mn, me and errors are never suppressed.
bool MetaReplySuppressed(const MetaCommand& cmd, MetaCode code);

// Writes the reply line ("<code>[ <length>]<flags>\r\n", plus ma's number) for `cmd` into buf
// (kMetaReplyMax bytes); returns the number of bytes written.
// REQUIRES: cmd.type is kGet, kSet, kDelete or kArithmetic (mn: wire::kMetaMn; me below).
size_t EncodeMetaReply(const MetaCommand& cmd, const MetaReplyValues& v, char* buf);
void AppendMetaReply(const MetaCommand& cmd, const MetaReplyValues& v, OutBuf* out);

// me's hit line: "ME <key> exp=<e> la=<l> cas=<c> fetch=<yes|no> cls=<id> size=<bytes>\r\n".
// A miss is "EN\r\n" (MetaCode::kEn, no flags).
struct MetaDebugValues {
  std::string_view key{};    // the item's key
  bool key_binary = false;   // the item's key is binary: written in base64
  int64_t exp = -1;          // seconds left, -1 when the item never expires (may be negative)
  uint32_t last_access = 0;  // seconds since the last access
  uint64_t cas = 0;
  bool fetched = false;
  uint32_t class_id = 0;
  uint64_t total_size = 0;  // the item's total size in bytes (header, key, value)
};
size_t EncodeMetaDebug(const MetaDebugValues& v, char* buf);
void AppendMetaDebug(const MetaDebugValues& v, OutBuf* out);

}  // namespace mcd::protocol
